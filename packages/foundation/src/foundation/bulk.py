"""Bulk ingestion helpers shared by the islands: row errors, chunking, content hashes, versioned upserts.

An island ingests a partner file (ERP export, vehicle sync, supplier feed, platform configs) in
chunks of a few hundred to a few thousand rows, each chunk in one transaction:

1. validate each record into a typed model; a bad record becomes ``RowError``\\ s (line, field,
   value, reason) via ``row_errors`` and is reported, never silently dropped;
2. ``content_hash`` the normalised record, then ``split_changed`` against the table: one
   ``SELECT ... FOR UPDATE`` by key tells new, changed and unchanged rows apart and stamps the
   written rows with their next ``version``;
3. ``upsert`` only the new and changed rows: one multi-row ``INSERT ... ON DUPLICATE KEY UPDATE``
   through the driver's executemany (asyncmy batches the rows into statements of up to 1 MB; with
   its statement cache enabled it binds them in one MariaDB ``COM_STMT_BULK_EXECUTE`` round trip),
   so a re-import of an unchanged file writes nothing.

``named_lock`` keeps two imports of the same kind from interleaving their chunks.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

import orjson
from pydantic import ValidationError
from sqlalchemy import Table, select, text
from sqlalchemy.dialects.mysql import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

T = TypeVar("T")
Executor = AsyncConnection | AsyncSession

DEFAULT_CHUNK_SIZE = 1000
# Widths of the `*_error` tables' columns: `field` VARCHAR(64), `value` and `reason` VARCHAR(255).
MAX_ERROR_FIELD_LENGTH = 64
MAX_ERROR_TEXT_LENGTH = 255


class FileFormatError(ValueError):
    """The file as a whole cannot be ingested (wrong header, not JSON, ...): nothing was applied."""


@dataclass(frozen=True)
class RowError:
    """One problem with one record: where (line, field), what was sent and why it was refused."""

    line_no: int
    field: str
    value: str | None
    reason: str
    key: str | None = None  # the record's identifier (article number, platform id) where it is known

    def as_row(self, line_column: str = "line_no", **extra: Any) -> dict[str, Any]:
        """The error as a row of an ``*_error`` table (NOT NULL text columns, cut to their widths)."""
        return {
            line_column: self.line_no,
            "field": self.field[:MAX_ERROR_FIELD_LENGTH],
            "value": (self.value or "")[:MAX_ERROR_TEXT_LENGTH],
            "reason": self.reason[:MAX_ERROR_TEXT_LENGTH],
            **extra,
        }


MISSING = "required but missing or empty"
# Pydantic's wording is written for API clients; these read better in an import report.
_REASONS = {
    "missing": MISSING,
    "extra_forbidden": "not applicable here, must be empty",
}


def row_errors(line_no: int, exc: ValidationError, key: str | None = None) -> list[RowError]:
    """One ``RowError`` per problem pydantic found in the record on ``line_no``."""
    errors = []
    for error in exc.errors(include_url=False):
        name = ".".join(str(part) for part in error["loc"])
        value = error.get("input")
        if error["type"] == "missing" or isinstance(value, dict):
            value = None
        elif isinstance(value, bytes):
            value = value.decode(errors="replace")
        reason = _REASONS.get(error["type"], error["msg"].removeprefix("Value error, "))
        errors.append(RowError(line_no, name, None if value is None else str(value), reason, key))
    return errors


def chunked(items: Iterable[T], size: int = DEFAULT_CHUNK_SIZE) -> Iterator[list[T]]:
    """Consecutive lists of at most ``size`` items (the last one shorter)."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def count_lines(path: Path) -> int:
    """Newlines in ``path``, read in 1 MB blocks: a cheap total for a progress bar."""
    with path.open("rb") as file:
        return sum(block.count(b"\n") for block in iter(lambda: file.read(1 << 20), b""))


