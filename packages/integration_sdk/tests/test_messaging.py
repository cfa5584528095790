"""The messaging backbone against the real RabbitMQ and MariaDB: outbox, relay, inbox, retry tiers,
DLQ archive and replay. Each test has its own broker namespace and short retry tiers.

The business effect is a probe projection (``sdk_probe_state``, one row per article, applied by
version) and an effect log (``sdk_probe_effect``, one row per applied idempotency key): "exactly one
effect" means the log holds each key once and the state equals applying each event once in version
order.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aio_pika
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from contracts import Envelope, StockAvailabilityChanged, WheelSetRecomputeRequested
from foundation.app import create_app, default_resources
from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk.broker import BrokerResource
from integration_sdk.consumer import BatchContext, Batched, MessageContext
from integration_sdk.dead_letters import DeadLetterFilter, replay_dead_letters
from integration_sdk.errors import Deferred, PermanentError, TransientError
from integration_sdk.messaging_schema import OUTBOX_PARKED, OUTBOX_PENDING, OUTBOX_SENT
from integration_sdk.outbox import Outbox
from integration_sdk.runtime import MessagingSpec, messaging_hook
from integration_sdk.testing import delete_broker_namespace, serve, wait_until_ready
from integration_sdk.topology import BULK, exchange_name, tier_for
from integration_sdk.versioning import newer_than_applied

TIERS = (0.2, 0.4, 0.6, 0.8, 1.0)
PROBE_DDL = (
    "CREATE TABLE IF NOT EXISTS sdk_probe_state (article_number VARCHAR(50) PRIMARY KEY, qty INT NOT NULL, "
    "version BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS sdk_probe_effect (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
    "idempotency_key VARCHAR(200) NOT NULL, article_number VARCHAR(50) NOT NULL, version BIGINT NOT NULL)",
)


def stock_event(article: str, version: int, qty: int = 4) -> StockAvailabilityChanged:
    return StockAvailabilityChanged(
        article_number=article, sellable_qty=qty, best_price=Decimal("89.90"), next_delivery_date=None,
        source_batch_id="batch-1", version=version,
    )  # fmt: skip


class Probe:
    """The handler under test, with switches to make it fail."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self.fail_with: Callable[[], Exception] | None = None

    async def handle(self, event: StockAvailabilityChanged, context: MessageContext) -> None:
        self.calls.append(time.monotonic())
        if self.fail_with is not None:
            raise self.fail_with()
        session = context.session
        await session.execute(
            sa.text("INSERT INTO sdk_probe_effect (idempotency_key, article_number, version) VALUES (:k, :a, :v)"),
            {"k": context.envelope.idempotency_key, "a": event.article_number, "v": event.version},
        )
        if await newer_than_applied(session, "probe", event.article_number, event.version):
            await session.execute(
                sa.text(
                    "INSERT INTO sdk_probe_state VALUES (:a, :q, :v) "
                    "ON DUPLICATE KEY UPDATE qty = VALUES(qty), version = VALUES(version)"
                ),
                {"a": event.article_number, "q": event.sellable_qty, "v": event.version},
            )


@pytest.fixture
async def settings(migrated_islands: dict[str, ServiceSettings]) -> AsyncIterator[ServiceSettings]:
    base = migrated_islands["webshop"]
    test_settings = base.model_copy(
        update={
            "broker_namespace": f"{base.broker_namespace}{secrets.token_hex(2)}_",
            "retry_tiers_s": TIERS,
            "outbox_poll_interval_s": 0.2,
            "outbox_retry_base_s": 0.05,
            "outbox_max_publish_attempts": 3,
            "broker_prefetch": 100,
        }
    )
    db = Database.from_settings(test_settings)
    async with db.writer.begin() as conn:
        for ddl in PROBE_DDL:
            await conn.execute(sa.text(ddl))
        for table in ("sdk_probe_state", "sdk_probe_effect", "outbox_message", "inbox_message", "dead_letter",
                      "applied_version"):  # fmt: skip
            await conn.execute(sa.text(f"DELETE FROM {table}"))
    await db.dispose()
    yield test_settings
    await delete_broker_namespace(test_settings)


