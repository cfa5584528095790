"""Write-side SQL of vehicle variants and their axle fitments."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.bulk import VersionedSplit, split_changed, upsert
from vehicle_data.tables import vehicle_axle_fitment, vehicle_variant


async def save_variants(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> VersionedSplit:
    """Write the new and changed ones of ``rows`` (by content hash) with their next version."""
    split = await split_changed(session, vehicle_variant, "vehicle_variant_id", rows)
    await upsert(session, vehicle_variant, split.written)
    return split


async def replace_fitments(
    session: AsyncSession, variant_ids: Collection[int], fitments: Sequence[dict[str, Any]]
) -> None:
    """Swap the axle fitments of ``variant_ids`` for ``fitments``."""
    if variant_ids:
        await session.execute(
            delete(vehicle_axle_fitment).where(vehicle_axle_fitment.c.vehicle_variant_id.in_(variant_ids))
        )
    if fitments:
        await session.execute(insert(vehicle_axle_fitment), list(fitments))
