"""Write-side SQL of the platform configurations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.bulk import upsert
from platform_export.tables import platform

CONFIG_COLUMNS = [column for column in platform.columns if column.name != "updated_at"]


async def stored_configs(session: AsyncSession) -> dict[str, dict[str, Any]]:
    """Every stored platform's configuration columns, by platform id, locked until commit."""
    rows = await session.execute(select(*CONFIG_COLUMNS).with_for_update())
    return {row.platform_id: dict(row._mapping) for row in rows}


async def save_platforms(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or overwrite the given platforms."""
    await upsert(session, platform, rows)
