"""The product spec replica fitment needs (sizes, bolt pattern, bore, offset ...), from catalogue events."""

from __future__ import annotations

from typing import Any

from contracts import ArticleUpserted
from contracts.catalog import SPEC_FIELDS
from foundation.bulk import utc_now
from integration_sdk.replicas import versioned_delete, versioned_upsert
from vehicle_data.tables import product_spec

ALL_SPEC_FIELDS = sorted({name for names in SPEC_FIELDS.values() for name in names})


def product_spec_row(event: ArticleUpserted) -> dict[str, Any]:
    """The replica row of an article: its type and typed specs (other types' fields NULL)."""
    specs = event.model_dump(include=set(ALL_SPEC_FIELDS))
    return {"article_number": event.article_number, "product_type": event.article_type, **specs,
            "version": event.version, "updated_at": utc_now()}  # fmt: skip


HANDLERS = {
    "catalog.article.upserted": versioned_upsert(product_spec, "catalog", product_spec_row),
    "catalog.article.discontinued": versioned_delete(product_spec, "catalog"),
}
