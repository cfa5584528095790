"""Import of the ERP article export into the article master.

The import is its own unit-of-work edge: it holds the island's ``article_import`` named lock (one
import at a time) and commits one session per chunk. Each chunk's transaction holds the chunk's
article writes, its rejected lines and the import's running counts, so a crash leaves a
consistent prefix applied; re-running the file then skips what was applied, because unchanged
rows (same content hash) are never written.

``apply_chunk`` is where a chunk's changes are known: it puts one ``catalog.article.upserted`` event
per written row (the article's full new state with its new ``version``) into the outbox, in the
chunk's transaction, so replicas hear of exactly the articles that changed and of nothing else.

Full and delta exports are applied the same way (a delta carries only new and changed articles);
the kind is recorded on the import. A full import does not discontinue articles missing from the
file: discontinuation comes with the catalogue events (a replica must hear of it), not here.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from contracts import ArticleUpserted
from erp_middleware.articles import repository
from erp_middleware.articles.models import COMMON_FIELDS, SPEC_FIELDS, Article
from erp_middleware.articles.parsing import ParsedLine, open_article_export
from foundation.bulk import (
    DEFAULT_CHUNK_SIZE,
    RowError,
    chunked,
    content_hash,
    count_lines,
    named_lock,
    utc_now,
)
from foundation.db import Database
from foundation.progress import NO_PROGRESS, Progress
from integration_sdk.outbox import Outbox

ImportKind = Literal["full", "delta"]


class ArticleChange(NamedTuple):
    """An article whose content changed (or that is new), with its new aggregate version."""

    article_number: str
    version: int


@dataclass
class ArticleImportResult:
    """What one import did: line counts, the changed articles and the rejected lines."""

    import_id: str
    kind: ImportKind
    status: str = "running"
    rows_total: int = 0
    rows_ok: int = 0
    rows_rejected: int = 0
    rows_changed: int = 0  # new + changed
    rows_created: int = 0
    rows_unchanged: int = 0
    changes: list[ArticleChange] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """The counters stored on ``article_import``."""
        return {
            "rows_total": self.rows_total,
            "rows_ok": self.rows_ok,
            "rows_rejected": self.rows_rejected,
            "rows_changed": self.rows_changed,
            "rows_unchanged": self.rows_unchanged,
        }


@dataclass
class ChunkOutcome:
    """One chunk applied: its changed articles, unchanged and rejected lines."""

    changes: list[ArticleChange]
    created: int
    unchanged: int
    rejected_lines: int
    errors: list[RowError]


def article_row(article: Article, import_id: str) -> dict[str, Any]:
    """The ``article`` row of a valid record; ``content_hash`` covers every field from the ERP."""
    data = article.model_dump(mode="json")  # normalised: trimmed text, quantised decimals as strings
    row = {name: data[name] for name in COMMON_FIELDS}
    row["specs"] = {name: data[name] for name in SPEC_FIELDS[article.article_type]}
    row["content_hash"] = content_hash(row)
    row["list_price"] = article.list_price
    row["last_import_id"] = import_id  # the import that last changed the row: written rows only
    return row


def article_upserted(row: dict[str, Any]) -> ArticleUpserted:
    """The catalogue event of a written ``article`` row: its full state and new version."""
    common = {name: row[name] for name in COMMON_FIELDS}
    return ArticleUpserted.model_validate({**common, **row["specs"], "version": row["version"]})


async def apply_chunk(
    session: AsyncSession, import_id: str, lines: list[ParsedLine], first_line_of: dict[str, int], outbox: Outbox
) -> ChunkOutcome:
    """Write a chunk's new and changed articles and its errors; the caller commits."""
    errors = [error for line in lines for error in line.errors]
    rejected = {line.line_no for line in lines if line.article is None}
    candidates: list[tuple[int, Article]] = []
    for line in lines:
        if line.article is None:
            continue
        number = line.article.article_number
        if (first := first_line_of.setdefault(number, line.line_no)) != line.line_no:
            errors.append(RowError(line.line_no, "article_number", number, f"duplicate of line {first}", number))
            rejected.add(line.line_no)
        else:
            candidates.append((line.line_no, line.article))

    now = utc_now()
    rows = [{**article_row(item, import_id), "created_at": now, "updated_at": now} for _, item in candidates]
    split = await repository.split_articles(session, rows)
    # An EAN is unique: a conflicting row must be refused here, since ON DUPLICATE KEY UPDATE would
    # otherwise overwrite the article that holds the EAN. Only written rows can bring a new EAN.
    owners = await repository.ean_owners(session, {row["ean"] for row in split.written if row["ean"]})
    line_of = {item.article_number: line_no for line_no, item in candidates}
    written = []
    for row in split.written:
        number, ean = row["article_number"], row["ean"]
        owner = owners.setdefault(ean, number) if ean else number
        if owner == number:
            written.append(row)
        else:
            line_no = line_of[number]
            errors.append(RowError(line_no, "ean", ean, f"EAN already belongs to article {owner}", number))
            rejected.add(line_no)
    await repository.write_articles(session, written)
    await repository.record_errors(session, import_id, errors)
    await outbox.add_many(session, [article_upserted(row) for row in written], correlation_id=import_id)
    changes = [ArticleChange(row["article_number"], row["version"]) for row in written]
    created = sum(1 for change in changes if change.version == 1)
    return ChunkOutcome(changes, created, split.unchanged, len(rejected), errors)


async def import_article_export(
    db: Database,
    path: Path,
    kind: ImportKind = "full",
    progress: Progress = NO_PROGRESS,
    *,
    outbox: Outbox,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> ArticleImportResult:
    """Validate and apply an ERP article export; raises ``FileFormatError`` (nothing applied) on a bad header."""
    started = utc_now()
    result = ArticleImportResult(f"{started:%Y%m%dT%H%M%S}-{kind}-{secrets.token_hex(4)}", kind)
    async with db.writer.connect() as lock_conn, named_lock(lock_conn, "article_import"):
        async with db.sessions.begin() as session:
            await repository.start_import(session, result.import_id, kind, path.name, started)
        try:
            lines = open_article_export(path)
            task = progress.task(f"ERP articles ({kind})", total=max(count_lines(path) - 1, 0))
            first_line_of: dict[str, int] = {}
            for chunk in chunked(lines, chunk_size):
                async with db.sessions.begin() as session:
                    outcome = await apply_chunk(session, result.import_id, chunk, first_line_of, outbox)
                    _add(result, len(chunk), outcome)
                    await repository.update_import(session, result.import_id, **result.counts())
                task.advance(len(chunk))
        except Exception as exc:
            result.status = "failed"
            async with db.sessions.begin() as session:
                await repository.update_import(
                    session, result.import_id, status="failed", finished_at=utc_now(), error=str(exc)
                )
            raise
        result.status = "succeeded"
        async with db.sessions.begin() as session:
            await repository.update_import(session, result.import_id, status="succeeded", finished_at=utc_now())
    return result


def _add(result: ArticleImportResult, lines: int, outcome: ChunkOutcome) -> None:
    result.rows_total += lines
    result.rows_rejected += outcome.rejected_lines
    result.rows_ok += lines - outcome.rejected_lines
    result.rows_changed += len(outcome.changes)
    result.rows_created += outcome.created
    result.rows_unchanged += outcome.unchanged
    result.changes.extend(outcome.changes)
    result.errors.extend(outcome.errors)
