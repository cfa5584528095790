"""The stock aggregate of an article, computed from all suppliers' current offers.

Rules:

- An offer counts towards the **sellable quantity** when its supplier is active and the offered
  quantity reaches the supplier's minimum order quantity (below it the supplier does not deliver).
- **Best price**: the lowest purchase price among counted offers; when none counts, the lowest price
  among the article's other offers (what a back-order would cost); 0.00 when no supplier offers it.
- **Next delivery date**: the earliest announced delivery date of an active supplier's offer that is
  today or later; a past date is a stale announcement and is ignored.

``availability`` computes this live from the offers: the way the old system answered at read time,
and the reference path that reconcile and dual-read compare the projection with. ``recompute`` runs
the same rules set-based for the articles an import touched (``touched_article``, a temporary table
of the import's connection), stores the aggregates that changed (version + 1) and leaves them in
``staged_aggregate``, whose ``changed_query`` the outbox turns into ``stock.availability.changed``
events set-based. An article whose aggregate did not change emits nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.asyncio import AsyncConnection

from foundation.bulk import chunked, utc_now
from integration_sdk.spec_tables import ARTICLE_NUMBER, MONEY
from stock_import.tables import article_stock_aggregate, supplier, supplier_offer

NO_PRICE = Decimal("0.00")


class Availability(NamedTuple):
    """An article's stock aggregate (what the storefront shows)."""

    sellable_qty: int
    best_price: Decimal
    next_delivery_date: date | None


NOT_OFFERED = Availability(0, NO_PRICE, None)

# Temporary tables of an import's connection (``CREATE TEMPORARY TABLE``: their rows are part of its
# transaction, the tables themselves vanish with the connection).
STAGING = sa.MetaData()
TEMPORARY: dict[str, Any] = {"prefixes": ["TEMPORARY"], "mysql_engine": "InnoDB", "mysql_charset": "utf8mb4",
                             "mysql_collate": "utf8mb4_general_ci"}  # fmt: skip
touched_article = sa.Table(
    "touched_article", STAGING, sa.Column("article_number", ARTICLE_NUMBER, primary_key=True), **TEMPORARY
)
staged_aggregate = sa.Table(
    "staged_aggregate",
    STAGING,
    sa.Column("article_number", ARTICLE_NUMBER, primary_key=True),
    sa.Column("sellable_qty", sa.Integer, nullable=False),
    sa.Column("best_price", MONEY, nullable=False),
    sa.Column("next_delivery_date", sa.Date),
    sa.Column("version", sa.BigInteger),
    sa.Column("changed", sa.Boolean, nullable=False, server_default=sa.false()),
    **TEMPORARY,
)


def _aggregate_columns(today: date) -> list[sa.ColumnElement[Any]]:
    """Sellable quantity, best price and next delivery date over ``supplier_offer`` joined with ``supplier``."""
    offer, sup = supplier_offer, supplier
    counted = sa.and_(offer.c.quantity > 0, offer.c.quantity >= sup.c.min_order_qty)
    return [
        sa.func.coalesce(sa.func.sum(sa.case((counted, offer.c.quantity), else_=0)), 0).label("sellable_qty"),
        sa.func.coalesce(
            sa.func.min(sa.case((counted, offer.c.purchase_price))), sa.func.min(offer.c.purchase_price), NO_PRICE
        ).label("best_price"),
        sa.func.min(sa.case((offer.c.delivery_date >= today, offer.c.delivery_date))).label("next_delivery_date"),
    ]


def _active_offers() -> sa.Join:
    return supplier_offer.join(supplier, sa.and_(supplier.c.supplier_id == supplier_offer.c.supplier_id,
                                                 supplier.c.active))  # fmt: skip


def availability_query(article_numbers: Sequence[str], today: date) -> sa.Select[Any]:
    """The live aggregate of each of ``article_numbers`` that has an active offer."""
    return (
        sa.select(supplier_offer.c.article_number, *_aggregate_columns(today))
        .select_from(_active_offers())
        .where(supplier_offer.c.article_number.in_(article_numbers))
        .group_by(supplier_offer.c.article_number)
        # Offers first, by the article index: left to itself MariaDB starts from the 50 suppliers and
        # reads every offer of each (0.5 s for a handful of articles at 1.1M offers).
        .prefix_with("STRAIGHT_JOIN")
    )


