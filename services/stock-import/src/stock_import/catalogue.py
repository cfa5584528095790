"""The catalogue replica stock-import needs: which article numbers exist (to report unknown ones in feeds)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import ArticleUpserted
from foundation.bulk import utc_now
from integration_sdk.replicas import versioned_delete, versioned_upsert
from stock_import.tables import known_article, supplier_offer


def known_article_row(event: ArticleUpserted) -> dict[str, Any]:
    """The replica row of an article."""
    return {"article_number": event.article_number, "article_type": event.article_type, "ean": event.ean,
            "updated_at": utc_now()}  # fmt: skip


async def offers_unchecked(session: AsyncSession, article_numbers: list[str]) -> None:
    """The offers of discontinued articles lose ``article_known``: the next feed row for one of them is
    looked up in the catalogue again (and reported as an unknown article number)."""
    offer = supplier_offer.c
    unchecked = sa.update(supplier_offer).values(article_known=False)
    await session.execute(unchecked.where(offer.article_number.in_(article_numbers), offer.article_known))


HANDLERS = {
    "catalog.article.upserted": versioned_upsert(known_article, "catalog", known_article_row),
    "catalog.article.discontinued": versioned_delete(known_article, "catalog", also=offers_unchecked),
}