def utc_now() -> datetime:
    """Now in UTC, naive and cut to milliseconds: what a ``DATETIME(3)`` column stores."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot hash a {type(value).__name__}")


def content_hash(record: Mapping[str, Any]) -> str:
    """sha256 hex of ``record`` as canonical JSON (sorted keys, compact): equal content, equal hash.

    Normalise before hashing (fixed decimal places, trimmed strings, lists in a stable order), so
    only a real change of content changes the hash. Decimals hash as their string form.
    """
    payload = orjson.dumps(record, option=orjson.OPT_SORT_KEYS, default=_json_default)
    return hashlib.sha256(payload).hexdigest()


@dataclass
class VersionedSplit:
    """A chunk split against the table: rows to write (stamped with ``version``) and the rest."""

    written: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0

    @property
    def created(self) -> int:
        """New rows (version 1) among the written ones."""
        return sum(1 for row in self.written if row["version"] == 1)


async def split_changed(executor: Executor, table: Table, key: str, rows: Sequence[dict[str, Any]]) -> VersionedSplit:
    """Compare ``rows`` (each with ``key`` and ``content_hash``, keys unique) with the table by content hash.

    New rows get ``version`` 1, changed rows the stored version + 1; unchanged rows are only
    counted. The stored rows are locked (``FOR UPDATE``) until the transaction ends, so a
    concurrent writer cannot hand out the same version twice.
    """
    key_column = table.c[key]
    stored = {
        row[0]: (row[1], row[2])
        for row in await executor.execute(
            select(key_column, table.c.content_hash, table.c.version)
            .where(key_column.in_([row[key] for row in rows]))
            .with_for_update()
        )
    }
    split = VersionedSplit()
    for row in rows:
        previous = stored.get(row[key])
        if previous is None:
            split.written.append({**row, "version": 1})
        elif previous[0] == row["content_hash"]:
            split.unchanged += 1
        else:
            split.written.append({**row, "version": previous[1] + 1})
    return split


async def upsert(
    executor: Executor,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    update: Iterable[str] | None = None,
) -> None:
    """Insert ``rows``, updating the existing ones: multi-row ``INSERT ... ON DUPLICATE KEY UPDATE``.

    ``update`` names the columns overwritten on a duplicate key; by default every column of the
    first row except the primary key and ``created_at`` (a row keeps the time it first appeared).
    Every row must have the same keys. The statement is compiled once (SQLAlchemy caches it) and
    executed as one executemany, which the driver turns into multi-row statements.
    """
    if not rows:
        return
    statement = insert(table)
    if update is None:
        primary = {column.name for column in table.primary_key.columns}
        update = [name for name in rows[0] if name not in primary and name != "created_at"]
    statement = statement.on_duplicate_key_update({name: statement.inserted[name] for name in update})
    await executor.execute(statement, list(rows))


async def insert_rows(
    executor: Executor, table: Table, rows: Sequence[Mapping[str, Any]], update: Iterable[str] | None = None
) -> None:
    """Insert many rows through the driver's executemany (``update``: columns set on a duplicate key).

    For the widest bulk writes (a fitment build writes millions of rows): the statement text goes to
    the driver as is, with plain tuples, skipping SQLAlchemy's per-row parameter processing (about half
    the client time of ``upsert``). Only for column types the driver converts itself (numbers, text,
    decimals, booleans, dates); every row must have the keys of the first.
    """
    if not rows:
        return
    names = list(rows[0])
    quote = "`{}`".format
    sql = f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, names))}) VALUES ({', '.join(['%s'] * len(names))})"
    columns = list(update or ())
    if columns:
        sql += " ON DUPLICATE KEY UPDATE " + ", ".join(f"{quote(c)} = VALUES({quote(c)})" for c in columns)
    connection = executor if isinstance(executor, AsyncConnection) else await executor.connection()
    await connection.exec_driver_sql(
        sql.replace("%", "%%").replace("%%s", "%s"), [tuple(row[n] for n in names) for row in rows]
    )


class LockBusyError(RuntimeError):
    """Another connection holds the named lock: the same job is already running."""


@asynccontextmanager
async def named_lock(connection: AsyncConnection, name: str, timeout_s: float = 0) -> AsyncIterator[None]:
    """Hold MariaDB's ``GET_LOCK`` on ``<schema>.<name>`` for the block, or raise ``LockBusyError``.

    Named locks are server-wide, so the name is prefixed with the connection's schema: test runs
    and islands sharing one server do not block each other. The lock belongs to the connection,
    not to a transaction, so it spans the per-chunk transactions of one import.
    """
    full_name = text("SELECT CONCAT(DATABASE(), '.', :name)")
    lock_name = (await connection.execute(full_name, {"name": name})).scalar_one()
    acquired = (
        await connection.execute(text("SELECT GET_LOCK(:lock, :timeout)"), {"lock": lock_name, "timeout": timeout_s})
    ).scalar_one()
    await connection.commit()  # the SELECTs opened a transaction; the caller's chunks begin their own
    if acquired != 1:
        raise LockBusyError(f"{lock_name} is held by another connection: is the same job already running?")
    try:
        yield
    finally:
        # A broken connection has lost the lock with its session; the original error matters more.
        with suppress(SQLAlchemyError):
            await connection.execute(text("SELECT RELEASE_LOCK(:lock)"), {"lock": lock_name})
            await connection.commit()
