"""Write-side SQL of supplier imports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from foundation.bulk import upsert, utc_now
from stock_import.tables import import_batch, known_article, supplier


async def upsert_suppliers(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Register or update supplier definitions."""
    await upsert(conn, supplier, rows)


async def supplier_mapping(conn: AsyncConnection, supplier_id: str) -> dict[str, Any] | None:
    """The stored mapping of an active supplier."""
    row = (
        await conn.execute(
            sa.select(supplier.c.mapping).where(supplier.c.supplier_id == supplier_id, supplier.c.active.is_(True))
        )
    ).one_or_none()
    return None if row is None else dict(row.mapping)


async def catalogue_is_replicated(conn: AsyncConnection) -> bool:
    """Whether the catalogue replica has arrived (only then can an article be called unknown)."""
    return bool(await conn.scalar(sa.select(sa.literal(1)).select_from(known_article).limit(1)))


async def batch(conn: AsyncConnection, batch_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    """A batch's row (``lock``: FOR UPDATE, so two deliveries of its command cannot both run it)."""
    query = sa.select(import_batch).where(import_batch.c.batch_id == batch_id)
    row = (await conn.execute(query.with_for_update() if lock else query)).mappings().first()
    return dict(row) if row else None


async def create_batch(conn: AsyncConnection, values: dict[str, Any]) -> None:
    """A new batch."""
    await conn.execute(import_batch.insert().values(**values, received_at=utc_now()))


async def update_batch(conn: AsyncConnection, batch_id: str, **values: Any) -> None:
    """Status and counts of a batch."""
    await conn.execute(import_batch.update().where(import_batch.c.batch_id == batch_id).values(**values))
