"""Wheel-set projection maintenance: reconcile it with the reference composition, or rebuild it.

The sets' source is the webshop's own replicas (fitment, catalogue, availability), so the reference is
``reference.reference_sets`` over them, not another island's API. Requests keep the projection
current (``recompute``); these jobs repair it when that went wrong (a request dead-lettered, a restored
backup) and pick up what requests do not cover (a tyre new to the catalogue that ranks into sets).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from foundation.bulk import chunked, named_lock, utc_now
from foundation.db import Database
from foundation.progress import NO_PROGRESS, Progress
from integration_sdk.outbox import APPLIED_VERSION
from webshop.projections.fitment import STREAM as FITMENT_STREAM
from webshop.projections.jobs import DONE, RECONCILE_MARKER, RUNNING, resume_cursor, save_checkpoint
from webshop.tables import (
    article_availability_projection,
    catalog_article,
    vehicle_tyre_fitment,
    vehicle_variant,
    wheel_set_component_index,
    wheel_set_projection,
)
from webshop.wheel_sets.candidates import TyresBySize
from webshop.wheel_sets.recompute import IN_LIST, recompose
from webshop.wheel_sets.reference import reference_sets

PAGE_SIZE = 200
REBUILD_JOB = "rebuild:sets"


async def stored_sets(conn: AsyncConnection, variant_id: int) -> dict[str, dict[str, Any]]:
    """The projection's rows of a variant without ``computed_at``, by set key."""
    s = wheel_set_projection
    rows = await conn.execute(sa.select(s).where(s.c.vehicle_variant_id == variant_id))
    return {row["set_key"]: {k: v for k, v in row.items() if k != "computed_at"} for row in rows.mappings()}


async def drift(conn: AsyncConnection, variant_id: int) -> tuple[int, int]:
    """(projection rows, sets that differ from the reference in row or reverse index, or are missing or
    extra) of a variant."""
    stored = await stored_sets(conn, variant_id)
    reference = await reference_sets(conn, variant_id)
    expected = {p.wheel_set.set_key: p.row() for p in reference}
    components = {p.wheel_set.set_key: set(p.wheel_set.components()) for p in reference}
    keys = sorted(stored.keys() | expected.keys())
    links: dict[str, set[tuple[str, str]] | None] = dict.fromkeys(keys)
    i = wheel_set_component_index
    for chunk in chunked(keys, IN_LIST):
        rows = await conn.execute(
            sa.select(i.c.set_key, i.c.component_article_number, i.c.component_role).where(i.c.set_key.in_(chunk))
        )
        for key, number, role in rows:
            links[key] = (links[key] or set()) | {(number, role)}
    differing = [
        key for key in keys if stored.get(key) != expected.get(key) or links[key] != components.get(key, set())
    ]
    return len(stored), len(differing)


async def variant_pages(db: Database, after: int = 0, limit: int = PAGE_SIZE) -> AsyncIterator[list[int]]:
    """Every variant of the replica, pages by id."""
    v = vehicle_variant.c
    while True:
        async with db.reader.connect() as conn:
            ids = list(await conn.scalars(sa.select(v.vehicle_variant_id).where(v.vehicle_variant_id > after)
                                          .order_by(v.vehicle_variant_id).limit(limit)))  # fmt: skip
        if not ids:
            return
        yield ids
        after = ids[-1]


async def changed_since(db: Database, since: datetime) -> list[int]:
    """Variants whose sets may have changed since ``since``: their vehicle data or fitment was applied, a
    component's availability or catalogue entry changed, or a tyre of a size they take changed."""
    v, s, i = vehicle_variant, wheel_set_projection, wheel_set_component_index
    a, c, fit, applied = article_availability_projection, catalog_article, vehicle_tyre_fitment, APPLIED_VERSION

    def by_component(changed: sa.Select[Any]) -> sa.Select[Any]:
        return sa.select(s.c.vehicle_variant_id).join(i, i.c.set_key == s.c.set_key).where(
            i.c.component_article_number.in_(changed))  # fmt: skip

    queries = [
        sa.select(v.c.vehicle_variant_id).where(v.c.updated_at >= since),
        sa.select(sa.cast(applied.c.aggregate_id, sa.Integer)).where(
            applied.c.stream == FITMENT_STREAM, applied.c.applied_at >= since
        ),  # fmt: skip
        by_component(sa.select(a.c.article_number).where(a.c.updated_at >= since)),
        by_component(sa.select(c.c.article_number).where(c.c.updated_at >= since)),
        sa.select(fit.c.vehicle_variant_id)
        .join(c, sa.and_(c.c.width == fit.c.width, c.c.aspect == fit.c.aspect, c.c.rim_diameter == fit.c.rim_diameter))
        .where(c.c.updated_at >= since, c.c.article_type == "tyre"),  # fmt: skip
    ]
    async with db.reader.connect() as conn:
        return sorted(set((await conn.execute(sa.union(*queries))).scalars()))


