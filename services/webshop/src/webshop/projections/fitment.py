"""Fitment replica: vehicle variants and what fits them, from vehicle-data's events.

- ``vehicle.variant.upserted`` → ``vehicle_variant`` (the vehicle selector), newest version wins.
- ``fitment.mapping.changed`` → ``vehicle_tyre_fitment`` (tyre sizes per axle), ``vehicle_tyre_exclusion``
  and ``product_vehicle_mappings`` (wheels, included tyres). A full state (``replace``) applies when it is
  newer than what was applied; a change applies only right after its predecessor (``applied_version``
  stream ``fitment``, checked and raised in the batch's transaction). A change that arrives before its
  predecessor (a retry overtook it) fails with a transient error and is retried after the first tier;
  by then the predecessor has applied. The events of a batch are folded per variant first, so a burst
  of changes to one variant costs one write per table.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import Envelope, FitmentMappingChanged, VehicleVariantUpserted
from foundation.bulk import chunked, insert_rows, utc_now
from integration_sdk.consumer import BatchContext, Batched
from integration_sdk.errors import TransientError
from integration_sdk.replicas import versioned_upsert
from integration_sdk.versioning import locked_applied_versions, record_applied
from webshop.projections.committed import after_projection_commit
from webshop.tables import product_vehicle_mappings, vehicle_tyre_exclusion, vehicle_tyre_fitment, vehicle_variant
from webshop.wheel_sets.recompute import request_recompute

STREAM = "fitment"
VARIANT_STREAM = "vehicle"


def variant_row(event: VehicleVariantUpserted) -> dict[str, Any]:
    """The selector's row of a variant."""
    row = event.model_dump(
        include={"vehicle_variant_id", "make", "model", "generation", "variant_name", "year_from", "year_to", "engine",
                 "body", "drive", "bolt_count", "pcd", "hub_bore", "tpms_type", "is_staggered", "version"}
    )  # fmt: skip
    return {**row, "fitments": event.model_dump(mode="json")["fitments"], "updated_at": utc_now()}


@dataclass
class NetChange:
    """What a batch's events of one variant amount to: a full state, or a change of the stored one."""

    replace: bool = False
    tyre_sizes: list[dict[str, Any]] | None = None
    exclusions: list[dict[str, Any]] | None = None
    upserted: dict[str, dict[str, Any]] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    computed_at: datetime | None = None

    def fold(self, event: FitmentMappingChanged, occurred_at: datetime) -> None:
        """Apply the next event of the variant on top."""
        if event.replace:
            self.replace, self.upserted, self.removed = True, {}, set()
        variant_id = event.vehicle_variant_id
        if event.tyre_sizes is not None:
            self.tyre_sizes = [{"vehicle_variant_id": variant_id, **size.model_dump()} for size in event.tyre_sizes]
        if event.tyre_exclusions is not None:
            self.exclusions = [{"vehicle_variant_id": variant_id, **e.model_dump()} for e in event.tyre_exclusions]
        for number in event.mappings_removed:
            self.upserted.pop(number, None)
            self.removed.add(number)
        for number, product_type, position, is_oe, score in event.mappings_upserted:
            self.removed.discard(number)
            self.upserted[number] = {"vehicle_variant_id": variant_id, "article_number": number,
                                     "product_type": product_type, "position": position,
                                     "is_original_equipment": is_oe, "match_score": score}  # fmt: skip
        self.computed_at = occurred_at


