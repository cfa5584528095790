"""Demo data for ``atraxion seed``: the generated ERP export through the real import path."""

from __future__ import annotations

from pathlib import Path

from erp_middleware.articles.service import import_article_export
from foundation.db import Database
from foundation.progress import Progress
from foundation.settings import ServiceSettings


async def load_demo_data(settings: ServiceSettings, data_dir: Path, progress: Progress) -> dict[str, int]:
    """Import ``erp/articles_full.csv`` of a generated data set; counts of what was loaded."""
    db = Database.from_settings(settings)
    try:
        result = await import_article_export(db, data_dir / "erp" / "articles_full.csv", "full", progress)
    finally:
        await db.dispose()
    return {"articles": result.rows_ok, "changed": result.rows_changed, "rejected": result.rows_rejected}