def worker_app(settings: ServiceSettings, probe: Probe) -> FastAPI:
    spec = MessagingSpec(handlers={BULK: {"stock.availability.changed": probe.handle}})
    return create_app(
        settings, title="probe worker", resources=[*default_resources(settings), BrokerResource(settings)],
        hooks=[messaging_hook(spec)],
    )  # fmt: skip


@asynccontextmanager
async def running_worker(settings: ServiceSettings, probe: Probe) -> AsyncIterator[FastAPI]:
    app = worker_app(settings, probe)
    async with serve(app) as client:
        ready = await wait_until_ready(client, timeout_s=15)
        assert ready.status_code == 200, ready.text
        yield app


async def emit(settings: ServiceSettings, events: list[Any], *, commit: bool = True) -> None:
    """Write events through the outbox in one transaction, as a service would."""
    db = Database.from_settings(settings)
    outbox = Outbox(settings)
    try:
        async with db.sessions() as session:
            async with session.begin():
                for event in events:
                    await outbox.add(session, event)
                if not commit:
                    await session.rollback()
    finally:
        await db.dispose()


async def query(settings: ServiceSettings, sql: str) -> list[Any]:
    db = Database.from_settings(settings)
    try:
        async with db.reader.connect() as conn:
            return list((await conn.execute(sa.text(sql))).all())
    finally:
        await db.dispose()


