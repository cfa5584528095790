"""The webshop's catalogue and stock projections through the real consumer path (inbox, versions, batches)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from contracts import ArticleDiscontinued, ArticleUpserted, Envelope, StockAvailabilityChanged
from foundation.cache import create_redis
from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk import metrics
from integration_sdk.consumer import Consumer
from integration_sdk.outbox import Outbox
from integration_sdk.testing import truncate_tables
from integration_sdk.topology import BULK
from webshop.projections import catalog, stock
from webshop.search.cache import generation_key
from webshop.tables import article_availability_projection, catalog_article


def tyre(number: str, version: int, brand: str = "Nokian") -> Envelope:
    event = ArticleUpserted(article_number=number, article_type="tyre", brand=brand, model="WR", description="d",
                            list_price=Decimal("99.00"), version=version, width=205, aspect=55, rim_diameter=16,
                            season="winter")  # fmt: skip
    return Envelope.wrap(event, produced_by="erp-middleware", correlation_id="t")


def stock_event(number: str, version: int, qty: int, price: str = "60.00") -> Envelope:
    event = StockAvailabilityChanged(article_number=number, sellable_qty=qty, best_price=Decimal(price),
                                     source_batch_id=f"b{version}", version=version)  # fmt: skip
    return Envelope.wrap(event, produced_by="stock-import", correlation_id="t")


@pytest.fixture
async def consumer(migrated_islands: dict[str, ServiceSettings]) -> AsyncIterator[tuple[Consumer, Database]]:
    settings = migrated_islands["webshop"]
    await truncate_tables(settings)
    db = Database.from_settings(settings)
    redis = create_redis(settings)
    await redis.delete(generation_key(settings))
    handlers = {**catalog.HANDLERS, **stock.HANDLERS}
    yield Consumer(settings=settings, queue_class=BULK, handlers=handlers, sessions=db.sessions,
                   outbox=Outbox(settings), redis=redis), db  # fmt: skip
    await redis.aclose()
    await db.dispose()


async def rows(db: Database, table: sa.Table, *columns: str) -> dict[str, tuple[Any, ...]]:
    async with db.reader.connect() as conn:
        result = await conn.execute(sa.select(table.c.article_number, *(table.c[c] for c in columns)))
        return {row[0]: tuple(row[1:]) for row in result}


async def test_stock_before_catalogue_and_late_versions(consumer: tuple[Consumer, Database]) -> None:
    worker, db = consumer
    freshness = metrics.PROJECTION_FRESHNESS.labels("webshop", "stock")
    observed = freshness._sum.get()  # type: ignore[attr-defined]

    # Stock arrives first (v2 and a late v1 in one batch); the catalogue row comes later and picks it up.
    assert await worker.apply_batch([stock_event("A", 2, 7), stock_event("A", 1, 99)]) == [True, True]
    assert await rows(db, article_availability_projection, "sellable_qty", "source_batch_id") == {"A": (7, "b2")}
    assert await worker.apply_batch([tyre("A", 1), tyre("B", 1)]) == [True, True]
    assert await rows(db, catalog_article, "sellable_qty", "best_price") == {"A": (7, Decimal("60.00")),
                                                                             "B": (0, None)}  # fmt: skip

    # A later stock change reaches the catalogue copy; an older one arriving afterwards does not.
    await worker.apply_batch([stock_event("B", 3, 4, "55.00")])
    await worker.apply_batch([stock_event("B", 2, 1, "70.00"), stock_event("A", 1, 99)])  # late, and a replay
    assert await rows(db, catalog_article, "sellable_qty", "best_price") == {"A": (7, Decimal("60.00")),
                                                                             "B": (4, Decimal("55.00"))}  # fmt: skip
    assert freshness._sum.get() > observed  # type: ignore[attr-defined]

    # Catalogue versions: an older upsert after a newer one, and a discontinuation, apply by version.
    await worker.apply_batch([tyre("A", 3, brand="Nokia")])
    await worker.apply_batch([tyre("A", 2, brand="Old")])
    assert (await rows(db, catalog_article, "brand", "version"))["A"] == ("Nokia", 3)
    gone = Envelope.wrap(ArticleDiscontinued(article_number="B", version=2), produced_by="erp-middleware",
                         correlation_id="t")  # fmt: skip
    await worker.apply_batch([gone])
    await worker.apply_batch([tyre("B", 1)])  # an upsert older than the discontinuation stays out
    assert set(await rows(db, catalog_article)) == {"A"}


async def test_committed_changes_move_the_search_cache_generation(
    consumer: tuple[Consumer, Database], migrated_islands: dict[str, ServiceSettings]
) -> None:
    worker, _ = consumer
    assert worker.redis is not None
    key = generation_key(migrated_islands["webshop"])
    await worker.apply_batch([tyre("A", 1)])
    after_catalogue = int(await worker.redis.get(key) or 0)
    await worker.apply_batch([stock_event("A", 1, 3)])
    after_stock = int(await worker.redis.get(key) or 0)
    await worker.apply_batch([stock_event("A", 1, 3)])  # a duplicate changes nothing: no bump
    assert (after_catalogue, after_stock, int(await worker.redis.get(key) or 0)) == (1, 2, 2)
