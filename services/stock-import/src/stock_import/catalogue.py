"""The catalogue replica stock-import needs: which article numbers exist (to report unknown ones in feeds)."""

from __future__ import annotations

from typing import Any

from contracts import ArticleUpserted
from foundation.bulk import utc_now
from integration_sdk.replicas import versioned_delete, versioned_upsert
from stock_import.tables import known_article


def known_article_row(event: ArticleUpserted) -> dict[str, Any]:
    """The replica row of an article."""
    return {"article_number": event.article_number, "article_type": event.article_type, "ean": event.ean,
            "updated_at": utc_now()}  # fmt: skip


HANDLERS = {
    "catalog.article.upserted": versioned_upsert(known_article, "catalog", known_article_row),
    "catalog.article.discontinued": versioned_delete(known_article, "catalog"),
}
