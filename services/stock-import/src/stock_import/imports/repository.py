"""Write-side SQL of supplier imports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from foundation.bulk import RowError, upsert, utc_now
from stock_import.imports.feeds import OfferRow
from stock_import.tables import import_batch, import_row_error, known_article, supplier, supplier_offer

OfferState = tuple[int, Decimal, date | None]


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


async def known_articles(conn: AsyncConnection, numbers: Sequence[str]) -> set[str]:
    """Which of ``numbers`` the catalogue replica knows."""
    rows = await conn.execute(
        sa.select(known_article.c.article_number).where(known_article.c.article_number.in_(numbers))
    )
    return {row[0] for row in rows}


async def current_offers(conn: AsyncConnection, supplier_id: str, numbers: Sequence[str]) -> dict[str, OfferState]:
    """(quantity, price, delivery date) of the supplier's current offers for ``numbers``."""
    rows = await conn.execute(
        sa.select(
            supplier_offer.c.article_number,
            supplier_offer.c.quantity,
            supplier_offer.c.purchase_price,
            supplier_offer.c.delivery_date,
        ).where(supplier_offer.c.supplier_id == supplier_id, supplier_offer.c.article_number.in_(numbers))  # fmt: skip
    )
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


async def write_offers(conn: AsyncConnection, supplier_id: str, batch_id: str, offers: Sequence[OfferRow]) -> None:
    """Upsert a chunk of offers in one multi-row statement."""
    now = utc_now()
    await upsert(
        conn,
        supplier_offer,
        [
            {
                "supplier_id": supplier_id,
                "article_number": o.article_number,
                "supplier_sku": o.supplier_sku,
                "quantity": o.quantity,
                "purchase_price": o.price,
                "delivery_date": o.delivery_date,
                "batch_id": batch_id,
                "updated_at": now,
            }  # fmt: skip
            for o in offers
        ],
    )


async def zero_offers_missing_from(conn: AsyncConnection, supplier_id: str, batch_id: str) -> list[str]:
    """A full feed replaces the supplier's offers: those it did not list go to zero; their article numbers."""
    missing = (
        supplier_offer.c.supplier_id == supplier_id,
        supplier_offer.c.batch_id != batch_id,
        supplier_offer.c.quantity != 0,
    )
    numbers = list(await conn.scalars(sa.select(supplier_offer.c.article_number).where(*missing).with_for_update()))
    if numbers:
        await conn.execute(supplier_offer.update().where(*missing).values(quantity=0, batch_id=batch_id,
                                                                          updated_at=utc_now()))  # fmt: skip
    return numbers


async def write_row_errors(conn: AsyncConnection, batch_id: str, errors: Sequence[RowError]) -> None:
    """Record row errors in bulk."""
    if errors:
        await conn.execute(import_row_error.insert(), [e.as_row("row_no", batch_id=batch_id) for e in errors])


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
