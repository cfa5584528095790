"""The webshop's fitment replica through the real consumer path: full states, changes in sequence, gaps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from contracts import Envelope, FitmentMapping, FitmentMappingChanged, TyreExclusion, TyreSizeFitment
from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk.consumer import Consumer
from integration_sdk.errors import TransientError
from integration_sdk.outbox import Outbox
from integration_sdk.testing import truncate_tables
from integration_sdk.topology import BULK
from webshop.projections import fitment
from webshop.tables import product_vehicle_mappings, vehicle_tyre_exclusion, vehicle_tyre_fitment

SIZE = TyreSizeFitment(axle="both", width=205, aspect=55, rim_diameter=16, base_score=100, is_original_equipment=True,
                       min_load_index=88, reference_speed_rating="V", reference_run_flat=False)  # fmt: skip


def wheel(number: str, score: int = 100) -> FitmentMapping:
    return (number, "wheel", "both", False, score)


def change(version: int, key: str | None = None, **fields: Any) -> Envelope:
    event = FitmentMappingChanged(vehicle_variant_id=7, version=version, **fields)
    return Envelope.wrap(event, produced_by="vehicle-data", correlation_id="t", idempotency_key=key)


def full(version: int, *wheels: FitmentMapping, sizes: tuple[TyreSizeFitment, ...] = (SIZE,)) -> Envelope:
    return change(version, replace=True, tyre_sizes=list(sizes), tyre_exclusions=[], mappings_upserted=list(wheels))


@pytest.fixture
async def consumer(migrated_islands: dict[str, ServiceSettings]) -> AsyncIterator[tuple[Consumer, Database]]:
    settings = migrated_islands["webshop"]
    await truncate_tables(settings)
    db = Database.from_settings(settings)
    yield Consumer(settings=settings, queue_class=BULK, handlers=fitment.HANDLERS, sessions=db.sessions,
                   outbox=Outbox(settings)), db  # fmt: skip
    await db.dispose()


async def replica(db: Database) -> dict[str, Any]:
    async with db.reader.connect() as conn:
        pvm = product_vehicle_mappings
        mappings = {row[0]: row[1] for row in await conn.execute(sa.select(pvm.c.article_number, pvm.c.match_score))}
        sizes = {
            tuple(row)
            for row in await conn.execute(
                sa.select(
                    vehicle_tyre_fitment.c.width, vehicle_tyre_fitment.c.aspect, vehicle_tyre_fitment.c.rim_diameter
                )
            )
        }
        exclusions = {row[0] for row in await conn.execute(sa.select(vehicle_tyre_exclusion.c.article_number))}
    return {"mappings": mappings, "sizes": sizes, "exclusions": exclusions}  # fmt: skip


async def test_full_state_then_changes_in_sequence(consumer: tuple[Consumer, Database]) -> None:
    worker, db = consumer
    assert await worker.apply_batch([full(1, wheel("W1"), wheel("W2", 90))]) == [True]
    # two changes in one batch fold into one write; the second overrides the first for W2
    other_size = SIZE.model_copy(update={"width": 215})
    batch = [change(2, replace=False, mappings_upserted=[wheel("W3", 80)], mappings_removed=["W2"]),
             change(3, replace=False, mappings_upserted=[wheel("W2", 72)], tyre_sizes=[SIZE, other_size],
                    tyre_exclusions=[TyreExclusion(axle="both", article_number="T9")])]  # fmt: skip
    assert await worker.apply_batch(batch) == [True, True]
    assert await replica(db) == {"mappings": {"W1": 100, "W2": 72, "W3": 80},
                                 "sizes": {(205, 55, 16), (215, 55, 16)}, "exclusions": {"T9"}}  # fmt: skip
    # redeliveries are duplicates for the inbox; the same versions under other keys are stale for the replica
    stale = [change(2, replace=False, mappings_removed=["W1"]), full(1, wheel("W9"))]
    assert await worker.apply_batch(stale) == [False, False]
    rekeyed = [change(2, "other-2", replace=False, mappings_removed=["W1"]),
               change(1, "other-1", replace=True, tyre_sizes=[], tyre_exclusions=[])]  # fmt: skip
    assert await worker.apply_batch(rekeyed) == [True, True]
    assert (await replica(db))["mappings"] == {"W1": 100, "W2": 72, "W3": 80}
    # a newer full state replaces everything, whatever was there
    assert await worker.apply_batch([full(9, wheel("W5"))]) == [True]
    assert await replica(db) == {"mappings": {"W5": 100}, "sizes": {(205, 55, 16)}, "exclusions": set()}


async def test_a_change_before_its_predecessor_waits_for_it(consumer: tuple[Consumer, Database]) -> None:
    worker, db = consumer
    await worker.apply_batch([full(1, wheel("W1"))])
    early = change(3, replace=False, mappings_removed=["W1"])
    [outcome] = await worker.apply_batch([early])  # version 2 has not arrived yet
    assert isinstance(outcome, TransientError)
    assert "version 3 arrived before 2" in str(outcome)
    assert (await replica(db))["mappings"] == {"W1": 100}
    # the predecessor arrives; the retried change then applies (its inbox claim was released)
    assert await worker.apply_batch([change(2, replace=False, mappings_upserted=[wheel("W2")])]) == [True]
    assert await worker.apply_batch([early]) == [True]
    assert (await replica(db))["mappings"] == {"W2": 100}
