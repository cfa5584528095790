"""Demo data for ``atraxion seed``: the generated ERP export through the real import path."""

from __future__ import annotations

from pathlib import Path

from erp_middleware.articles.service import import_article_export
from foundation.db import Database
from foundation.progress import Progress
from foundation.settings import ServiceSettings
from integration_sdk.outbox import Outbox


async def load_demo_data(settings: ServiceSettings, data_dir: Path, progress: Progress) -> dict[str, int]:
    """Import ``erp/articles_full.csv`` of a generated data set (its events wait in the outbox for the relay)."""
    db = Database.from_settings(settings)
    try:
        path = data_dir / "erp" / "articles_full.csv"
        result = await import_article_export(db, path, "full", progress, outbox=Outbox(settings))
    finally:
        await db.dispose()
    return {"articles": result.rows_ok, "changed": result.rows_changed, "rejected": result.rows_rejected}