async def eventually(check: Callable[[], Any], timeout_s: float = 15, interval_s: float = 0.1) -> Any:
    """Poll an async check until it returns a truthy value; its last value on time-out."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(interval_s)


async def effects(settings: ServiceSettings) -> dict[str, int]:
    rows = await query(settings, "SELECT idempotency_key, COUNT(*) FROM sdk_probe_effect GROUP BY idempotency_key")
    return dict(rows)


async def test_committed_events_are_applied_once_and_rolled_back_ones_never(settings: ServiceSettings) -> None:
    probe = Probe()
    async with running_worker(settings, probe):
        await emit(settings, [stock_event("T-1", 1), stock_event("T-2", 1)])
        await emit(settings, [stock_event("T-3", 1)], commit=False)
        applied = await eventually(lambda: _count(settings, "sdk_probe_effect", 2))
        await asyncio.sleep(0.5)  # a rolled-back event would have arrived by now
    assert applied
    assert await effects(settings) == {
        "stock.availability.changed:T-1:1": 1, "stock.availability.changed:T-2:1": 1,
    }  # fmt: skip
    statuses = await query(settings, "SELECT status, sent_at IS NOT NULL FROM outbox_message")
    assert statuses == [(OUTBOX_SENT, 1), (OUTBOX_SENT, 1)]


async def _count(settings: ServiceSettings, table: str, expected: int) -> bool:
    return (await query(settings, f"SELECT COUNT(*) FROM {table}"))[0][0] >= expected


async def test_crash_after_commit_before_publish_publishes_on_restart(settings: ServiceSettings) -> None:
    # (a) the process died after the commit: rows wait in the outbox with no relay running
    await emit(settings, [stock_event(f"A-{i}", 1) for i in range(20)])
    assert (await query(settings, "SELECT COUNT(*) FROM outbox_message WHERE status = 0"))[0][0] == 20
    async with running_worker(settings, Probe()):
        assert await eventually(lambda: _count(settings, "sdk_probe_effect", 20))
    assert set((await effects(settings)).values()) == {1}


async def test_crash_after_publish_before_mark_sent_has_one_effect(settings: ServiceSettings) -> None:
    # (b) published, then the relay died before marking: the rows are pending again and republished
    probe = Probe()
    async with running_worker(settings, probe):
        await emit(settings, [stock_event(f"B-{i}", 1) for i in range(10)])
        assert await eventually(lambda: _count(settings, "sdk_probe_effect", 10))
    await query_write(settings, f"UPDATE outbox_message SET status = {OUTBOX_PENDING}, sent_at = NULL")
    async with running_worker(settings, probe):
        assert await eventually(lambda: _all_sent(settings))
        await asyncio.sleep(0.5)
    assert len(await effects(settings)) == 10
    assert set((await effects(settings)).values()) == {1}
    assert (await query(settings, "SELECT COUNT(*) FROM inbox_message"))[0][0] == 10


async def _all_sent(settings: ServiceSettings) -> bool:
    return (await query(settings, "SELECT COUNT(*) FROM outbox_message WHERE status <> 1"))[0][0] == 0


async def query_write(settings: ServiceSettings, sql: str) -> None:
    db = Database.from_settings(settings)
    try:
        async with db.writer.begin() as conn:
            await conn.execute(sa.text(sql))
    finally:
        await db.dispose()


async def test_crash_after_handler_commit_before_ack_has_one_effect(settings: ServiceSettings) -> None:
    # (c) the handler committed, then the worker died before its ack reached the broker: the
    # unacked delivery goes back to the queue and the next worker gets it again.
    probe = Probe()
    original_ack = aio_pika.IncomingMessage.ack
    lost: list[str | None] = []

    async def ack_lost_with_the_process(self: aio_pika.IncomingMessage, multiple: bool = False) -> None:
        if not lost:
            lost.append(self.message_id)
            return
        await original_ack(self, multiple)

    aio_pika.IncomingMessage.ack = ack_lost_with_the_process  # type: ignore[method-assign]
    try:
        async with running_worker(settings, probe):
            await emit(settings, [stock_event("C-1", 1)])
            assert await eventually(lambda: _count(settings, "sdk_probe_effect", 1))
        assert lost, "the first delivery's ack should have been dropped"
        async with running_worker(settings, probe):
            assert await eventually(lambda: _queue_empty(settings, "webshop.bulk"))
    finally:
        aio_pika.IncomingMessage.ack = original_ack  # type: ignore[method-assign]
    assert await effects(settings) == {"stock.availability.changed:C-1:1": 1}
    assert len(probe.calls) == 1, "the redelivery must be suppressed by the inbox, not handled again"


async def _queue_empty(settings: ServiceSettings, queue: str) -> bool:
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(f"{settings.broker_namespace}{queue}", passive=True)
        return declared.declaration_result.message_count == 0 and declared.declaration_result.consumer_count > 0


async def test_double_publish_has_one_effect(settings: ServiceSettings) -> None:
    # (d) the same envelope published twice (e.g. two relays before partitions, or a manual resend)
    probe = Probe()
    async with running_worker(settings, probe) as app:
        envelope = Envelope.wrap(stock_event("D-1", 1), produced_by="stock-import", correlation_id="dup-test")
        broker: BrokerResource = app.state.resources["broker"]
        channel = await broker.connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(exchange_name(settings.broker_namespace))
        for _ in range(2):
            await exchange.publish(
                aio_pika.Message(envelope.to_bytes(), message_id=str(envelope.message_id)),
                routing_key=envelope.message_type,
            )
        await channel.close()
        assert await eventually(lambda: _count(settings, "inbox_message", 1))
        await asyncio.sleep(0.5)
    assert await effects(settings) == {"stock.availability.changed:D-1:1": 1}


async def test_older_version_arriving_late_never_overwrites_newer_state(settings: ServiceSettings) -> None:
    async with running_worker(settings, Probe()):
        await emit(settings, [stock_event("V-1", 3, qty=30)])
        assert await eventually(lambda: _count(settings, "sdk_probe_state", 1))
        await emit(settings, [stock_event("V-1", 2, qty=20), stock_event("V-1", 1, qty=10)])
        assert await eventually(lambda: _count(settings, "sdk_probe_effect", 3))
    assert await query(settings, "SELECT qty, version FROM sdk_probe_state") == [(30, 3)]


async def test_poison_message_reaches_dlq_after_exact_attempts_then_replays_once(settings: ServiceSettings) -> None:
    probe = Probe()
    probe.fail_with = lambda: RuntimeError("projection bug")
    async with running_worker(settings, probe):
        await emit(settings, [stock_event("P-1", 1)])
        assert await eventually(lambda: _count(settings, "dead_letter", 1), timeout_s=20)
    assert len(probe.calls) == 5
    gaps = [later - earlier for earlier, later in zip(probe.calls, probe.calls[1:], strict=False)]
    for gap, tier in zip(gaps, TIERS, strict=False):
        assert gap >= tier * 0.95, (gaps, TIERS)
    letter = (await query(settings, "SELECT queue, scope_id, message_type, error_class, attempts, headers, status "
                                    "FROM dead_letter"))[0]  # fmt: skip
    assert letter[:5] == (f"{settings.broker_namespace}webshop.bulk", "P-1", "stock.availability.changed",
                          "RuntimeError", 5)  # fmt: skip
    history = json.loads(json.loads(letter[5])["x-attempt-history"])
    assert [entry["attempt"] for entry in history] == [1, 2, 3, 4, 5]
    assert all("RuntimeError: projection bug" in entry["error"] for entry in history)
    assert letter[6] == "dead"

    probe.fail_with = None  # the operator fixed the bug
    async with running_worker(settings, probe):
        db = Database.from_settings(settings)
        connection = await aio_pika.connect(settings.amqp_url)
        try:
            first = await replay_dead_letters(db.writer, connection, DeadLetterFilter(scope_id="P-1"),
                                              replay_correlation_id="replay-1")  # fmt: skip
            assert await eventually(lambda: _count(settings, "sdk_probe_effect", 1))
            again = await replay_dead_letters(db.writer, connection,
                                              DeadLetterFilter(scope_id="P-1", include_replayed=True),
                                              replay_correlation_id="replay-2")  # fmt: skip
            await asyncio.sleep(1.0)
        finally:
            await connection.close()
            await db.dispose()
    assert first == again
    assert len(first) == 1
    assert await effects(settings) == {"stock.availability.changed:P-1:1": 1}
    replayed = await query(settings, "SELECT status, replay_count, replay_correlation_id FROM dead_letter")
    assert replayed == [("replayed", 2, "replay-2")]


async def test_permanent_errors_and_unknown_major_versions_skip_the_retries(settings: ServiceSettings) -> None:
    probe = Probe()
    probe.fail_with = lambda: PermanentError("article number unknown to the catalogue")
    async with running_worker(settings, probe) as app:
        await emit(settings, [stock_event("X-1", 1)])
        future = Envelope.wrap(stock_event("X-2", 1), produced_by="stock-import", correlation_id="v2")
        future = future.model_copy(update={"schema_version": "2.0"})
        broker: BrokerResource = app.state.resources["broker"]
        channel = await broker.connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(exchange_name(settings.broker_namespace))
        await exchange.publish(aio_pika.Message(future.to_bytes()), routing_key=future.message_type)
        await channel.close()
        assert await eventually(lambda: _count(settings, "dead_letter", 2))
    letters = await query(settings, "SELECT scope_id, error_class, attempts FROM dead_letter ORDER BY scope_id")
    assert letters == [("X-1", "PermanentError", 1), ("X-2", "UnknownContractVersion", 1)]
    assert len(probe.calls) == 1


def test_retry_after_picks_the_first_tier_at_least_that_long() -> None:
    tiers = (15.0, 60.0, 300.0, 900.0, 1800.0)
    assert [tier_for(attempt, tiers) for attempt in range(1, 6)] == list(tiers)
    assert tier_for(1, tiers, retry_after_s=45) == 60
    assert tier_for(1, tiers, retry_after_s=5) == 15
    assert tier_for(2, tiers, retry_after_s=301) == 900
    assert tier_for(1, tiers, retry_after_s=7200) == 1800


async def test_transient_error_with_retry_after_waits_that_tier(settings: ServiceSettings) -> None:
    probe = Probe()
    probe.fail_with = lambda: TransientError("partner says 429", retry_after_s=0.5)
    async with running_worker(settings, probe):
        await emit(settings, [stock_event("R-1", 1)])
        assert await eventually(lambda: _calls(probe, 2), timeout_s=5)
        probe.fail_with = None
        assert await eventually(lambda: _count(settings, "sdk_probe_effect", 1), timeout_s=5)
    assert probe.calls[1] - probe.calls[0] >= 0.6 * 0.95  # first tier ≥ 0.5 s is 0.6 s


async def test_deferred_work_waits_its_retry_after_without_spending_attempts(settings: ServiceSettings) -> None:
    # A partner's open circuit: more deferrals than max_attempts, then it works: applied once, no dead letter.
    probe = Probe()
    deferrals = settings.max_attempts + 2
    probe.fail_with = lambda: Deferred("partner circuit open", retry_after_s=0.3)
    async with running_worker(settings, probe):
        await emit(settings, [stock_event("W-1", 1)])
        assert await eventually(lambda: _calls(probe, deferrals), timeout_s=15)
        probe.fail_with = None
        assert await eventually(lambda: _count(settings, "sdk_probe_effect", 1), timeout_s=5)
        await asyncio.sleep(0.5)
    assert await query(settings, "SELECT COUNT(*) FROM dead_letter") == [(0,)]
    assert await effects(settings) == {"stock.availability.changed:W-1:1": 1}
    gaps = [later - earlier for earlier, later in zip(probe.calls, probe.calls[1:], strict=False)]
    assert min(gaps[: deferrals - 1]) >= 0.4 * 0.95, gaps  # first tier ≥ 0.3 s is 0.4 s


async def _calls(probe: Probe, n: int) -> bool:
    return len(probe.calls) >= n


async def test_unpublishable_row_is_parked_without_blocking_the_others(settings: ServiceSettings) -> None:
    """A queue that refuses publishes (x-overflow reject-publish) makes the broker NACK one row type."""
    probe = Probe()
    async with running_worker(settings, probe) as app:
        broker: BrokerResource = app.state.resources["broker"]
        channel = await broker.connection.channel()
        exchange = await channel.get_exchange(exchange_name(settings.broker_namespace))
        full = await channel.declare_queue(
            f"{settings.broker_namespace}probe.full", auto_delete=True,
            arguments={"x-max-length": 0, "x-overflow": "reject-publish"},
        )  # fmt: skip
        await full.bind(exchange, routing_key="probe.refused")
        refused = Envelope.wrap(stock_event("N-0", 1), produced_by="webshop", correlation_id="nack")
        refused = refused.model_copy(update={"message_type": "probe.refused"})
        db = Database.from_settings(settings)
        outbox = Outbox(settings)
        async with db.sessions() as session, session.begin():
            await outbox.add_envelope(session, refused)
            for i in range(1, 6):
                await outbox.add(session, stock_event(f"N-{i}", 1))
        await db.dispose()
        assert await eventually(lambda: _count(settings, "sdk_probe_effect", 5))
        parked = await eventually(lambda: _status_of(settings, "probe.refused", OUTBOX_PARKED), timeout_s=10)
        await channel.close()
    assert parked
    row = (await query(settings, "SELECT publish_attempts, last_error FROM outbox_message "
                                 "WHERE message_type = 'probe.refused'"))[0]  # fmt: skip
    assert row[0] == settings.outbox_max_publish_attempts
    assert "DeliveryError" in row[1] or "nack" in row[1].lower()


async def _status_of(settings: ServiceSettings, message_type: str, status: int) -> bool:
    rows = await query(settings, f"SELECT status FROM outbox_message WHERE message_type = '{message_type}'")
    return bool(rows) and rows[0][0] == status


async def test_two_relays_publish_each_row_once_in_aggregate_order(settings: ServiceSettings) -> None:
    """Two worker processes' relays share the outbox: no row twice, versions in order per aggregate."""
    received: list[tuple[str, int, str]] = []
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            exchange_name(settings.broker_namespace), aio_pika.ExchangeType.TOPIC, durable=True
        )
        tap = await channel.declare_queue(exclusive=True)
        await tap.bind(exchange, routing_key="stock.#")

        async def record(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            envelope = Envelope.from_bytes(message.body)
            received.append((envelope.aggregate_id, envelope.aggregate_version, str(envelope.message_id)))
            await message.ack()

        await tap.consume(record)
        events = [stock_event(f"O-{article}", version) for version in range(1, 21) for article in range(25)]
        async with running_worker(settings, Probe()), running_worker(settings, Probe()):
            for start in range(0, len(events), 50):
                await emit(settings, events[start : start + 50])
            deadline = time.monotonic() + 30
            while len(received) < len(events) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
    assert len(received) == len(events)
    assert len({message_id for *_, message_id in received}) == len(events)
    by_article: dict[str, list[int]] = {}
    for article, version, _ in received:
        by_article.setdefault(article, []).append(version)
    assert all(versions == sorted(versions) for versions in by_article.values())


@pytest.mark.slow
async def test_broker_restart_during_a_burst_loses_nothing(settings: ServiceSettings) -> None:
    async with running_worker(settings, Probe()):
        await emit(settings, [stock_event(f"K-{i}", 1) for i in range(200)])
        subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=120)
        await emit(settings, [stock_event(f"L-{i}", 1) for i in range(200)])  # written while the broker is down
        subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=120)
        assert await eventually(lambda: _count(settings, "sdk_probe_effect", 400), timeout_s=90)
        await asyncio.sleep(1.0)
    counts = await effects(settings)
    assert len(counts) == 400
    assert set(counts.values()) == {1}


