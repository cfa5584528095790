"""Catalogue projection: ``catalog_article`` from erp-middleware's ``catalog.article.*`` events.

Applied by article version (``applied_version`` stream ``catalog``), so a late or replayed older event
never overwrites a newer state and a discontinued article does not come back from an older upsert.
A new catalogue row takes the article's availability from the stock projection, whichever of the two
events arrived first. The wheel sets of the variants an article may serve are composed again after a
change (a request to ``webshop.bulk``): those whose sets hold it, and, for a tyre new to the catalogue or
changed in what decides its fit, every variant taking its size (listed once in ``wheel_set_pending``).
"""

from __future__ import annotations

from typing import Any

from contracts import ArticleDiscontinued, ArticleUpserted, Envelope
from contracts.catalog import SPEC_FIELDS
from foundation.bulk import upsert, utc_now
from integration_sdk.consumer import BatchContext, Batched
from integration_sdk.replicas import versioned_delete
from integration_sdk.versioning import newest_events
from webshop.projections.committed import after_projection_commit
from webshop.projections.stock import copy_availability
from webshop.tables import catalog_article
from webshop.wheel_sets.recompute import queue_variants_taking, request_recompute, tyre_sizes_to_compose, variants_using

STREAM = "catalog"
ALL_SPEC_FIELDS = sorted({name for names in SPEC_FIELDS.values() for name in names})


def catalog_row(event: ArticleUpserted) -> dict[str, Any]:
    """The ``catalog_article`` row of an article's state (spec fields of other types NULL)."""
    row = event.model_dump(include={"article_number", "article_type", "ean", "brand", "model", "description",
                                    "list_price", "version", *ALL_SPEC_FIELDS})  # fmt: skip
    return {**row, "updated_at": utc_now()}


async def apply_upserts(items: list[tuple[ArticleUpserted, Envelope]], context: BatchContext) -> None:
    """Upsert the newest state of each article in the batch."""
    events = await newest_events(context.session, STREAM, items)
    if not events:
        return
    rows = [catalog_row(event) for event in events]
    numbers = [event.article_number for event in events]
    sizes = await tyre_sizes_to_compose(context.session, rows)  # before the rows are overwritten
    await upsert(context.session, catalog_article, rows)
    await copy_availability(context.session, numbers)
    await _recompose_sets(context, items, numbers)
    if sizes:  # a new or changed tyre may rank into the sets of every variant taking its size
        await queue_variants_taking(context, [envelope for _, envelope in items], sizes)
    after_projection_commit(context, "catalog", [envelope for _, envelope in items])


_delete_articles = versioned_delete(catalog_article, STREAM)


async def apply_discontinued(items: list[tuple[ArticleDiscontinued, Envelope]], context: BatchContext) -> None:
    """Delete the articles whose discontinuation is the newest applied; their variants' sets follow."""
    await _delete_articles.apply(items, context)
    await _recompose_sets(context, items, [event.article_number for event, _ in items])


async def _recompose_sets(context: BatchContext, items: list[tuple[Any, Envelope]], numbers: list[str]) -> None:
    """A component's spec or price may change which sets a variant gets: compose those variants again."""
    variants = await variants_using(context.session, numbers)
    await request_recompute(context, [envelope for _, envelope in items], variant_ids=variants)


HANDLERS = {
    "catalog.article.upserted": Batched(apply_upserts),
    "catalog.article.discontinued": Batched(apply_discontinued),
}
