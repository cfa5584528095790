"""Platforms, export runs and platform orders over HTTP (what ``atraxion platforms`` shows)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query

from foundation.app import ReaderDep, SessionDep
from foundation.db import plain_row
from foundation.errors import ApiError
from integration_sdk.runtime import OutboxDep
from platform_export.exports.runs import queue_run
from platform_export.tables import export_run, platform, platform_order, platform_order_import

router = APIRouter(prefix="/api/v1", tags=["exports"])
RunId = Annotated[str, Path(max_length=64)]


@router.get("/platforms")
async def list_platforms(reader: ReaderDep) -> dict[str, Any]:
    """Every platform with its configuration, last successful run of each kind and order import cursor."""
    last = (
        sa.select(export_run.c.platform_id, export_run.c.kind, sa.func.max(export_run.c.finished_at).label("at"))
        .where(export_run.c.status == "succeeded").group_by(export_run.c.platform_id, export_run.c.kind)
    )  # fmt: skip
    async with reader.connect() as conn:
        platforms = (await conn.execute(sa.select(platform).order_by(platform.c.platform_id))).all()
        runs = (await conn.execute(last)).all()
        cursors = {row.platform_id: row for row in await conn.execute(sa.select(platform_order_import))}
    finished = {(row.platform_id, row.kind): row.at.isoformat() for row in runs}
    return {"items": [{**plain_row(row), "last_full_at": finished.get((row.platform_id, "full")),
                       "last_delta_at": finished.get((row.platform_id, "delta")),
                       "orders_imported": cursors[row.platform_id].orders_imported if row.platform_id in cursors
                       else 0} for row in platforms]}  # fmt: skip


@router.post("/platforms/{platform_id}/exports", status_code=202)
async def start_export(
    session: SessionDep, outbox: OutboxDep, platform_id: Annotated[str, Path(max_length=40)],
    kind: Annotated[Literal["full", "delta"], Query(description="full, or delta since the last successful run")],
) -> dict[str, Any]:  # fmt: skip
    """Queue an export run for the platform now."""
    if await session.scalar(sa.select(platform.c.platform_id).where(platform.c.platform_id == platform_id)) is None:
        raise ApiError(404, "not_found", f"No platform {platform_id!r}.")
    run_id = await queue_run(session, outbox, platform_id, kind)
    return {"run_id": run_id, "platform_id": platform_id, "kind": kind, "status": "queued"}


@router.get("/export-runs")
async def list_runs(
    reader: ReaderDep,
    platform_id: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Export runs, newest first: kind, status, items, bytes, duration, error."""
    query = sa.select(export_run).order_by(export_run.c.queued_at.desc()).limit(limit)
    if platform_id:
        query = query.where(export_run.c.platform_id == platform_id)
    if status:
        query = query.where(export_run.c.status == status)
    async with reader.connect() as conn:
        return {"items": [plain_row(row) for row in await conn.execute(query)]}


@router.get("/export-runs/{run_id}")
async def get_run(reader: ReaderDep, run_id: RunId) -> dict[str, Any]:
    """One export run."""
    async with reader.connect() as conn:
        row = (await conn.execute(sa.select(export_run).where(export_run.c.run_id == run_id))).one_or_none()
    if row is None:
        raise ApiError(404, "not_found", f"No export run {run_id!r}.")
    return plain_row(row)


@router.get("/platform-orders")
async def list_platform_orders(
    reader: ReaderDep,
    platform_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Imported platform orders, newest first, with their ERP status and tracking."""
    columns = [column for column in platform_order.columns if column.name != "payload"]
    query = sa.select(*columns).order_by(platform_order.c.imported_at.desc()).limit(limit)
    if platform_id:
        query = query.where(platform_order.c.platform_id == platform_id)
    async with reader.connect() as conn:
        return {"items": [plain_row(row) for row in await conn.execute(query)]}