def plan(
    items: list[tuple[FitmentMappingChanged, Envelope]], applied: dict[str, int]
) -> tuple[dict[int, NetChange], dict[str, int]]:
    """Per variant the net change to write and the version it reaches; a gap in a sequence raises."""
    by_variant: dict[int, list[tuple[FitmentMappingChanged, Envelope]]] = defaultdict(list)
    for event, envelope in items:
        by_variant[event.vehicle_variant_id].append((event, envelope))
    changes: dict[int, NetChange] = {}
    reached: dict[str, int] = {}
    for variant_id, events in by_variant.items():
        version = applied.get(str(variant_id), 0)
        net = NetChange()
        for event, envelope in sorted(events, key=lambda item: item[0].version):
            if event.version <= version:
                continue  # applied already (a redelivery or a replay)
            if not event.replace and event.version != version + 1:
                raise TransientError(
                    f"fitment of variant {variant_id}: version {event.version} arrived before {version + 1}"
                )
            net.fold(event, envelope.occurred_at.replace(tzinfo=None))
            version = event.version
        if net.computed_at is not None:
            changes[variant_id] = net
            reached[str(variant_id)] = version
    return changes, reached


async def _replace_rows(
    session: AsyncSession, table: sa.Table, variant_ids: list[int], rows: list[dict[str, Any]]
) -> None:
    for chunk in chunked(variant_ids, 1_000):
        await session.execute(sa.delete(table).where(table.c.vehicle_variant_id.in_(chunk)))
    for chunk_rows in chunked(rows, 20_000):
        await insert_rows(session, table, chunk_rows)


async def write_changes(session: AsyncSession, changes: dict[int, NetChange]) -> None:
    """Write the net changes of many variants with a few multi-row statements per table."""
    now = utc_now()
    replaced = sorted(v for v, c in changes.items() if c.replace)
    for chunk in chunked(replaced, 1_000):
        await session.execute(
            sa.delete(product_vehicle_mappings).where(product_vehicle_mappings.c.vehicle_variant_id.in_(chunk))
        )
    tyres = sorted(v for v, c in changes.items() if c.tyre_sizes is not None)
    await _replace_rows(session, vehicle_tyre_fitment, tyres, [
        {**row, "computed_at": changes[v].computed_at or now} for v in tyres for row in changes[v].tyre_sizes or []
    ])  # fmt: skip
    excluded = sorted(v for v, c in changes.items() if c.exclusions is not None)
    await _replace_rows(
        session, vehicle_tyre_exclusion, excluded, [row for v in excluded for row in changes[v].exclusions or []]
    )
    pvm = product_vehicle_mappings
    for variant_id, change in changes.items():
        for numbers in chunked(sorted(change.removed), 1_000):
            await session.execute(
                sa.delete(pvm).where(pvm.c.vehicle_variant_id == variant_id, pvm.c.article_number.in_(numbers))
            )
    rows = [
        {**row, "computed_at": change.computed_at or now}
        for change in changes.values()
        for row in change.upserted.values()
    ]
    update = ("product_type", "position", "is_original_equipment", "match_score", "computed_at")
    for chunk_rows in chunked(rows, 20_000):
        await insert_rows(session, pvm, chunk_rows, update=update)


async def apply_fitment(items: list[tuple[FitmentMappingChanged, Envelope]], context: BatchContext) -> None:
    """Apply a batch of fitment changes in version sequence, per variant."""
    applied = await locked_applied_versions(context.session, STREAM, {str(e.vehicle_variant_id) for e, _ in items})
    changes, reached = plan(items, applied)
    if not changes:
        return
    await write_changes(context.session, changes)
    await record_applied(context.session, STREAM, reached)
    envelopes = [envelope for _, envelope in items]
    await request_recompute(context, envelopes, variant_ids=changes)
    after_projection_commit(context, "fitment", envelopes, search_changed=False)


_upsert_variants = versioned_upsert(vehicle_variant, VARIANT_STREAM, variant_row)


async def apply_variants(items: list[tuple[VehicleVariantUpserted, Envelope]], context: BatchContext) -> None:
    """The selector's rows; the variants' sets are composed again (TPMS need, drive, staggering may change)."""
    await _upsert_variants.apply(items, context)
    await request_recompute(context, [e for _, e in items], variant_ids=[v.vehicle_variant_id for v, _ in items])


HANDLERS = {
    "vehicle.variant.upserted": Batched(apply_variants),
    "fitment.mapping.changed": Batched(apply_fitment),
}
