"""Fitment replica maintenance: reconcile it with vehicle-data's fitment, or rebuild it from it.

Events keep the replica current (``webshop.projections.fitment``); these jobs repair it when that went
wrong (a change dead-lettered, a restored backup, a new environment). The source is vehicle-data's API:
``GET /api/v1/fitment/versions`` (variants with their fitment version, by id, optionally changed since
a time), ``GET /api/v1/vehicles/{id}/fitment`` (one variant's full fitment at a version, read in one
snapshot) and ``GET /api/v1/fitment/buckets/{bucket}`` (the variants of a bucket). A snapshot is written
as a full state under the replica's version guard: it lands where its version is at least the applied
one and raises the applied version, so changes that follow it apply in sequence, and a newer change
that already arrived is never overwritten. The variant's wheel sets are composed again in the same
transaction.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.bulk import named_lock, utc_now
from foundation.db import Database
from foundation.progress import NO_PROGRESS, Progress
from integration_sdk.versioning import locked_applied_versions, record_applied
from webshop.projections.fitment import STREAM, NetChange, write_changes
from webshop.projections.jobs import (
    DONE,
    RECONCILE_MARKER,
    RUNNING,
    IslandSource,
    SourceError,
    resume_cursor,
    save_checkpoint,
)
from webshop.settings import WebshopSettings
from webshop.tables import product_vehicle_mappings, vehicle_tyre_exclusion, vehicle_tyre_fitment
from webshop.wheel_sets.recompute import recompose

PAGE_SIZE = 200
TYRE_FIELDS = ("axle", "width", "aspect", "rim_diameter", "base_score", "is_original_equipment", "min_load_index",
               "reference_speed_rating", "reference_run_flat")  # fmt: skip
MAPPING_FIELDS = ("article_number", "product_type", "position", "is_original_equipment", "match_score")


class FitmentSourceError(SourceError):
    """vehicle-data could not be read (unreachable, token refused, unexpected answer): nothing more was written."""


@dataclass(frozen=True)
class Snapshot:
    """One variant's fitment as vehicle-data announced it, at ``version``."""

    vehicle_variant_id: int
    version: int
    tyre_sizes: frozenset[tuple[Any, ...]]
    exclusions: frozenset[tuple[str, str]]
    mappings: frozenset[tuple[Any, ...]]

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Snapshot:
        """From ``GET /api/v1/vehicles/{id}/fitment``."""
        return cls(
            body["vehicle_variant_id"], body["version"],
            frozenset(tuple(size[name] for name in TYRE_FIELDS) for size in body["tyre_sizes"]),
            frozenset((e["axle"], e["article_number"]) for e in body["tyre_exclusions"]),
            frozenset(tuple(m[name] for name in MAPPING_FIELDS) for m in body["mappings"]),
        )  # fmt: skip

    def change(self) -> NetChange:
        """The snapshot as a full state for the replica's writer."""
        variant = self.vehicle_variant_id
        return NetChange(
            replace=True,
            tyre_sizes=[{"vehicle_variant_id": variant, **dict(zip(TYRE_FIELDS, row, strict=True))}
                        for row in sorted(self.tyre_sizes)],
            exclusions=[{"vehicle_variant_id": variant, "axle": axle, "article_number": article}
                        for axle, article in sorted(self.exclusions)],
            upserted={row[0]: {"vehicle_variant_id": variant, **dict(zip(MAPPING_FIELDS, row, strict=True))}
                      for row in self.mappings},
            computed_at=utc_now(),
        )  # fmt: skip


