"""Reconcile and rebuild of the webshop's fitment replica against vehicle-data's real API.

vehicle-data is filled through its own paths (vehicle sync, catalogue handler, recompute) and served
in-process; the webshop's replica starts from vehicle-data's announcements applied by its consumer.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from contracts import ArticleUpserted, Envelope, VehicleVariantUpserted
from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk.consumer import BatchContext, Consumer
from integration_sdk.outbox import OUTBOX, Outbox
from integration_sdk.testing import serve, truncate_tables, wait_until_ready
from integration_sdk.topology import BULK
from vehicle_data import product_specs
from vehicle_data.app import create_app as vehicle_app
from vehicle_data.fitment.recompute import process_pending
from vehicle_data.vehicles.service import sync_variants
from webshop.projections import fitment
from webshop.projections.fitment_maintenance import FitmentSource, FitmentSourceError, rebuild, reconcile
from webshop.settings import WebshopSettings
from webshop.tables import (
    product_vehicle_mappings,
    projection_job_checkpoint,
    vehicle_tyre_fitment,
    wheel_set_component_index,
    wheel_set_projection,
)
from webshop.wheel_sets.reference import reference_sets
from webshop.worker import MESSAGING

VARIANTS = 7


def record(variant_id: int) -> dict[str, Any]:
    sizes = [(205, 55, 16, "6.5"), (225, 45, 17, "7.5"), (195, 65, 15, "6.0")]
    width, aspect, rim, rim_width = sizes[variant_id % 3]
    return {"vehicle_variant_id": variant_id, "make": "Volkswagen", "model": "Golf", "generation": "G",
            "variant_name": f"V{variant_id}", "year_from": 2019, "engine": "E", "body": "hatchback", "drive": "fwd",
            "bolt_count": 5, "pcd": "112.0", "hub_bore": "57.1", "offset_min": 35, "offset_max": 50,
            "fastener": "bolt", "thread": "M14x1.5", "axle_load_front_kg": 1000, "axle_load_rear_kg": 950,
            "tpms_type": "none", "is_staggered": False,
            "fitments": [{"axle": "both", "fitment_kind": "oe", "tyre_width": width, "tyre_aspect": aspect,
                          "rim_diameter": rim, "wheel_width": rim_width, "wheel_offset": 45, "load_index": 91,
                          "speed_rating": "V"}]}  # fmt: skip


def wheel(n: int, diameter: int, width: str) -> ArticleUpserted:
    return ArticleUpserted(article_number=f"WH{n:03d}", article_type="wheel", brand="B", model="M", description="d",
                           list_price="120.00", version=1, bolt_count=5, pcd="112.0", wheel_diameter=diameter,
                           wheel_width=width, offset=40 + n % 8, center_bore="57.1", wheel_load_kg=690)  # fmt: skip


@pytest.fixture
async def source(migrated_islands: dict[str, ServiceSettings], tmp_path: Path) -> AsyncIterator[FitmentSource]:
    settings = migrated_islands["vehicle-data"]
    await truncate_tables(settings)
    await truncate_tables(migrated_islands["webshop"])
    db, outbox = Database.from_settings(settings), Outbox(settings)
    try:
        path = tmp_path / "variants.jsonl"
        path.write_text("".join(json.dumps(record(n)) + "\n" for n in range(1, VARIANTS + 1)))
        await sync_variants(db, outbox, path)
        events = [wheel(n, (15, 16, 17)[n % 3], ("6.0", "6.5", "7.5")[n % 3]) for n in range(30)]
        async with db.sessions.begin() as session:
            items = [(e, Envelope.wrap(e, produced_by="erp-middleware", correlation_id="t")) for e in events]
            await product_specs.apply_upserts(items, BatchContext(session, outbox))
        more = True
        while more:
            async with db.sessions.begin() as session:
                _, more = await process_pending(session, outbox)
        async with db.reader.connect() as conn:
            bodies = list(await conn.scalars(sa.select(OUTBOX.c.body).where(
                OUTBOX.c.message_type == "fitment.mapping.changed").order_by(OUTBOX.c.id)))  # fmt: skip
    finally:
        await db.dispose()
    shop = migrated_islands["webshop"]
    assert isinstance(shop, WebshopSettings)
    shop_db = Database.from_settings(shop)
    consumer = Consumer(settings=shop, queue_class=BULK, handlers=fitment.HANDLERS, sessions=shop_db.sessions,
                        outbox=Outbox(shop))  # fmt: skip
    assert all(o is True for o in await consumer.apply_batch([Envelope.from_bytes(b) for b in bodies]))
    await shop_db.dispose()
    async with serve(vehicle_app(settings)) as client:
        assert (await wait_until_ready(client)).status_code == 200
        yield FitmentSource.from_settings(shop, client)


@pytest.fixture
async def db(migrated_islands: dict[str, ServiceSettings]) -> AsyncIterator[Database]:
    database = Database.from_settings(migrated_islands["webshop"])
    yield database
    await database.dispose()


async def replica(db: Database) -> dict[str, set[tuple[Any, ...]]]:
    pvm, fit = product_vehicle_mappings, vehicle_tyre_fitment
    mappings = sa.select(pvm.c.vehicle_variant_id, pvm.c.article_number, pvm.c.match_score)
    tyres = sa.select(fit.c.vehicle_variant_id, fit.c.width, fit.c.aspect, fit.c.rim_diameter, fit.c.base_score)
    async with db.reader.connect() as conn:
        return {"mappings": {tuple(r) for r in await conn.execute(mappings)},
                "tyres": {tuple(r) for r in await conn.execute(tyres)}}  # fmt: skip


async def execute(db: Database, *statements: Any) -> None:
    async with db.sessions.begin() as session:
        for statement in statements:
            await session.execute(statement)


async def test_reconcile_finds_and_fixes_injected_drift(db: Database, source: FitmentSource) -> None:
    truth = await replica(db)
    assert truth["mappings"], "wheels fit some variants"
    clean = await reconcile(db, source)
    assert (clean.checked, clean.missing, clean.differing, clean.fixed) == (VARIANTS, 0, 0, 0)

    pvm, fit = product_vehicle_mappings, vehicle_tyre_fitment
    victim = min(row for row in truth["mappings"] if row[0] not in (2, 3))  # a third variant
    await execute(
        db,
        sa.delete(pvm).where(pvm.c.vehicle_variant_id == victim[0], pvm.c.article_number == victim[1]),  # lost row
        sa.update(fit).where(fit.c.vehicle_variant_id == 2).values(base_score=1),  # changed rows
        sa.delete(fit).where(fit.c.vehicle_variant_id == 3),  # a variant's tyres gone
    )
    report = await reconcile(db, source)
    assert (report.checked, report.differing, report.fixed, report.newer_applied) == (VARIANTS, 3, 3, 0)
    assert await replica(db) == truth
    async with db.reader.connect() as conn:
        stored = await conn.scalar(sa.select(projection_job_checkpoint.c.last_success_cursor)
                                   .where(projection_job_checkpoint.c.job_name == report.job_name))  # fmt: skip
    assert json.loads(stored or "{}")["fixed"] == 3


async def test_a_killed_rebuild_resumes_after_its_last_committed_page(db: Database, source: FitmentSource) -> None:
    truth = await replica(db)
    await truncate_tables_of(db)
    first = await rebuild(db, source, page_size=3, max_pages=1)  # killed after one page
    assert (first.variants, first.finished) == (3, False)
    second = await rebuild(db, source, page_size=3)
    assert (second.resumed_after, second.variants, second.finished) == (3, VARIANTS - 3, True)
    assert await replica(db) == truth
    again = await rebuild(db, source, page_size=3)  # a finished job starts over
    assert (again.resumed_after, again.variants, again.written) == (None, VARIANTS, VARIANTS)


async def test_rebuild_of_a_variant_and_of_a_bucket(db: Database, source: FitmentSource) -> None:
    truth = await replica(db)
    await truncate_tables_of(db)
    one = await rebuild(db, source, "4")
    assert (one.variants, one.written) == (1, 1)
    assert {row[0] for row in (await replica(db))["tyres"]} == {4}
    bucket = await rebuild(db, source, "bucket:205:55:16:both")  # the variants on 205/55 R16: 3 and 6
    assert (bucket.variants, bucket.written) == (2, 2)
    assert {row[0] for row in (await replica(db))["tyres"]} == {3, 4, 6}
    assert (await rebuild(db, source, "999")).not_found == 1
    assert truth["tyres"] >= (await replica(db))["tyres"]


async def test_clear_errors_for_a_refused_token_or_an_unreachable_vehicle_data(source: FitmentSource) -> None:
    wrong = FitmentSource("unused", "not-the-token", source.client)
    with pytest.raises(FitmentSourceError, match="refused the operator token .* WEBSHOP_VEHICLE_DATA_TOKEN"):
        await wrong.snapshot(1)
    async with FitmentSource("http://127.0.0.1:9", "t", timeout_s=2) as nowhere:
        with pytest.raises(FitmentSourceError, match="unreachable at http://127.0.0.1:9"):
            await nowhere.snapshot(1)


async def truncate_tables_of(db: Database) -> None:
    """Empty the replica and its applied versions (a restored backup without them)."""
    async with db.writer.begin() as conn:
        for table in ("product_vehicle_mappings", "vehicle_tyre_fitment", "vehicle_tyre_exclusion"):
            await conn.execute(sa.text(f"DELETE FROM {table}"))
        await conn.execute(sa.text("DELETE FROM applied_version WHERE stream = 'fitment'"))


async def test_a_repaired_variant_gets_its_wheel_sets_composed_again(
    db: Database, source: FitmentSource, migrated_islands: dict[str, ServiceSettings]
) -> None:
    settings = migrated_islands["webshop"]
    shop = Consumer(settings=settings, queue_class=BULK, handlers=MESSAGING.handlers[BULK], sessions=db.sessions,
                    outbox=Outbox(settings))  # fmt: skip
    tyre = ArticleUpserted(article_number="TY-225", article_type="tyre", brand="B", model="M", description="d",
                           list_price="90.00", version=1, width=225, aspect=45, rim_diameter=17, load_index=94,
                           speed_rating="W", season="summer")  # fmt: skip
    events = [*(wheel(n, (15, 16, 17)[n % 3], ("6.0", "6.5", "7.5")[n % 3]) for n in range(30)), tyre,
              VehicleVariantUpserted(**record(4), version=1)]  # variant 4 takes 225/45 R17  # fmt: skip
    assert all(o is True for o in await shop.apply_batch(
        [Envelope.wrap(e, produced_by="t", correlation_id="t") for e in events]))  # fmt: skip
    await execute(db, sa.delete(wheel_set_component_index), sa.delete(wheel_set_projection))

    assert (await rebuild(db, source, "4")).written == 1

    async with db.reader.connect() as conn:
        stored = {row.set_key for row in await conn.execute(sa.select(wheel_set_projection.c.set_key))}
        expected = {p.wheel_set.set_key for p in await reference_sets(conn, 4)}
    assert stored
    assert stored == expected
