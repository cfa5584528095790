"""The product spec replica fitment needs (sizes, bolt pattern, bore, offset ...), from catalogue events.

Applied by article version (stream ``catalog``). An article whose fitment-relevant specs changed (or
that is new, or ended) is listed in ``fitment_pending`` in the same transaction and a recompute is
requested, so its bucket intersections follow; a price or description change recomputes nothing.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from contracts import ArticleDiscontinued, ArticleUpserted, Envelope
from contracts.catalog import SPEC_FIELDS
from foundation.bulk import upsert, utc_now
from integration_sdk.consumer import BatchContext, Batched
from integration_sdk.versioning import newest_events
from vehicle_data.fitment import repository as repo
from vehicle_data.fitment.handlers import request_recompute
from vehicle_data.tables import product_spec

STREAM = "catalog"
ALL_SPEC_FIELDS = sorted({name for names in SPEC_FIELDS.values() for name in names})
# What the rules read of an article: a change of anything else (price, EU label ...) recomputes nothing.
FITMENT_FIELDS = ("product_type", "width", "aspect", "rim_diameter", "load_index", "speed_rating", "season",
                  "run_flat", "bolt_count", "pcd", "wheel_diameter", "wheel_width", "offset", "center_bore",
                  "wheel_load_kg")  # fmt: skip


def product_spec_row(event: ArticleUpserted) -> dict[str, Any]:
    """The replica row of an article: its type and typed specs (other types' fields NULL)."""
    specs = event.model_dump(include=set(ALL_SPEC_FIELDS))
    return {"article_number": event.article_number, "product_type": event.article_type, **specs,
            "version": event.version, "updated_at": utc_now()}  # fmt: skip


async def _fitment_specs(context: BatchContext, numbers: list[str]) -> dict[str, tuple[Any, ...]]:
    rows = await context.session.execute(
        sa.select(product_spec.c.article_number, *(product_spec.c[name] for name in FITMENT_FIELDS))
        .where(product_spec.c.article_number.in_(numbers))
        .with_for_update()
    )
    return {row[0]: tuple(row[1:]) for row in rows}


async def _mark_pending(context: BatchContext, numbers: list[str], cause: Envelope) -> None:
    if numbers:
        await repo.add_pending(await context.session.connection(), repo.ARTICLE, numbers)
        await request_recompute(context.session, context.outbox, "catalogue", cause)


async def apply_upserts(items: list[tuple[ArticleUpserted, Envelope]], context: BatchContext) -> None:
    """Upsert the newest spec of each article; list those whose fitment-relevant specs changed."""
    events = await newest_events(context.session, STREAM, items)
    if not events:
        return
    rows = [product_spec_row(event) for event in events]
    before = await _fitment_specs(context, [row["article_number"] for row in rows])
    await upsert(context.session, product_spec, rows)
    changed = [row["article_number"] for row in rows
               if before.get(row["article_number"]) != tuple(row[name] for name in FITMENT_FIELDS)]  # fmt: skip
    await _mark_pending(context, changed, items[-1][1])


async def apply_discontinued(items: list[tuple[ArticleDiscontinued, Envelope]], context: BatchContext) -> None:
    """Remove the specs of ended articles; their mappings follow through the recompute."""
    events = await newest_events(context.session, STREAM, items)
    numbers = [event.article_number for event in events]
    if numbers:
        await context.session.execute(sa.delete(product_spec).where(product_spec.c.article_number.in_(numbers)))
    await _mark_pending(context, numbers, items[-1][1])


HANDLERS = {
    "catalog.article.upserted": Batched(apply_upserts),
    "catalog.article.discontinued": Batched(apply_discontinued),
}