class FitmentSource(IslandSource):
    """Client of vehicle-data's fitment API."""

    island = "vehicle-data"
    setting = "WEBSHOP_VEHICLE_DATA"
    error = FitmentSourceError

    @classmethod
    def from_settings(cls, settings: WebshopSettings, client: httpx.AsyncClient | None = None) -> FitmentSource:
        """The source configured by ``WEBSHOP_VEHICLE_DATA_URL`` and ``WEBSHOP_VEHICLE_DATA_TOKEN``."""
        return cls(settings.vehicle_data_url, settings.vehicle_data_token.get_secret_value(), client)

    async def variant_pages(
        self, after: int = 0, changed_since: datetime | None = None, limit: int = PAGE_SIZE
    ) -> AsyncIterator[list[int]]:
        """Pages of variant ids (those whose fitment changed since ``changed_since``), by id after ``after``."""
        while True:
            params: dict[str, Any] = {"after": after, "limit": limit}
            if changed_since is not None:
                params["changed_since"] = changed_since.astimezone(UTC).replace(tzinfo=None).isoformat()
            body = await self.get("/api/v1/fitment/versions", params)
            assert body is not None
            ids = [item["vehicle_variant_id"] for item in body["items"]]
            yield ids
            if body["next_after"] is None:
                return
            after = body["next_after"]

    async def bucket_variants(self, bucket: str) -> list[int]:
        """Every variant with an axle in a tyre or wheel bucket."""
        found, after = [], 0
        while True:
            body = await self.get(f"/api/v1/fitment/buckets/{bucket}", {"after": after, "limit": 5_000})
            assert body is not None
            found += body["vehicles"]
            if body["next_after"] is None:
                return found
            after = body["next_after"]

    async def snapshot(self, vehicle_variant_id: int) -> Snapshot | None:
        """One variant's fitment, or None if vehicle-data has no such variant."""
        body = await self.get(f"/api/v1/vehicles/{vehicle_variant_id}/fitment", missing_ok=True)
        return None if body is None else Snapshot.from_json(body)


async def replica_of(session: AsyncSession, vehicle_variant_id: int) -> Snapshot:
    """The replica's rows of one variant, shaped like a snapshot (version: the applied one)."""
    applied = (await locked_applied_versions(session, STREAM, [str(vehicle_variant_id)]))[str(vehicle_variant_id)]
    tyres = await session.execute(sa.select(*(vehicle_tyre_fitment.c[name] for name in TYRE_FIELDS))
                                  .where(vehicle_tyre_fitment.c.vehicle_variant_id == vehicle_variant_id))  # fmt: skip
    exclusions = await session.execute(
        sa.select(vehicle_tyre_exclusion.c.axle, vehicle_tyre_exclusion.c.article_number)
        .where(vehicle_tyre_exclusion.c.vehicle_variant_id == vehicle_variant_id)
    )  # fmt: skip
    pvm = product_vehicle_mappings
    mappings = await session.execute(sa.select(*(pvm.c[name] for name in MAPPING_FIELDS))
                                     .where(pvm.c.vehicle_variant_id == vehicle_variant_id))  # fmt: skip
    return Snapshot(vehicle_variant_id, applied, frozenset(tuple(r) for r in tyres),
                    frozenset((r[0], r[1]) for r in exclusions), frozenset(tuple(r) for r in mappings))  # fmt: skip


async def write_guarded(session: AsyncSession, snapshot: Snapshot) -> bool:
    """Write a snapshot as the variant's full state if its version is at least the applied one."""
    applied = await locked_applied_versions(session, STREAM, [str(snapshot.vehicle_variant_id)])
    if snapshot.version < applied[str(snapshot.vehicle_variant_id)]:
        return False
    await write_changes(session, {snapshot.vehicle_variant_id: snapshot.change()})
    await record_applied(session, STREAM, {str(snapshot.vehicle_variant_id): snapshot.version})
    await recompose(session, [snapshot.vehicle_variant_id])  # its wheel sets follow the repaired fitment
    return True


@dataclass
class FitmentReconcileReport:
    """What a reconcile found and did."""

    job_name: str
    since: datetime | None
    checked: int = 0
    missing: int = 0  # the replica has applied nothing of the variant
    differing: int = 0  # the replica's rows or version differ from the snapshot's
    fixed: int = 0  # of missing + differing, written from the snapshot
    newer_applied: int = 0  # of missing + differing, left alone: a newer change is already applied

    def counts(self) -> dict[str, int]:
        """The counts, as stored and printed."""
        return {key: value for key, value in asdict(self).items() if isinstance(value, int)}