@pytest.mark.slow
async def test_database_connections_killed_mid_consume_lose_nothing(settings: ServiceSettings) -> None:
    async with running_worker(settings, Probe()):
        await emit(settings, [stock_event(f"M-{i}", 1) for i in range(300)])
        for _ in range(3):
            await asyncio.sleep(0.15)
            await query_write(
                settings,
                "SELECT 1",  # warm-up so the kill below never targets this connection
            )
            victims = await query(
                settings,
                f"SELECT id FROM information_schema.processlist WHERE db = '{settings.db_schema}' "
                "AND id <> CONNECTION_ID()",
            )
            for (victim,) in victims:
                subprocess.run(["mariadb", "-uroot", "-e", f"KILL {victim}"], capture_output=True, check=False)
        assert await eventually(lambda: _count(settings, "sdk_probe_effect", 300), timeout_s=60)
        await asyncio.sleep(1.0)
    counts = await effects(settings)
    assert len(counts) == 300
    assert set(counts.values()) == {1}


async def test_a_long_own_batch_does_not_hold_up_the_quick_messages_behind_it(settings: ServiceSettings) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    probe = Probe()

    async def compose(items: list[tuple[WheelSetRecomputeRequested, Envelope]], context: BatchContext) -> None:
        started.set()
        await asyncio.wait_for(release.wait(), 30)  # seconds of work, like composing 250 variants' sets

    spec = MessagingSpec(handlers={BULK: {
        "stock.availability.changed": probe.handle,
        WheelSetRecomputeRequested.message_type: Batched(compose, own_batch=True),
    }})  # fmt: skip
    app = create_app(settings, title="probe worker", resources=[*default_resources(settings), BrokerResource(settings)],
                     hooks=[messaging_hook(spec)])  # fmt: skip
    async with serve(app) as client:
        assert (await wait_until_ready(client, timeout_s=15)).status_code == 200
        request = WheelSetRecomputeRequested(request_id="long", vehicle_variant_ids=[1], changed_at=datetime.now(UTC))
        await emit(settings, [request])
        await asyncio.wait_for(started.wait(), 15)
        await emit(settings, [stock_event("QUICK", 1)])
        # Applied and committed while the long batch is still running (it would wait behind it otherwise).
        assert await eventually(
            lambda: query(settings, "SELECT qty FROM sdk_probe_state WHERE article_number = 'QUICK'")
        )
        assert not release.is_set()
        release.set()

        async def both_applied() -> bool:
            return await query(settings, "SELECT COUNT(*) FROM inbox_message") == [(2,)]

        assert await eventually(both_applied)


