"""Sync of the vehicle data provider's file into vehicle variants and their axle fitments.

The sync is its own unit-of-work edge: it holds the island's ``vehicle_sync`` named lock and
commits one session per chunk. Only variants whose content hash changed are written: they get
``version + 1``, their fitments are replaced, a ``vehicle.variant.upserted`` goes into the outbox and
the variant is listed for the fitment recompute (``fitment_pending``), all in the chunk's
transaction; the last chunk requests the recompute (``vehicle-data.bulk``). Unchanged variants and
their fitments are not touched. Bad records are reported and skipped, good ones applied. Full and
delta files are applied the same way; variants missing from a full file are kept (withdrawing one
is not part of the provider's file).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from contracts import AxleFitment, FitmentRecomputeRequested, VehicleVariantUpserted
from foundation.bulk import (
    DEFAULT_CHUNK_SIZE,
    RowError,
    chunked,
    content_hash,
    count_lines,
    named_lock,
    utc_now,
)
from foundation.db import Database
from foundation.progress import NO_PROGRESS, Progress
from integration_sdk.outbox import Outbox
from vehicle_data.fitment import repository as fitment_repository
from vehicle_data.vehicles import repository
from vehicle_data.vehicles.models import VariantRecord
from vehicle_data.vehicles.parsing import ParsedVariant, read_variants

SyncKind = Literal["full", "delta"]


class VariantChange(NamedTuple):
    """A variant whose content changed (or that is new), with its new version."""

    vehicle_variant_id: int
    version: int


@dataclass
class VariantSyncResult:
    """What one sync did: record counts, the changed variants and the refused records."""

    kind: SyncKind
    records_total: int = 0
    records_ok: int = 0
    records_rejected: int = 0
    created: int = 0
    unchanged: int = 0
    changes: list[VariantChange] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def changed_ids(self) -> list[int]:
        """Ids of the new and changed variants, in file order."""
        return [change.vehicle_variant_id for change in self.changes]


@dataclass
class ChunkOutcome:
    """One chunk applied: its changed variants, unchanged and refused records."""

    changes: list[VariantChange]
    created: int
    unchanged: int
    errors: list[RowError]


def variant_row(variant: VariantRecord) -> dict[str, Any]:
    """The ``vehicle_variant`` row; ``content_hash`` also covers the fitments, in a stable order."""
    data = variant.model_dump(mode="json")  # normalised: trimmed text, quantised decimals as strings
    data["fitments"] = sorted(data["fitments"], key=lambda fitment: sorted(fitment.items()))
    return {**variant.model_dump(exclude={"fitments"}), "content_hash": content_hash(data)}


def variant_event(variant: VariantRecord, version: int) -> VehicleVariantUpserted:
    """The announcement of a variant's new state."""
    data = variant.model_dump(exclude={"fitments"})
    fitments = [AxleFitment(**fitment.model_dump()) for fitment in variant.fitments]
    return VehicleVariantUpserted(**data, fitments=fitments, version=version)


async def apply_chunk(
    session: AsyncSession, outbox: Outbox, lines: list[ParsedVariant], first_line_of: dict[int, int]
) -> ChunkOutcome:
    """Write a chunk's new and changed variants with their fitments, events and pending recomputes."""
    errors = [error for line in lines for error in line.errors]
    variants: dict[int, VariantRecord] = {}
    for line in lines:
        if line.variant is None:
            continue
        variant_id = line.variant.vehicle_variant_id
        if (first := first_line_of.setdefault(variant_id, line.line_no)) != line.line_no:
            reason = f"duplicate of line {first}"
            errors.append(RowError(line.line_no, "vehicle_variant_id", str(variant_id), reason, str(variant_id)))
        else:
            variants[variant_id] = line.variant

    now = utc_now()
    split = await repository.save_variants(
        session, [{**variant_row(variant), "updated_at": now} for variant in variants.values()]
    )
    written = [row["vehicle_variant_id"] for row in split.written]
    fitments = [
        {"vehicle_variant_id": variant_id, **fitment.model_dump()}
        for variant_id in written
        for fitment in variants[variant_id].fitments
    ]
    await repository.replace_fitments(session, written, fitments)
    changes = [VariantChange(row["vehicle_variant_id"], row["version"]) for row in split.written]
    if changes:
        await outbox.add_many(session, [variant_event(variants[c.vehicle_variant_id], c.version) for c in changes])
        await fitment_repository.add_pending(await session.connection(), fitment_repository.VEHICLE, written)
    return ChunkOutcome(changes, split.created, split.unchanged, errors)


async def sync_variants(
    db: Database,
    outbox: Outbox,
    path: Path,
    kind: SyncKind = "full",
    progress: Progress = NO_PROGRESS,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> VariantSyncResult:
    """Validate and apply a vehicle sync file (full or delta); bad records are reported, good ones applied."""
    result = VariantSyncResult(kind)
    task = progress.task(f"vehicle variants ({kind})", total=count_lines(path))
    first_line_of: dict[int, int] = {}
    async with db.writer.connect() as lock_conn, named_lock(lock_conn, "vehicle_sync"):
        for chunk in chunked(read_variants(path), chunk_size):
            async with db.sessions.begin() as session:
                outcome = await apply_chunk(session, outbox, chunk, first_line_of)
            rejected = len({error.line_no for error in outcome.errors})
            result.records_total += len(chunk)
            result.records_rejected += rejected
            result.records_ok += len(chunk) - rejected
            result.created += outcome.created
            result.unchanged += outcome.unchanged
            result.changes.extend(outcome.changes)
            result.errors.extend(outcome.errors)
            task.advance(len(chunk))
        if result.changes:
            async with db.sessions.begin() as session:
                await outbox.add(session, FitmentRecomputeRequested(request_id=uuid.uuid4().hex, reason="vehicle sync"))
    return result
