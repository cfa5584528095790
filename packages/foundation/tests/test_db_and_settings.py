"""Engines, statement timeouts and settings, against the real MariaDB."""

from __future__ import annotations

import asyncio
from typing import ClassVar

import pytest
from pydantic_settings import SettingsConfigDict
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from foundation.db import Database, create_engine
from foundation.settings import LOCAL_MYSQL, ServiceSettings
from foundation.telemetry import init_sentry


class InventorySettings(ServiceSettings):
    """An island's settings as every island declares them: its own prefix and schema."""

    model_config = SettingsConfigDict(env_prefix="INVENTORY_", extra="ignore", frozen=True)
    island: ClassVar[str] = "inventory"
    db_url: str = f"{LOCAL_MYSQL}/inventory"


class LedgerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore", frozen=True)
    island: ClassVar[str] = "ledger"
    db_url: str = f"{LOCAL_MYSQL}/ledger"


async def test_timed_out_statement_discards_its_connection(migrated_islands: dict[str, ServiceSettings]) -> None:
    settings = migrated_islands["webshop"].model_copy(
        update={"db_statement_timeout_s": 0.5, "db_pool_size": 1, "db_max_overflow": 0}
    )
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            before = (await conn.execute(text("SELECT CONNECTION_ID()"))).scalar_one()
        with pytest.raises(OperationalError, match="max_statement_time"):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT SLEEP(3)"))
        async with engine.connect() as conn:
            after = (await conn.execute(text("SELECT CONNECTION_ID()"))).scalar_one()
        assert after != before, "the connection whose statement timed out went back into the pool"
    finally:
        await engine.dispose()


async def _kill(engine_url_settings: ServiceSettings, connection_id: int) -> None:
    killer = create_engine(engine_url_settings)
    try:
        async with killer.connect() as conn:
            await conn.execute(text(f"KILL CONNECTION {connection_id}"))
    finally:
        await killer.dispose()


async def test_a_connection_idle_past_the_ping_limit_is_checked_and_replaced_when_dropped(
    migrated_islands: dict[str, ServiceSettings],
) -> None:
    """Pooled connections are pinged only after ``db_ping_after_idle_s``: one the server dropped while it
    idled is replaced at checkout, and the read on it succeeds; one just used is handed out unpinged."""
    settings = migrated_islands["webshop"].model_copy(
        update={"db_ping_after_idle_s": 0.3, "db_read_pool_size": 1, "db_max_overflow": 0}
    )
    reader = create_engine(settings, read_only=True)
    pings = []
    original = reader.dialect.do_ping
    reader.dialect.do_ping = lambda dbapi_connection: pings.append(1) or original(dbapi_connection)  # type: ignore[method-assign]
    try:
        async with reader.connect() as conn:
            first = (await conn.execute(text("SELECT CONNECTION_ID()"))).scalar_one()
        async with reader.connect() as conn:  # just used: no ping
            assert (await conn.execute(text("SELECT CONNECTION_ID()"))).scalar_one() == first
        assert pings == []
        await _kill(settings, first)
        await asyncio.sleep(0.5)
        async with reader.connect() as conn:  # idle past the limit: pinged, found dropped, replaced
            second = (await conn.execute(text("SELECT CONNECTION_ID()"))).scalar_one()
        assert second != first
        assert len(pings) == 1
    finally:
        await reader.dispose()


async def test_reader_is_autocommit_and_writer_is_transactional(migrated_islands: dict[str, ServiceSettings]) -> None:
    db = Database.from_settings(migrated_islands["webshop"])
    try:
        async with db.reader.connect() as conn:
            assert (await conn.execute(text("SELECT @@autocommit"))).scalar_one() == 1
        async with db.sessions() as session:
            assert (await session.execute(text("SELECT @@autocommit"))).scalar_one() == 0
        await db.check()
    finally:
        await db.dispose()


def test_settings_read_their_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENTORY_DB_POOL_SIZE", "3")
    monkeypatch.setenv("INVENTORY_AMQP_URL", "amqp://u:p@mq.internal:5672/")
    monkeypatch.setenv("LEDGER_DB_POOL_SIZE", "17")
    inventory, ledger = InventorySettings(), LedgerSettings()
    assert (inventory.db_pool_size, inventory.amqp_url) == (3, "amqp://u:p@mq.internal:5672/")
    assert ledger.db_pool_size == 17
    assert (inventory.db_schema, ledger.db_schema) == ("inventory", "ledger")
    assert inventory.db_server_url == "mysql+asyncmy://root:@127.0.0.1:3306/"


def test_sentry_is_off_without_a_dsn() -> None:
    assert init_sentry(InventorySettings(sentry_dsn=None)) is False


async def test_long_in_lists_stay_index_lookups(migrated_islands: dict[str, ServiceSettings]) -> None:
    """Bulk paths look rows up in chunks of 1,000-2,000 keys; MariaDB must not turn those into a derived table."""
    engine = create_engine(migrated_islands["webshop"])
    keys = ", ".join(f"'K{i}'" for i in range(1500))
    try:
        async with engine.connect() as conn:
            await conn.execute(text("CREATE TEMPORARY TABLE in_probe (s VARCHAR(10), k VARCHAR(20), q INT, "
                                    "PRIMARY KEY (s, k), KEY in_probe_k (k)) DEFAULT CHARSET=utf8mb4"))  # fmt: skip
            await conn.execute(text("INSERT INTO in_probe SELECT CONCAT('S', seq % 50), CONCAT('K', seq), seq % 7 "
                                    "FROM seq_1_to_20000"))  # fmt: skip
            await conn.execute(text("ANALYZE TABLE in_probe"))
            query = f"EXPLAIN SELECT k, SUM(q) FROM in_probe WHERE k IN ({keys}) GROUP BY k"
            plan = (await conn.execute(text(query))).all()
    finally:
        await engine.dispose()
    assert [(row.table, row.type) for row in plan] == [("in_probe", "range")]
