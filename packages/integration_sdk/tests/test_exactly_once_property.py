"""Property: any interleaving of duplicate and reordered deliveries, applied through the inbox and the
version guard on the real database, ends in the state of applying each event once in version order."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import Envelope, StockAvailabilityChanged
from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk.consumer import AnyHandler, BatchContext, Batched, Consumer, MessageContext
from integration_sdk.outbox import Outbox
from integration_sdk.topology import BULK
from integration_sdk.versioning import latest_per_aggregate, newer_than_applied, newest_applied

ARTICLES = ("A", "B", "C")


UPSERT_STATE = sa.text(
    "INSERT INTO property_state VALUES (:a, :q, :v) "
    "ON DUPLICATE KEY UPDATE qty = VALUES(qty), version = VALUES(version)"
)
RECORD_EFFECT = sa.text("INSERT INTO property_effect (idempotency_key) VALUES (:k)")


async def batched_handler(items: list[tuple[StockAvailabilityChanged, Envelope]], context: BatchContext) -> None:
    """The batch form: multi-row statements, newest version per article, one version check for all."""
    await context.session.execute(RECORD_EFFECT, [{"k": envelope.idempotency_key} for _, envelope in items])
    latest = latest_per_aggregate((event.article_number, event.version, event) for event, _ in items)
    winners = await newest_applied(context.session, "property", {a: version for a, (version, _) in latest.items()})
    rows = [{"a": a, "q": event.sellable_qty, "v": version} for a, (version, event) in latest.items() if a in winners]
    if rows:
        await context.session.execute(UPSERT_STATE, rows)


async def apply_all(
    settings: ServiceSettings, deliveries: list[Envelope], batched: bool
) -> tuple[dict[str, tuple[int, int]], int]:
    """Deliver in the given order through the consumer's transaction path; (state, committed effects)."""
    db = Database.from_settings(settings)

    async def handler(event: StockAvailabilityChanged, context: MessageContext) -> None:
        # An effect counts once committed (a batch a deadlock rolled back and ran again leaves none).
        await context.session.execute(RECORD_EFFECT, {"k": context.envelope.idempotency_key})
        if await newer_than_applied(context.session, "property", event.article_number, event.version):
            await context.session.execute(
                UPSERT_STATE, {"a": event.article_number, "q": event.sellable_qty, "v": event.version}
            )

    chosen: AnyHandler = Batched(batched_handler) if batched else handler
    consumer = Consumer(settings=settings, queue_class=BULK, handlers={"stock.availability.changed": chosen},
                        sessions=db.sessions, outbox=Outbox(settings), name="property")  # fmt: skip
    try:
        async with db.writer.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE IF NOT EXISTS property_state (article_number VARCHAR(50) "
                                       "PRIMARY KEY, qty INT NOT NULL, version BIGINT NOT NULL)"))  # fmt: skip
            await conn.execute(sa.text("CREATE TABLE IF NOT EXISTS property_effect (id BIGINT AUTO_INCREMENT "
                                       "PRIMARY KEY, idempotency_key VARCHAR(200) NOT NULL)"))  # fmt: skip
            for table in ("property_state", "property_effect", "inbox_message", "applied_version"):
                await conn.execute(sa.text(f"DELETE FROM {table}"))
        # As the consumer runs them: batches (duplicates may share one), two batches at the same time.
        batches = [deliveries[start : start + 3] for start in range(0, len(deliveries), 3)]
        for start in range(0, len(batches), 2):
            for outcomes in await asyncio.gather(*(consumer.apply_batch(b) for b in batches[start : start + 2])):
                assert not any(isinstance(outcome, Exception) for outcome in outcomes), outcomes
        async with db.reader.connect() as conn:
            rows = await conn.execute(sa.text("SELECT article_number, qty, version FROM property_state"))
            effects = await conn.scalar(sa.text("SELECT COUNT(DISTINCT idempotency_key) = COUNT(*) AND 1 "
                                                "FROM property_effect"))  # fmt: skip
            count = await conn.scalar(sa.text("SELECT COUNT(*) FROM property_effect"))
            assert effects == 1, "an idempotency key was applied twice"
            return {row[0]: (row[1], row[2]) for row in rows}, int(count or 0)
    finally:
        await db.dispose()


events = st.lists(st.tuples(st.sampled_from(ARTICLES), st.integers(1, 6)), min_size=1, max_size=12, unique=True)


@pytest.mark.parametrize("batched", [False, True], ids=["per-message", "batched"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=events, data=st.data())
def test_any_interleaving_equals_each_event_once_in_version_order(
    migrated_islands: dict[str, ServiceSettings], batched: bool, history: list[tuple[str, int]], data: st.DataObject
) -> None:
    settings_ = migrated_islands["webshop"]
    envelopes = [
        Envelope.wrap(
            StockAvailabilityChanged(
                article_number=article,
                sellable_qty=version * 10,
                best_price=Decimal("1.00"),
                next_delivery_date=None,
                source_batch_id="p",
                version=version,
            ),
            produced_by="stock-import",
            correlation_id="property",
        )  # fmt: skip
        for article, version in history
    ]
    duplicates = data.draw(st.lists(st.sampled_from(envelopes), max_size=10))
    deliveries = data.draw(st.permutations(envelopes + duplicates))
    state, effects = asyncio.run(apply_all(settings_, deliveries, batched))
    expected = {}
    for article, version in sorted(history, key=lambda item: item[1]):
        expected[article] = (version * 10, version)
    assert state == expected
    assert effects == len(envelopes)  # every duplicate suppressed by the inbox