async def test_own_batches_are_applied_one_at_a_time(settings: ServiceSettings) -> None:
    # Requests of one own-batch type overlap (a batch asks again for what it left): two batches at once
    # would wait on each other's locks.
    quick = settings.model_copy(update={"consumer_batch_max": 5})
    active, most, seen = 0, 0, 0

    async def compose(items: list[tuple[WheelSetRecomputeRequested, Envelope]], context: BatchContext) -> None:
        nonlocal active, most, seen
        active += 1
        most = max(most, active)
        await asyncio.sleep(0.05)
        seen += len(items)
        active -= 1

    spec = MessagingSpec(handlers={BULK: {WheelSetRecomputeRequested.message_type: Batched(compose, own_batch=True)}})
    app = create_app(quick, title="probe worker", resources=[*default_resources(quick), BrokerResource(quick)],
                     hooks=[messaging_hook(spec)])  # fmt: skip
    now = datetime.now(UTC)
    requests = [WheelSetRecomputeRequested(request_id=f"r{i}", vehicle_variant_ids=[i], changed_at=now)
                for i in range(1, 41)]  # fmt: skip
    async with serve(app) as client:
        assert (await wait_until_ready(client, timeout_s=15)).status_code == 200
        await emit(quick, requests)

        async def all_seen() -> bool:
            return seen == len(requests)

        assert await eventually(all_seen)
    assert most == 1
