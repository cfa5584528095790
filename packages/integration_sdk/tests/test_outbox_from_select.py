"""Events written set-based by MariaDB (``Outbox.add_from_select``) read back exactly like ``Envelope.wrap``'s."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa

from contracts import Envelope, StockAvailabilityChanged, open_envelope
from contracts.envelope import default_idempotency_key
from contracts.registry import Contract
from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk.outbox import OUTBOX, Outbox, partition_of
from integration_sdk.testing import truncate_tables

EVENTS = [
    StockAvailabilityChanged(article_number="TY0000001", sellable_qty=12, best_price=Decimal("89.90"),
                             next_delivery_date=date(2026, 12, 2), source_batch_id="SUP-001-b1", version=3),
    StockAvailabilityChanged(article_number="WH-ÄÖ 7", sellable_qty=0, best_price=Decimal("0.00"),
                             next_delivery_date=None, source_batch_id="SUP-001-b1", version=1),
    StockAvailabilityChanged(article_number="TP9", sellable_qty=2147483647, best_price=Decimal("99999999.99"),
                             next_delivery_date=date(2099, 1, 31), source_batch_id="SUP-001-b1", version=2**40),
]  # fmt: skip


class LongKeyed(Contract):
    """A contract whose idempotency key outgrows the inbox column."""

    message_type: ClassVar[str] = "test." + "long-keyed" * 8
    schema_version: ClassVar[str] = "1.0"
    name: str
    version: int

    def aggregate_id(self) -> str:
        return self.name

    def aggregate_version(self) -> int:
        return self.version


async def _write(settings: ServiceSettings, contract: type[Contract], rows: list[dict[str, Any]]) -> list[Any]:
    """The rows through a temporary table and ``add_from_select``; the outbox rows it wrote."""
    await truncate_tables(settings, "outbox_message")
    db = Database.from_settings(settings)
    columns = {name: sa.Column(name, sa.Numeric(10, 2) if name == "best_price" else
                               sa.Date if name == "next_delivery_date" else
                               sa.BigInteger if name in ("sellable_qty", "version") else sa.String(300))
               for name in contract.model_fields}  # fmt: skip
    order = sa.Column("n", sa.Integer, primary_key=True, autoincrement=False)
    table = sa.Table("event_rows", sa.MetaData(), order, *columns.values(), prefixes=["TEMPORARY"],
                     mysql_charset="utf8mb4")  # fmt: skip
    try:
        async with db.sessions.begin() as session:
            await session.execute(sa.schema.CreateTable(table))
            await session.execute(table.insert(), [{"n": n, **row} for n, row in enumerate(rows)])
            query = sa.select(*(table.c[name] for name in contract.model_fields)).order_by(table.c.n)
            count = await Outbox(settings).add_from_select(
                session, contract, query, aggregate_id=_id_field(contract), aggregate_version="version",
                correlation_id="corr-1")  # fmt: skip
            assert count == len(rows)
        async with db.reader.connect() as conn:
            return list(await conn.execute(sa.select(OUTBOX).order_by(OUTBOX.c.id)))
    finally:
        await db.dispose()


def _id_field(contract: type[Contract]) -> str:
    return "article_number" if contract is StockAvailabilityChanged else "name"


async def test_sql_built_envelopes_read_back_like_wrapped_ones(migrated_islands: dict[str, ServiceSettings]) -> None:
    settings = migrated_islands["stock-import"]
    stored = await _write(settings, StockAvailabilityChanged, [event.model_dump() for event in EVENTS])
    assert [row.aggregate_id for row in stored] == sorted(event.article_number for event in EVENTS)  # aggregate order
    stored.sort(key=lambda row: [event.article_number for event in EVENTS].index(row.aggregate_id))
    for row, event in zip(stored, EVENTS, strict=True):
        envelope = Envelope.from_bytes(row.body)
        wrapped = Envelope.wrap(event, produced_by=settings.island, correlation_id="corr-1")
        assert open_envelope(envelope) == event  # the registry reads the contract back, validated
        assert envelope.model_dump(exclude={"message_id", "occurred_at"}) == wrapped.model_dump(
            exclude={"message_id", "occurred_at"}
        )
        assert json.loads(row.body)["payload"] == json.loads(wrapped.to_bytes())["payload"]  # same JSON forms
        assert (row.message_id, row.message_type) == (str(envelope.message_id), "stock.availability.changed")
        assert (row.aggregate_version, row.partition_no, row.status) == (
            event.version,
            partition_of(event.article_number),
            0,
        )
    assert len({row.message_id for row in stored}) == len(stored)


async def test_an_overlong_idempotency_key_is_hashed_like_the_python_one(
    migrated_islands: dict[str, ServiceSettings],
) -> None:
    events = [LongKeyed(name="x" * 100, version=10**15), LongKeyed(name="y", version=7)]  # keys of 208 and 93
    stored = await _write(migrated_islands["stock-import"], LongKeyed, [event.model_dump() for event in events])
    keys = [Envelope.from_bytes(row.body).idempotency_key for row in stored]
    assert keys == [default_idempotency_key(event) for event in events]
    assert keys[0].startswith(f"{LongKeyed.message_type}:sha256:")


async def test_columns_must_match_the_contract(migrated_islands: dict[str, ServiceSettings]) -> None:
    query = sa.select(sa.literal("A").label("article_number"))
    db = Database.from_settings(migrated_islands["stock-import"])
    try:
        async with db.sessions.begin() as session:
            with pytest.raises(ValueError, match="needs columns"):
                await Outbox(migrated_islands["stock-import"]).add_from_select(
                    session, StockAvailabilityChanged, query, aggregate_id="article_number",
                    aggregate_version="version", correlation_id="c")  # fmt: skip
    finally:
        await db.dispose()
