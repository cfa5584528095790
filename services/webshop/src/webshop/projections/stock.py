"""Stock projection: ``article_availability_projection`` from stock-import's ``stock.availability.changed``.

Applied by aggregate version (``applied_version`` stream ``stock``); the same transaction copies the
availability onto the article's catalogue row, which product search filters and sorts on. The wheel sets
holding a changed article are refreshed after it (a request to ``webshop.bulk``). After the
commit, the search cache generation moves on and the freshness (stock change → projection commit) is
recorded.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import Envelope, StockAvailabilityChanged
from foundation.bulk import upsert, utc_now
from integration_sdk.consumer import BatchContext, Batched
from integration_sdk.versioning import newest_events
from webshop.projections.committed import after_projection_commit
from webshop.tables import article_availability_projection, catalog_article
from webshop.wheel_sets.recompute import request_recompute

STREAM = "stock"
AVAILABILITY = ("sellable_qty", "best_price", "next_delivery_date")


def projection_row(event: StockAvailabilityChanged) -> dict[str, Any]:
    """The projection row of an aggregate state."""
    return {
        "article_number": event.article_number,
        "sellable_qty": event.sellable_qty,
        "best_price": event.best_price,
        "next_delivery_date": event.next_delivery_date,
        "source_batch_id": event.source_batch_id,
        "updated_at": utc_now(),
    }


async def apply_availability(items: list[tuple[StockAvailabilityChanged, Envelope]], context: BatchContext) -> None:
    """Upsert the newest aggregate state of each article in the batch, and its catalogue copy."""
    events = await newest_events(context.session, STREAM, items)
    if not events:
        return
    rows = [projection_row(event) for event in events]
    await write_availability(context.session, rows)
    envelopes = [envelope for _, envelope in items]
    await request_recompute(context, envelopes, article_numbers=[event.article_number for event in events])
    after_projection_commit(context, "stock", envelopes)


async def write_availability(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Projection rows and their copy on the catalogue rows (reconcile and rebuild write through here too)."""
    await upsert(session, article_availability_projection, rows)
    await copy_availability(session, [row["article_number"] for row in rows])


async def copy_availability(session: AsyncSession, article_numbers: list[str]) -> None:
    """Copy the projection's availability onto these articles' catalogue rows: one UPDATE ... JOIN."""
    projection = article_availability_projection
    await session.execute(
        sa.update(catalog_article)
        .where(catalog_article.c.article_number.in_(article_numbers))
        .where(catalog_article.c.article_number == projection.c.article_number)
        .values({name: projection.c[name] for name in AVAILABILITY})
    )


HANDLERS = {"stock.availability.changed": Batched(apply_availability)}
