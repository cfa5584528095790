"""A small world of variants, products and rules for the fitment tests, loaded through the real paths.

Variants go through the vehicle sync, products through the catalogue handler (as catalogue events),
rules through the rule service; ``drain`` then runs the recompute the worker would run.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

import sqlalchemy as sa

from contracts import ArticleDiscontinued, ArticleUpserted, Envelope
from foundation.db import Database
from integration_sdk.consumer import BatchContext
from integration_sdk.outbox import Outbox
from integration_sdk.partners.catalog import Article, generate_articles
from integration_sdk.partners.vehicles import generate_variants
from vehicle_data import product_specs
from vehicle_data.fitment.recompute import RecomputeReport, process_pending
from vehicle_data.tables import vehicle_variant
from vehicle_data.vehicles.service import sync_variants

DERIVED_TABLES = (
    "vehicle_axle", "vehicle_axle_size", "vehicle_tyre_bucket", "product_tyre_bucket", "vehicle_wheel_bucket",
    "product_wheel_bucket", "product_vehicle_mappings", "vehicle_tyre_exclusion",
)  # fmt: skip


def article_event(article: Article, version: int = 1, **changes: Any) -> ArticleUpserted:
    """The catalogue event of a generated article (``changes`` override spec fields)."""
    return ArticleUpserted(
        article_number=article.article_number, article_type=article.article_type, ean=article.ean,  # type: ignore[arg-type]
        brand=article.brand, model=article.model, description=article.description[:255],
        list_price=article.list_price, version=version, **{**article.specs, **changes},
    )  # fmt: skip


def generated(seed: int, variants: int, tyres: int, wheels: int) -> tuple[list[dict[str, Any]], list[Article]]:
    """Deterministic variants and articles from the partner data generator."""
    articles = generate_articles(random.Random(f"{seed}:articles"), tyres, wheels, 0)
    return generate_variants(random.Random(f"{seed}:vehicles"), variants), articles


async def sync(
    db: Database, outbox: Outbox, folder: Path, records: Sequence[dict[str, Any]], kind: str = "full"
) -> None:
    """Variants through the vehicle sync."""
    path = folder / f"variants-{uuid4().hex[:6]}.jsonl"
    path.write_text("".join(json.dumps(record, default=str) + "\n" for record in records))
    result = await sync_variants(db, outbox, path, kind)  # type: ignore[arg-type]
    assert result.records_rejected == 0, result.errors


def _envelope(event: Any, settings_island: str = "erp-middleware") -> Envelope:
    return Envelope.wrap(event, produced_by=settings_island, correlation_id=uuid4().hex)


async def publish_articles(
    db: Database, outbox: Outbox, events: Iterable[ArticleUpserted | ArticleDiscontinued]
) -> None:
    """Catalogue events through vehicle-data's catalogue handlers (as the consumer applies a batch)."""
    upserts = [(e, _envelope(e)) for e in events if isinstance(e, ArticleUpserted)]
    ended = [(e, _envelope(e)) for e in events if isinstance(e, ArticleDiscontinued)]  # type: ignore[unreachable]
    async with db.sessions.begin() as session:
        context = BatchContext(session, outbox)
        if upserts:
            await product_specs.apply_upserts(upserts, context)
        if ended:
            await product_specs.apply_discontinued(ended, context)


async def drain(db: Database, outbox: Outbox) -> RecomputeReport:
    """Run the pending recomputes chunk by chunk, each in its own transaction, until none is left."""
    total = RecomputeReport()
    while True:
        async with db.sessions.begin() as session:
            report, more = await process_pending(session, outbox)
        total.add(report)
        if not more:
            return total


async def snapshot(db: Database) -> dict[str, set[tuple[Any, ...]]]:
    """Every derived table's rows without timestamps: what a recompute must reproduce."""
    result = {}
    async with db.reader.connect() as conn:
        for name in DERIVED_TABLES:
            rows = await conn.execute(sa.text(f"SELECT * FROM `{name}`"))
            keys = [k for k in rows.keys() if k != "computed_at"]
            result[name] = {tuple(row._mapping[k] for k in keys) for row in rows}
    return result


async def variant_ids(db: Database) -> list[int]:
    async with db.reader.connect() as conn:
        return list(
            await conn.scalars(
                sa.select(vehicle_variant.c.vehicle_variant_id).order_by(vehicle_variant.c.vehicle_variant_id)
            )
        )
