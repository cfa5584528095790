"""The export schedule: a full run per platform every ``full_export_interval_s`` (daily), deltas between.

Every ``export_schedule_interval_s`` the worker that holds the named lock looks at each active
platform: none of its runs queued or running, no successful full run within the interval: queue a
full run; else, its last successful run started ``delta_interval_min`` ago or more: queue a delta.
A delta is never queued before the platform's first successful full run.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI

from foundation.bulk import LockBusyError, named_lock, utc_now
from foundation.db import Database
from integration_sdk.outbox import Outbox
from platform_export.exports.runs import QUEUED, RUNNING, SUCCEEDED, queue_run
from platform_export.settings import PlatformExportSettings
from platform_export.tables import export_run, platform


async def schedule_due_runs(db: Database, outbox: Outbox, settings: PlatformExportSettings) -> list[tuple[str, str]]:
    """Queue the runs that are due; (platform, kind) of each."""
    now = utc_now()
    full_after = now - timedelta(seconds=settings.full_export_interval_s)
    queued: list[tuple[str, str]] = []
    async with db.sessions.begin() as session:
        platforms = (await session.execute(
            sa.select(platform.c.platform_id, platform.c.delta_interval_min).where(platform.c.active.is_(True))
            .order_by(platform.c.platform_id))).all()  # fmt: skip
        busy = set((await session.execute(
            sa.select(export_run.c.platform_id).where(export_run.c.status.in_((QUEUED, RUNNING))).distinct()
        )).scalars())  # fmt: skip
        ok = export_run.c.status == SUCCEEDED
        last_full = dict((await session.execute(
            sa.select(export_run.c.platform_id, sa.func.max(export_run.c.started_at))
            .where(ok, export_run.c.kind == "full").group_by(export_run.c.platform_id))).all())  # fmt: skip
        last_any: dict[str, Any] = dict((await session.execute(
            sa.select(export_run.c.platform_id, sa.func.max(export_run.c.started_at)).where(ok)
            .group_by(export_run.c.platform_id))).all())  # fmt: skip
        for platform_id, delta_interval_min in platforms:
            if platform_id in busy:
                continue
            if platform_id not in last_full or last_full[platform_id] < full_after:
                kind = "full"
            elif last_any[platform_id] <= now - timedelta(minutes=delta_interval_min):
                kind = "delta"
            else:
                continue
            await queue_run(session, outbox, platform_id, kind)  # type: ignore[arg-type]
            queued.append((platform_id, kind))
    return queued


def schedule_job(settings: PlatformExportSettings) -> Any:
    """The periodic job (one worker at a time)."""

    async def job(app: FastAPI) -> float | None:
        db: Database = app.state.resources["database"].db
        async with db.writer.connect() as lock_connection:
            try:
                async with named_lock(lock_connection, "export-schedule"):
                    await schedule_due_runs(db, app.state.outbox, settings)
            except LockBusyError:
                pass
        return None

    return job
