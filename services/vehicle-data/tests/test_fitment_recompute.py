"""The fitment recompute against the real MariaDB: projection == reference, incremental == full."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fitment_world import article_event, drain, generated, publish_articles, snapshot, sync, variant_ids
from sqlalchemy.exc import OperationalError

from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk.outbox import Outbox
from integration_sdk.testing import truncate_tables
from vehicle_data.fitment import recompute
from vehicle_data.fitment import repository as repo
from vehicle_data.fitment.derived import axles_of
from vehicle_data.fitment.reference import projected_for_axle, reference_for_axle


@pytest.fixture
def outbox(migrated_islands: dict[str, ServiceSettings]) -> Outbox:
    return Outbox(migrated_islands["vehicle-data"])


@pytest.fixture
async def db(migrated_islands: dict[str, ServiceSettings]) -> AsyncIterator[Database]:
    settings = migrated_islands["vehicle-data"]
    await truncate_tables(settings)
    database = Database.from_settings(settings)
    yield database
    await database.dispose()


async def assert_projection_matches_reference(db: Database) -> dict[str, int]:
    """Every variant, axle and type: the projection's answer is the rules' answer; (article, axle) pairs per type."""
    compared = {"tyre": 0, "wheel": 0}
    async with db.reader.connect() as conn:
        ids = await variant_ids(db)
        sources = await repo.variants_with_fitments(conn, ids)
        for variant_id in ids:
            for axle in axles_of(*sources[variant_id]):
                for product_type in ("tyre", "wheel"):
                    projected = await projected_for_axle(conn, variant_id, product_type, axle)
                    reference = await reference_for_axle(conn, variant_id, product_type, axle)
                    assert projected == reference, (variant_id, axle, product_type)
                    compared[product_type] += len(reference)
    return compared


async def test_generated_world_projection_equals_reference(db: Database, outbox: Outbox, tmp_path: Path) -> None:
    variants, articles = generated(seed=5, variants=40, tyres=3_000, wheels=2_000)
    await sync(db, outbox, tmp_path, variants)
    await publish_articles(db, outbox, [article_event(a) for a in articles])
    report = await drain(db, outbox)

    assert report.vehicles == 40
    compared = await assert_projection_matches_reference(db)
    assert compared["tyre"] > 500, compared  # the world is not trivially empty
    assert compared["wheel"] > 300, compared
    rows = await snapshot(db)
    assert rows["product_vehicle_mappings"], "some wheels fit"


async def test_chains_running_at_once_build_what_the_rules_say(
    db: Database, outbox: Outbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker runs several recompute requests at once (a catalogue load sends one per batch): their
    # steps claim disjoint work, wait on each other where it overlaps, and a deadlocked step is rerun.
    monkeypatch.setattr(recompute, "VEHICLE_CHUNK", 4)
    variants, articles = generated(seed=7, variants=40, tyres=3_000, wheels=2_000)
    await sync(db, outbox, tmp_path, variants)
    await publish_articles(db, outbox, [article_event(a) for a in articles])
    report = await drain(db, outbox, chains=3, fold_above=500)
    assert report.vehicles >= 40
    # each article taken once: folded into its variants, or (the last few) recomputed on its own
    assert report.articles_folded + report.articles == len(articles)
    async with db.reader.connect() as conn:
        assert await repo.pending_counts(conn) == {repo.VEHICLE: 0, repo.ARTICLE: 0}
    compared = await assert_projection_matches_reference(db)
    assert compared["wheel"] > 300, compared


async def test_the_bucket_guard_is_waited_for_past_the_statement_limit(
    migrated_islands: dict[str, ServiceSettings],
) -> None:
    # A catalogue fold holds the guard exclusively for longer than the statement limit; the recomputes
    # queued behind it wait (bounded by the lock wait), rather than being killed and requeued.
    settings = migrated_islands["vehicle-data"].model_copy(update={"db_statement_timeout_s": 0.5})
    await truncate_tables(settings)
    db = Database.from_settings(settings)
    try:
        async with db.writer.connect() as holder, db.writer.connect() as waiter:
            await repo.guard_product_buckets(holder, exclusive=True)  # writes the emptied table's row too
            await holder.commit()
            await repo.guard_product_buckets(holder, exclusive=True)
            waiting = asyncio.create_task(repo.guard_product_buckets(waiter, exclusive=False))
            await asyncio.sleep(1.5)  # three statement limits
            assert not waiting.done(), "the shared guard did not wait for the exclusive holder"
            await holder.commit()
            await asyncio.wait_for(waiting, 5)  # granted once the holder commits: no error
            await waiter.commit()

            await repo.guard_product_buckets(holder, exclusive=True)
            started = time.monotonic()
            with pytest.raises(OperationalError) as failed:
                await repo.guard_product_buckets(waiter, exclusive=False, wait_s=1)
            assert failed.value.orig.args[0] == 1205, failed.value  # lock wait timeout: the recompute is retried
            assert time.monotonic() - started >= 0.9
            await holder.rollback()
    finally:
        await db.dispose()
