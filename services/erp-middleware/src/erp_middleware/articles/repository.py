"""Write-side SQL of the article master and its import log."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from erp_middleware.tables import article, article_import, article_import_error
from foundation.bulk import RowError, VersionedSplit, split_changed, upsert


async def start_import(session: AsyncSession, import_id: str, kind: str, file_name: str, at: datetime) -> None:
    """Log a new import as running."""
    await session.execute(
        insert(article_import).values(
            import_id=import_id, kind=kind, file_name=file_name[:255], status="running", started_at=at
        )
    )


async def update_import(session: AsyncSession, import_id: str, **values: Any) -> None:
    """Set counts, status, end time or error of an import."""
    await session.execute(update(article_import).where(article_import.c.import_id == import_id).values(**values))


async def record_errors(session: AsyncSession, import_id: str, errors: Sequence[RowError]) -> None:
    """Store the rejected lines' errors of one chunk."""
    if errors:
        await session.execute(insert(article_import_error), [error.as_row(import_id=import_id) for error in errors])


async def ean_owners(session: AsyncSession, eans: Collection[str]) -> dict[str, str]:
    """The article that holds each of ``eans`` today."""
    if not eans:
        return {}
    rows = await session.execute(select(article.c.ean, article.c.article_number).where(article.c.ean.in_(eans)))
    return dict(rows.all())


async def split_articles(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> VersionedSplit:
    """The new and changed ones of ``rows`` (by content hash), stamped with their next version, locked."""
    return await split_changed(session, article, "article_number", rows)


async def write_articles(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or overwrite ``rows`` (``created_at`` of an existing article is kept)."""
    await upsert(session, article, rows)
