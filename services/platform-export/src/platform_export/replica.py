"""What platform exports are built from: one ``export_article`` row per article, fed by two streams.

Catalogue events own the catalogue columns, stock events the stock columns; each stream is applied
by its own version, in any order relative to the other. A discontinued article keeps its row
(``discontinued``), so the next delta export can delist it; a later upsert lists it again.

Every applied change stamps its rows with a change number (``change_seq``) taken from
``export_change_counter`` under that row's lock, held until the batch commits: numbers are handed out
in commit order, so once an export reads the counter at N, every row stamped N or lower is committed.
A delta export reads ``since < change_seq <= N``: no change is read before it is committed, and no
change is skipped because it committed late (which a ``changed_at`` window cannot promise).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import ArticleDiscontinued, ArticleUpserted, Envelope, StockAvailabilityChanged
from foundation.bulk import upsert, utc_now
from integration_sdk.consumer import BatchContext, Batched
from integration_sdk.versioning import newest_events
from platform_export.tables import export_article, export_change_counter

CATALOG_COLUMNS = ("article_type", "brand", "ean", "description", "list_price", "catalog_version", "discontinued",
                   "changed_at", "change_seq")  # fmt: skip
STOCK_COLUMNS = ("sellable_qty", "best_price", "next_delivery_date", "stock_version", "changed_at", "change_seq")


async def next_change_seq(session: AsyncSession) -> int:
    """The next change number; the counter row stays locked until this transaction ends."""
    await session.execute(
        export_change_counter.update().where(export_change_counter.c.id == 1)
        .values(seq=sa.func.last_insert_id(export_change_counter.c.seq + 1))
    )  # fmt: skip
    return int((await session.execute(sa.select(sa.func.last_insert_id()))).scalar_one())


async def current_change_seq(session: AsyncSession) -> int:
    """The last committed change number (every row stamped up to it is committed)."""
    return int((await session.execute(sa.select(export_change_counter.c.seq))).scalar_one())


def catalog_columns(event: ArticleUpserted) -> dict[str, Any]:
    """The catalogue part of an export row."""
    return {"article_number": event.article_number, "article_type": event.article_type, "brand": event.brand,
            "ean": event.ean, "description": event.description, "list_price": event.list_price,
            "catalog_version": event.version, "discontinued": False, "changed_at": utc_now()}  # fmt: skip


def stock_columns(event: StockAvailabilityChanged) -> dict[str, Any]:
    """The stock part of an export row."""
    return {"article_number": event.article_number, "sellable_qty": event.sellable_qty,
            "best_price": event.best_price, "next_delivery_date": event.next_delivery_date,
            "stock_version": event.version, "changed_at": utc_now()}  # fmt: skip


def _applied(stream: str, to_row: Callable[[Any], dict[str, Any]], columns: tuple[str, ...]) -> Batched:
    """Upsert the newest state per article of ``stream``, stamped with one change number per batch."""

    async def apply(items: list[tuple[Any, Envelope]], context: BatchContext) -> None:
        seq = await next_change_seq(context.session)  # first: the counter is the one lock every batch takes first
        events = await newest_events(context.session, stream, items)
        rows = [{**to_row(event), "change_seq": seq} for event in events]
        await upsert(context.session, export_article, rows, columns)

    return Batched(apply)


async def _discontinue(items: list[tuple[Any, Envelope]], context: BatchContext) -> None:
    """Mark discontinued articles (kept for the delta that delists them)."""
    seq = await next_change_seq(context.session)
    events: list[ArticleDiscontinued] = await newest_events(context.session, "catalog", items)
    if events:
        await context.session.execute(
            export_article.update().where(export_article.c.article_number == sa.bindparam("number"))
            .values(discontinued=True, catalog_version=sa.bindparam("version"), change_seq=seq, changed_at=utc_now()),
            [{"number": e.article_number, "version": e.version} for e in events],
        )  # fmt: skip


HANDLERS = {
    "catalog.article.upserted": _applied("catalog", catalog_columns, CATALOG_COLUMNS),
    "catalog.article.discontinued": Batched(_discontinue),
    "stock.availability.changed": _applied("stock", stock_columns, STOCK_COLUMNS),
}
