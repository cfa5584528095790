"""Async SQLAlchemy engines on asyncmy, one pair per island schema.

Two engines share the schema: ``writer`` (READ COMMITTED transactions, flushed by services, committed
at the edge) and ``reader`` (AUTOCOMMIT, no ROLLBACK round trip on checkin) for projection reads on
hot paths. With ``db_local_infile`` the writer can ``LOAD DATA LOCAL`` files a task allows
(``foundation.local_infile``).
A statement that exceeds ``db_statement_timeout_s`` is killed by the server (``max_statement_time``)
and the connection it ran on is discarded rather than returned to the pool. A connection idle for
more than ``db_ping_after_idle_s`` is pinged when it is checked out, and replaced if the server has
dropped it; one that was in use a moment ago is not (a ping per checkout was a round trip per API
request).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from foundation import local_infile
from foundation.settings import ServiceSettings

local_infile.install()


class _ExpectedServerNotes(logging.Filter):
    """Drop the server notes our idempotent DDL and ``INSERT IGNORE`` cause (the driver logs each as a warning)."""

    EXPECTED = ("database exists", "Name 'alembic_version_pkc' ignored for PRIMARY key", "Duplicate entry")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(note in message for note in self.EXPECTED)


logging.getLogger("asyncmy").addFilter(_ExpectedServerNotes())

# MariaDB: 1969 = max_statement_time exceeded; 3024 = MySQL's MAX_EXECUTION_TIME exceeded.
STATEMENT_TIMEOUT_ERRORS = {1969, 3024}


def _error_code(exc: BaseException | None) -> int | None:
    while exc is not None:
        args = getattr(exc, "args", ())
        if args and isinstance(args[0], int):
            return args[0]
        exc = exc.__cause__ or getattr(exc, "orig", None)
    return None


def _discard_timed_out_connections(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        if _error_code(context.original_exception) in STATEMENT_TIMEOUT_ERRORS:
            context.is_disconnect = True  # SQLAlchemy invalidates the connection: never reused


def _ping_when_idle(engine: AsyncEngine, idle_s: float) -> None:
    """SQLAlchemy's ``pool_pre_ping``, only for connections idle longer than ``idle_s``."""
    dialect, pool = engine.dialect, engine.sync_engine.pool
    last_used = "last_used"

    @event.listens_for(pool, "connect")
    @event.listens_for(pool, "checkin")
    def _used(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[last_used] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _check(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection) -> None:
        if time.monotonic() - record.info.get(last_used, 0.0) <= idle_s:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            if dialect.is_disconnect(exc, dbapi_connection, None):  # type: ignore[arg-type]
                raise DisconnectionError(f"pooled connection dropped by the server: {exc}") from exc  # replaced
            raise


def create_engine(settings: ServiceSettings, *, read_only: bool = False, **overrides: Any) -> AsyncEngine:
    """An engine on the island's schema with pool, ping after idle and statement timeout."""
    timeout_s = settings.db_statement_timeout_s
    options: dict[str, Any] = {
        "pool_size": settings.db_read_pool_size if read_only else settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout_s,
        "pool_recycle": settings.db_pool_recycle_s,
        "connect_args": {
            "connect_timeout": settings.db_connect_timeout_s,
            # in_predicate_conversion_threshold=0: MariaDB would turn an IN list of 1,000+ values (bulk
            # paths use such chunks) into a join with a derived table, which scans the whole table.
            "init_command": f"SET SESSION max_statement_time={timeout_s:g}, time_zone='+00:00', "
            "in_predicate_conversion_threshold=0",
            "charset": "utf8mb4",
            "local_infile": settings.db_local_infile and not read_only,
        },
    }
    if read_only:
        options["isolation_level"] = "AUTOCOMMIT"
        options["skip_autocommit_rollback"] = True
    else:
        # No gap locks: concurrent consumers inserting inbox keys and upserting projection rows
        # would otherwise deadlock on each other's gaps under REPEATABLE READ.
        options["isolation_level"] = "READ COMMITTED"
    options.update(overrides)
    engine = create_async_engine(settings.db_url, **options)
    _discard_timed_out_connections(engine)
    if not options.get("pool_pre_ping"):
        _ping_when_idle(engine, settings.db_ping_after_idle_s)
    return engine


@dataclass
class Database:
    """The island's engines and session factory; built in lifespan, disposed at shutdown."""

    writer: AsyncEngine
    reader: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> Database:
        """Engines for the island's schema (no connection is opened until first use)."""
        writer = create_engine(settings)
        reader = create_engine(settings, read_only=True)
        return cls(writer, reader, async_sessionmaker(writer, expire_on_commit=False))

    async def check(self) -> None:
        """Readiness: one round trip on the writer pool."""
        async with self.writer.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.writer.dispose()
        await self.reader.dispose()

    async def session(self) -> AsyncIterator[AsyncSession]:
        """One transaction per unit of work: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session


async def ensure_schema(settings: ServiceSettings) -> None:
    """Create the island's schema (database) if it does not exist."""
    engine = create_async_engine(settings.db_server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(
                text(
                    f"CREATE DATABASE IF NOT EXISTS `{settings.db_schema}` "
                    "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
            )
    finally:
        await engine.dispose()


async def drop_schema(settings: ServiceSettings) -> None:
    """Drop the island's schema (tests and resets only)."""
    engine = create_async_engine(settings.db_server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS `{settings.db_schema}`"))
    finally:
        await engine.dispose()


def plain_row(row: Any) -> dict[str, Any]:
    """A result row as a JSON-ready dict (dates and times as ISO strings)."""
    return {key: value.isoformat() if hasattr(value, "isoformat") else value for key, value in row._mapping.items()}