async def availability(
    conn: AsyncConnection, article_numbers: Sequence[str], today: date | None = None
) -> dict[str, Availability]:
    """The aggregate of each article, computed live from the offers (articles nobody offers: ``NOT_OFFERED``)."""
    today = today or utc_now().date()
    result = dict.fromkeys(article_numbers, NOT_OFFERED)
    for chunk in chunked(sorted(set(article_numbers)), 2_000):
        rows: Any = await conn.execute(availability_query(chunk, today))
        for number, qty, price, delivery in rows:
            result[number] = Availability(int(qty), price, delivery)
    return result


async def stored_aggregates(
    conn: AsyncConnection, article_numbers: Sequence[str], *, lock: bool = False
) -> dict[str, tuple[Availability, int]]:
    """The stored aggregate and version of each article that has one (``lock``: FOR UPDATE)."""
    agg = article_stock_aggregate
    stored: dict[str, tuple[Availability, int]] = {}
    for chunk in chunked(sorted(set(article_numbers)), 2_000):
        query = sa.select(agg.c.article_number, agg.c.sellable_qty, agg.c.best_price, agg.c.next_delivery_date,
                          agg.c.version).where(agg.c.article_number.in_(chunk))  # fmt: skip
        for number, qty, price, delivery, version in await conn.execute(query.with_for_update() if lock else query):
            stored[number] = (Availability(qty, price, delivery), version)
    return stored


async def recompute(conn: AsyncConnection, batch_id: str, today: date | None = None) -> int:
    """Recompute the aggregates of ``touched_article``, store those that changed; how many changed.

    The changed ones stay in ``staged_aggregate`` (``changed``) for ``changed_query``.
    """
    today, now = today or utc_now().date(), utc_now()
    agg, new, touched = article_stock_aggregate, staged_aggregate, touched_article
    # Lock first, in key order like every writer, then compute: a concurrent import of another
    # supplier touching the same articles waits here instead of computing from stale offers. An
    # article without an aggregate gets a version-0 "not offered" row, so there is a row to lock and
    # two imports cannot both hand out version 1.
    placeholders = sa.select(touched.c.article_number, sa.literal(0), sa.literal(NO_PRICE), sa.null(), sa.literal(0),
                             sa.literal(batch_id), sa.literal(now)).order_by(touched.c.article_number)  # fmt: skip
    insert = mysql.insert(agg).from_select(
        ["article_number", "sellable_qty", "best_price", "next_delivery_date", "version", "source_batch_id",
         "computed_at"], placeholders)  # fmt: skip
    await conn.execute(insert.on_duplicate_key_update(article_number=agg.c.article_number))
    offers = touched.outerjoin(_active_offers(), supplier_offer.c.article_number == touched.c.article_number)
    live = (
        sa.select(touched.c.article_number, *_aggregate_columns(today))
        .select_from(offers)
        .group_by(touched.c.article_number)
        .prefix_with("STRAIGHT_JOIN")  # touched articles first, then their offers by the article index
    )
    await conn.execute(new.insert().from_select(["article_number", "sellable_qty", "best_price",
                                                 "next_delivery_date"], live))  # fmt: skip
    differs = sa.not_(sa.and_(agg.c.sellable_qty.is_not_distinct_from(new.c.sellable_qty),
                              agg.c.best_price.is_not_distinct_from(new.c.best_price),
                              agg.c.next_delivery_date.is_not_distinct_from(new.c.next_delivery_date)))  # fmt: skip
    marked = await conn.execute(
        new.update()
        .where(agg.c.article_number == new.c.article_number, differs)
        .values(version=agg.c.version + 1, changed=True)
    )
    await conn.execute(
        agg.update()
        .where(agg.c.article_number == new.c.article_number, new.c.changed)
        .values(sellable_qty=new.c.sellable_qty, best_price=new.c.best_price,
                next_delivery_date=new.c.next_delivery_date, version=new.c.version, source_batch_id=batch_id,
                computed_at=now)
    )  # fmt: skip
    return int(marked.rowcount)


def changed_query(batch_id: str) -> sa.Select[Any]:
    """The ``stock.availability.changed`` events of what ``recompute`` changed, as rows (for the outbox)."""
    new = staged_aggregate
    return (
        sa.select(new.c.article_number, new.c.sellable_qty, new.c.best_price, new.c.next_delivery_date,
                  sa.literal(batch_id).label("source_batch_id"), new.c.version)
        .where(new.c.changed)
        .order_by(new.c.article_number)
    )  # fmt: skip