async def reconcile(
    db: Database, source: FitmentSource, since: datetime | None = None, progress: Progress = NO_PROGRESS,
    *, page_size: int = PAGE_SIZE,
) -> FitmentReconcileReport:  # fmt: skip
    """Compare every variant whose fitment changed since ``since`` (all if None) with the replica; fix drift.

    The report is stored in ``projection_job_checkpoint`` as ``reconcile:fitment:<started at>``.
    """
    started = utc_now()
    report = FitmentReconcileReport(f"reconcile:fitment:{started.isoformat(timespec='milliseconds')}", since)
    task = progress.task("reconcile fitment (variants)")
    async for ids in source.variant_pages(changed_since=since, limit=page_size):
        for variant_id in ids:
            snapshot = await source.snapshot(variant_id)
            if snapshot is None:
                continue
            async with db.sessions.begin() as session:
                replica = await replica_of(session, variant_id)
                if replica != snapshot:
                    report.missing += replica.version == 0
                    report.differing += replica.version != 0
                    if await write_guarded(session, snapshot):
                        report.fixed += 1
                    else:
                        report.newer_applied += 1
            report.checked += 1
            task.advance()
    async with db.sessions.begin() as session:
        scope = since.isoformat() if since else "all"
        await save_checkpoint(session, report.job_name, scope, json.dumps(report.counts()), RECONCILE_MARKER, utc_now())
    return report


@dataclass
class FitmentRebuildReport:
    """What a rebuild did; ``resumed_after`` is the variant a resumed run started after."""

    job_name: str
    scope: str
    resumed_after: int | None = None
    variants: int = 0
    written: int = 0
    newer_applied: int = 0
    not_found: int = 0
    finished: bool = False


async def rebuild(
    db: Database, source: FitmentSource, scope: str = "all", progress: Progress = NO_PROGRESS,
    job: str = "rebuild:fitment", *, page_size: int = PAGE_SIZE, max_pages: int | None = None,
) -> FitmentRebuildReport:  # fmt: skip
    """Write the replica from vehicle-data's snapshots: ``scope`` ``all``, a variant id, or ``bucket:<key>``.

    ``all`` goes through every variant by id; each page's writes and the checkpoint (last variant of the
    page, state ``running``) commit together, so a killed rebuild resumes after its last committed page;
    once finished the state is ``done`` and the next run starts over. ``max_pages`` stops early, as a
    kill would (tests). Two full runs of the same job at once are refused (a named lock).
    """
    report = FitmentRebuildReport(job, scope)
    if scope == "all":
        async with db.writer.connect() as lock_connection, named_lock(lock_connection, job):
            await _rebuild_all(db, source, progress, report, page_size, max_pages)
        return report
    ids = await source.bucket_variants(scope.removeprefix("bucket:")) if scope.startswith("bucket:") else [int(scope)]
    task = progress.task(f"rebuild fitment ({scope})", total=len(ids))
    for variant_id in ids:
        await _rebuild_one(db, source, variant_id, report)
        task.advance()
    report.finished = True
    return report


async def _rebuild_one(db: Database, source: FitmentSource, variant_id: int, report: FitmentRebuildReport) -> None:
    snapshot = await source.snapshot(variant_id)
    report.variants += 1
    if snapshot is None:
        report.not_found += 1
        return
    async with db.sessions.begin() as session:
        written = await write_guarded(session, snapshot)
    report.written += written
    report.newer_applied += not written


async def _rebuild_all(db: Database, source: FitmentSource, progress: Progress, report: FitmentRebuildReport,
                       page_size: int, max_pages: int | None) -> None:  # fmt: skip
    async with db.sessions.begin() as session:
        resumed = await resume_cursor(session, report.job_name, "all")
    report.resumed_after = None if resumed is None else int(resumed or 0)
    task = progress.task(f"rebuild fitment (pages of {page_size} variants)")
    pages = 0
    async for ids in source.variant_pages(after=report.resumed_after or 0, limit=page_size):
        snapshots = [await source.snapshot(variant_id) for variant_id in ids]
        async with db.sessions.begin() as session:
            for snapshot in snapshots:
                report.variants += 1
                if snapshot is None:
                    report.not_found += 1
                elif await write_guarded(session, snapshot):
                    report.written += 1
                else:
                    report.newer_applied += 1
            last = str(ids[-1]) if ids else None
            await save_checkpoint(session, report.job_name, "all", last, RUNNING, utc_now())
        pages += 1
        task.advance()
        if max_pages is not None and pages >= max_pages:
            return
    async with db.sessions.begin() as session:
        await save_checkpoint(session, report.job_name, "all", None, DONE, utc_now())
    report.finished = True