@dataclass
class SetReconcileReport:
    """What a reconcile found and did."""

    job_name: str
    since: datetime | None
    checked: int = 0  # variants compared
    sets_checked: int = 0  # projection rows of those variants
    differing_variants: int = 0
    differing_sets: int = 0  # rows missing, extra or different
    fixed: int = 0  # variants composed again and now equal to the reference
    unresolved: int = 0  # variants still different after composing again (a defect: reported, never hidden)

    def counts(self) -> dict[str, int]:
        return {key: value for key, value in asdict(self).items() if isinstance(value, int)}


async def reconcile(
    db: Database, since: datetime | None = None, progress: Progress = NO_PROGRESS, *, page_size: int = PAGE_SIZE
) -> SetReconcileReport:
    """Compare each variant's sets (those that may have changed since ``since``; all if None) with the
    reference composition and compose the differing ones again. Stored in ``projection_job_checkpoint``
    as ``reconcile:sets:<started at>``."""
    started = utc_now()
    report = SetReconcileReport(f"reconcile:sets:{started.isoformat(timespec='milliseconds')}", since)
    if since is None:
        pages = variant_pages(db, limit=page_size)
        task = progress.task("reconcile sets (variants)")
    else:
        ids = await changed_since(db, since)
        pages = _pages_of(ids, page_size)
        task = progress.task("reconcile sets (variants changed)", total=len(ids))
    async for ids in pages:
        for variant_id in ids:
            async with db.sessions.begin() as session:
                conn = await session.connection()
                stored, differing = await drift(conn, variant_id)
                report.checked += 1
                report.sets_checked += stored
                if differing:
                    report.differing_variants += 1
                    report.differing_sets += differing
                    await recompose(session, [variant_id])
                    _, still = await drift(conn, variant_id)
                    report.fixed += not still
                    report.unresolved += bool(still)
            task.advance()
    async with db.sessions.begin() as session:
        scope = since.isoformat() if since else "all"
        await save_checkpoint(session, report.job_name, scope, json.dumps(report.counts()), RECONCILE_MARKER, utc_now())
    return report


async def _pages_of(ids: list[int], size: int) -> AsyncIterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


@dataclass
class SetRebuildReport:
    """What a rebuild did; ``resumed_after`` is the variant a resumed run started after."""

    job_name: str
    scope: str
    resumed_after: int | None = None
    variants: int = 0
    sets: int = 0
    finished: bool = False


async def refresh_statistics(db: Database) -> None:
    """Refresh the optimizer's statistics of the set tables while a rebuild grows them.

    Planned on an empty table's statistics (a first build, or one after the tables were emptied), the
    refresh statement scanned both set tables for every 500 sets written: a build took 25 minutes
    instead of 5 until InnoDB's own recount caught up. Each time the tables may have doubled, an
    ``ANALYZE`` (a few sampled pages per index, milliseconds) keeps the plan an index range read.
    """
    async with db.writer.connect() as conn:
        await conn.execute(sa.text(f"ANALYZE TABLE `{wheel_set_projection.name}`, `{wheel_set_component_index.name}`"))


async def rebuild(
    db: Database, scope: str = "all", progress: Progress = NO_PROGRESS, job: str = REBUILD_JOB,
    *, page_size: int = PAGE_SIZE, max_pages: int | None = None,
) -> SetRebuildReport:  # fmt: skip
    """Compose the sets again: ``scope`` ``all`` or a variant id.

    ``all`` goes through every variant by id; each page's sets and the checkpoint (last variant of the
    page, state ``running``) commit together, so a killed rebuild resumes after its last committed page;
    once finished the state is ``done`` and the next run starts over. ``max_pages`` stops early, as a
    kill would (tests). Two full runs at once are refused (a named lock).
    """
    report = SetRebuildReport(job, scope)
    if scope != "all":
        async with db.sessions.begin() as session:
            report.sets = await recompose(session, [int(scope)])
        report.variants, report.finished = 1, True
        return report
    async with db.writer.connect() as lock_connection, named_lock(lock_connection, job):
        async with db.sessions.begin() as session:
            resumed = await resume_cursor(session, job, "all")
        report.resumed_after = None if resumed is None else int(resumed or 0)
        async with db.reader.connect() as conn:
            left = await conn.scalar(sa.select(sa.func.count()).where(
                vehicle_variant.c.vehicle_variant_id > (report.resumed_after or 0)))  # fmt: skip
        task = progress.task(f"rebuild sets (variants, pages of {page_size})", total=int(left or 0))
        pages = 0
        catalogue = TyresBySize()  # each size's tyres read once for the whole rebuild
        async for ids in variant_pages(db, after=report.resumed_after or 0, limit=page_size):
            async with db.sessions.begin() as session:
                report.sets += await recompose(session, ids, catalogue)
                await save_checkpoint(session, job, "all", str(ids[-1]), RUNNING, utc_now())
            report.variants += len(ids)
            task.advance(len(ids))
            pages += 1
            if pages & (pages - 1) == 0:  # pages 1, 2, 4, 8, ...: see refresh_statistics
                await refresh_statistics(db)
            if max_pages is not None and pages >= max_pages:
                return report
        async with db.sessions.begin() as session:
            await save_checkpoint(session, job, "all", None, DONE, utc_now())
    report.finished = True
    return report
