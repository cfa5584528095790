"""Batched handlers on the real database: one call for the batch, the bad message isolated, claims
released for failed messages, after-commit callbacks only for what committed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import sqlalchemy as sa

from contracts import Envelope, StockAvailabilityChanged
from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk.consumer import BatchContext, Batched, Consumer, Exclusive, MessageContext
from integration_sdk.errors import PermanentError
from integration_sdk.outbox import Outbox
from integration_sdk.runtime import MessagingSpec, island_consumers
from integration_sdk.topology import BULK, HIGH_PRIORITY


def envelope(article: str, version: int = 1) -> Envelope:
    event = StockAvailabilityChanged(
        article_number=article, sellable_qty=version, best_price=Decimal("1.00"), source_batch_id="b", version=version
    )
    return Envelope.wrap(event, produced_by="stock-import", correlation_id="batched")


class Recorder:
    """A batched projection handler that refuses article ``BAD`` (until fixed) and records calls."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.committed: list[str] = []
        self.refuse_bad = True

    async def apply(self, items: list[tuple[StockAvailabilityChanged, Envelope]], context: BatchContext) -> None:
        articles = [event.article_number for event, _ in items]
        self.calls.append(articles)
        await context.session.execute(
            sa.text("INSERT INTO batched_probe (article_number) VALUES (:a)"), [{"a": a} for a in articles]
        )
        if self.refuse_bad and "BAD" in articles:
            raise PermanentError("article BAD is refused")

        async def note() -> None:
            self.committed.extend(articles)

        context.after_commit(note)


@pytest.fixture
async def db(migrated_islands: dict[str, ServiceSettings]) -> AsyncIterator[Database]:
    database = Database.from_settings(migrated_islands["webshop"])
    async with database.writer.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE IF NOT EXISTS batched_probe (article_number VARCHAR(50) NOT NULL)"))
        for table in ("batched_probe", "inbox_message"):
            await conn.execute(sa.text(f"DELETE FROM {table}"))
    yield database
    await database.dispose()


async def probe_rows(db: Database) -> list[str]:
    async with db.reader.connect() as conn:
        return sorted((await conn.scalars(sa.text("SELECT article_number FROM batched_probe"))).all())


async def test_a_batch_is_one_call_and_a_bad_message_fails_alone(
    db: Database, migrated_islands: dict[str, ServiceSettings]
) -> None:
    settings = migrated_islands["webshop"]
    recorder = Recorder()
    consumer = Consumer(settings=settings, queue_class=BULK, sessions=db.sessions, outbox=Outbox(settings),
                        handlers={"stock.availability.changed": Batched(recorder.apply)}, name="batched")  # fmt: skip
    good = [envelope(a) for a in ("A", "B", "C")]
    bad = envelope("BAD")
    outcomes = await consumer.apply_batch([*good, bad, good[0]])  # the last one repeats A: a duplicate

    assert outcomes[:3] == [True, True, True]
    assert isinstance(outcomes[3], PermanentError)
    assert outcomes[4] is False
    # One call for the batch (rolled back), then one per message to isolate the bad one.
    assert recorder.calls == [["A", "B", "C", "BAD"], ["A"], ["B"], ["C"], ["BAD"]]
    assert await probe_rows(db) == ["A", "B", "C"]  # nothing of the failed attempts stayed
    assert sorted(recorder.committed) == ["A", "B", "C"]

    # The bad message's claim was released: its retry applies, while the good ones stay duplicates.
    recorder.refuse_bad = False
    assert await consumer.apply_batch([bad, *good]) == [True, False, False, False]
    assert await probe_rows(db) == ["A", "B", "BAD", "C"]
    assert recorder.calls[-1] == ["BAD"]


async def test_a_clean_batch_is_applied_by_one_call(db: Database, migrated_islands: dict[str, ServiceSettings]) -> None:
    settings = migrated_islands["webshop"]
    recorder = Recorder()
    consumer = Consumer(settings=settings, queue_class=BULK, sessions=db.sessions, outbox=Outbox(settings),
                        handlers={"stock.availability.changed": Batched(recorder.apply)}, name="batched")  # fmt: skip
    batch = [envelope(f"N{i}") for i in range(50)]
    assert await consumer.apply_batch(batch) == [True] * 50
    assert len(recorder.calls) == 1
    assert len(await probe_rows(db)) == 50


async def test_the_consumers_of_a_worker_never_ask_for_more_connections_than_the_pool_has(
    db: Database, migrated_islands: dict[str, ServiceSettings]
) -> None:  # db: the probe table, emptied
    # Two connections, no overflow, a short wait: a transaction beyond the pool would time out.
    settings = migrated_islands["webshop"].model_copy(
        update={"db_pool_size": 2, "db_max_overflow": 0, "db_pool_timeout_s": 0.5}
    )
    database = Database.from_settings(settings)
    in_flight, most = 0, 0

    async def slow(items: list[tuple[StockAvailabilityChanged, Envelope]], context: BatchContext) -> None:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await context.session.execute(sa.text("INSERT INTO batched_probe (article_number) VALUES (:a)"),
                                      [{"a": event.article_number} for event, _ in items])  # fmt: skip
        await asyncio.sleep(0.8)  # holds its connection longer than the pool lets anyone wait
        in_flight -= 1

    handlers = {"stock.availability.changed": Batched(slow)}
    spec = MessagingSpec(handlers={BULK: handlers, HIGH_PRIORITY: handlers})
    try:
        consumers = island_consumers(spec, settings, database, Outbox(settings), None)
        outcomes = await asyncio.gather(*(consumer.apply_batch([envelope(f"{consumer.queue_label}-{n}")])
                                          for consumer in consumers for n in range(3)))  # fmt: skip
        assert outcomes == [[True]] * 6
        assert most == 2
        assert len(await probe_rows(database)) == 6
    finally:
        await database.dispose()


async def test_long_work_reserves_every_connection_it_holds(
    db: Database, migrated_islands: dict[str, ServiceSettings]
) -> None:
    settings = migrated_islands["webshop"].model_copy(
        update={"db_pool_size": 4, "db_max_overflow": 0, "db_pool_timeout_s": 0.5}
    )
    database = Database.from_settings(settings)

    async def with_own_connections(event: StockAvailabilityChanged, context: MessageContext) -> None:
        # The inbox's transaction plus two of its own, like an export run (its lock, its writes).
        async with database.writer.connect() as lock, database.writer.begin() as own:
            await lock.execute(sa.text("SELECT 1"))
            await own.execute(sa.text("INSERT INTO batched_probe (article_number) VALUES (:a)"),
                              {"a": event.article_number})  # fmt: skip
            await asyncio.sleep(0.8)

    spec = MessagingSpec(handlers={BULK: {"stock.availability.changed": Exclusive(with_own_connections, 3)}})
    try:
        (consumer,) = island_consumers(spec, settings, database, Outbox(settings), None)
        outcomes = await asyncio.gather(*(consumer.apply_batch([envelope(f"L{n}")]) for n in range(3)))
        assert outcomes == [[True]] * 3  # one at a time: two at once would need six of the four connections
        assert len(await probe_rows(database)) == 3
    finally:
        await database.dispose()
