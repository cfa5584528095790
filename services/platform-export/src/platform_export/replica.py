"""What platform exports are built from: one ``export_article`` row per article, fed by two streams.

Catalogue events own the catalogue columns, stock events the stock columns; each stream is applied
by its own version, in any order relative to the other. ``changed_at`` moves on every applied change,
so a delta export takes the rows changed since its last run.
"""

from __future__ import annotations

from typing import Any

from contracts import ArticleUpserted, StockAvailabilityChanged
from foundation.bulk import utc_now
from integration_sdk.replicas import versioned_delete, versioned_upsert
from platform_export.tables import export_article

CATALOG_COLUMNS = ("article_type", "brand", "ean", "description", "list_price", "catalog_version", "changed_at")
STOCK_COLUMNS = ("sellable_qty", "best_price", "next_delivery_date", "stock_version", "changed_at")


def catalog_columns(event: ArticleUpserted) -> dict[str, Any]:
    """The catalogue part of an export row."""
    return {"article_number": event.article_number, "article_type": event.article_type, "brand": event.brand,
            "ean": event.ean, "description": event.description, "list_price": event.list_price,
            "catalog_version": event.version, "changed_at": utc_now()}  # fmt: skip


def stock_columns(event: StockAvailabilityChanged) -> dict[str, Any]:
    """The stock part of an export row."""
    return {"article_number": event.article_number, "sellable_qty": event.sellable_qty,
            "best_price": event.best_price, "next_delivery_date": event.next_delivery_date,
            "stock_version": event.version, "changed_at": utc_now()}  # fmt: skip


HANDLERS = {
    "catalog.article.upserted": versioned_upsert(export_article, "catalog", catalog_columns, CATALOG_COLUMNS),
    "catalog.article.discontinued": versioned_delete(export_article, "catalog"),
    "stock.availability.changed": versioned_upsert(export_article, "stock", stock_columns, STOCK_COLUMNS),
}
