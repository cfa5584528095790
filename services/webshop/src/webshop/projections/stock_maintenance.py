"""Stock projection maintenance: reconcile it with stock-import's aggregates, or rebuild it from them.

Events keep ``article_availability_projection`` current; these jobs repair it when that went wrong
(a lost message, a restored backup, a new environment). The source of truth is stock-import's
``GET /api/v1/stock/aggregates`` (never its schema). Every write goes through the same version guard
as the event handler (``applied_version``, stream ``stock``): a snapshot only lands where its
aggregate version is at least the applied one, so a newer event that already arrived is never
overwritten by an older snapshot, and the snapshot's version is recorded so an older event arriving
later is ignored.

The wheel sets holding a repaired article are refreshed in the same transaction. Job state lives in
``projection_job_checkpoint`` (see ``webshop.projections.jobs``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.bulk import named_lock, utc_now
from foundation.db import Database
from foundation.progress import NO_PROGRESS, Progress
from integration_sdk.versioning import newest_applied
from webshop.projections.jobs import (
    DONE,
    RECONCILE_MARKER,
    RUNNING,
    IslandSource,
    SourceError,
    resume_cursor,
    save_checkpoint,
)
from webshop.projections.stock import AVAILABILITY, STREAM, copy_availability, write_availability
from webshop.settings import WebshopSettings
from webshop.tables import article_availability_projection
from webshop.wheel_sets.recompute import refresh_for_articles

PAGE_SIZE = 1_000
MAX_ARTICLES_PER_REQUEST = 200  # `?article=` lists travel in the URL: keep it well under server line limits
REBUILD_MARKER = "rebuild"  # source_batch_id of rows rebuild wrote (the API does not return batch ids); reconcile's:
# RECONCILE_MARKER
AGGREGATES_PATH = "/api/v1/stock/aggregates"


class StockSourceError(SourceError):
    """stock-import could not be read (unreachable, token refused, unexpected answer): nothing more was written."""


@dataclass(frozen=True)
class Aggregate:
    """One stock aggregate as stock-import stores it."""

    article_number: str
    sellable_qty: int
    best_price: Decimal
    next_delivery_date: date | None
    version: int

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> Aggregate:
        """Parse one item of the aggregates API."""
        delivery = item.get("next_delivery_date")
        return cls(
            article_number=item["article_number"],
            sellable_qty=int(item["sellable_qty"]),
            best_price=Decimal(item["best_price"]),
            next_delivery_date=date.fromisoformat(delivery) if delivery else None,
            version=int(item["version"]),
        )

    def availability(self) -> tuple[int, Decimal, date | None]:
        """The compared fields, in ``AVAILABILITY`` order."""
        return self.sellable_qty, self.best_price, self.next_delivery_date

    def projection_row(self, marker: str) -> dict[str, Any]:
        """The projection row of this aggregate; ``marker`` stands in for the batch id the API does not give."""
        return {"article_number": self.article_number, "sellable_qty": self.sellable_qty,
                "best_price": self.best_price, "next_delivery_date": self.next_delivery_date,
                "source_batch_id": marker, "updated_at": utc_now()}  # fmt: skip


@dataclass(frozen=True)
class AggregatePage:
    """One keyset page; ``next_after`` is None on the last page."""

    items: list[Aggregate]
    next_after: str | None


class StockSource(IslandSource):
    """Client of stock-import's aggregates API (keyset pages, or a list of articles)."""

    island = "stock-import"
    setting = "WEBSHOP_STOCK_IMPORT"
    error = StockSourceError

    @classmethod
    def from_settings(cls, settings: WebshopSettings, client: httpx.AsyncClient | None = None) -> StockSource:
        """The source configured by ``WEBSHOP_STOCK_IMPORT_URL`` and ``WEBSHOP_STOCK_IMPORT_TOKEN``."""
        return cls(settings.stock_import_url, settings.stock_import_token.get_secret_value(), client)

    async def _get(self, params: list[tuple[str, str]]) -> dict[str, Any]:
        body = await self.get(AGGREGATES_PATH, tuple(params))
        assert body is not None
        return body

    async def page(
        self, after: str = "", changed_since: datetime | None = None, limit: int = PAGE_SIZE
    ) -> AggregatePage:
        """The aggregates after article ``after`` (computed at or after ``changed_since``), in article order."""
        params = [("after", after), ("limit", str(limit))]
        if changed_since is not None:
            if changed_since.tzinfo is not None:  # stock-import compares with naive UTC timestamps
                changed_since = changed_since.astimezone(UTC).replace(tzinfo=None)
            params.append(("changed_since", changed_since.isoformat()))
        body = await self._get(params)
        return AggregatePage([Aggregate.from_json(item) for item in body["items"]], body.get("next_after"))

    async def pages(
        self, after: str = "", changed_since: datetime | None = None, limit: int = PAGE_SIZE
    ) -> AsyncIterator[AggregatePage]:
        """Every page after ``after``, fetched one at a time as the caller asks for the next."""
        while True:
            page = await self.page(after, changed_since, limit)
            yield page
            if page.next_after is None:
                return
            after = page.next_after

    async def articles(self, article_numbers: Sequence[str]) -> list[Aggregate]:
        """The stored aggregates of these articles; an article stock-import has none for is absent."""
        found: list[Aggregate] = []
        for start in range(0, len(article_numbers), MAX_ARTICLES_PER_REQUEST):
            chunk = article_numbers[start : start + MAX_ARTICLES_PER_REQUEST]
            body = await self._get([("article", number) for number in chunk])
            found.extend(Aggregate.from_json(item) for item in body["items"])
        return found


async def _projection(session: AsyncSession, article_numbers: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    projection = article_availability_projection
    result = await session.execute(
        sa.select(projection.c.article_number, *(projection.c[name] for name in AVAILABILITY)).where(
            projection.c.article_number.in_(list(article_numbers))
        )
    )
    return {row[0]: tuple(row[1:]) for row in result}


async def _write_guarded(session: AsyncSession, aggregates: Sequence[Aggregate], marker: str) -> int:
    """Write these snapshots where their version is at least the applied one, raising ``applied_version``."""
    winners = await newest_applied(session, STREAM, {a.article_number: a.version for a in aggregates})
    rows = [a.projection_row(marker) for a in aggregates if a.article_number in winners]
    if rows:
        await write_availability(session, rows)
        await refresh_for_articles(session, [row["article_number"] for row in rows])  # the sets follow the repair
    return len(rows)


# --- reconcile -----------------------------------------------------------------------------------------


@dataclass
class ReconcileReport:
    """What a reconcile found and did."""

    job_name: str
    since: datetime | None
    checked: int = 0
    missing: int = 0  # no projection row for the aggregate
    differing: int = 0  # a projection row whose quantity, price or delivery date differs
    fixed: int = 0  # of missing + differing, written from the aggregate
    newer_applied: int = 0  # of missing + differing, left alone: a newer event is already applied
    pages: int = 0

    def counts(self) -> dict[str, int]:
        """The counts, as stored and printed."""
        return {key: value for key, value in asdict(self).items() if isinstance(value, int)}


async def reconcile(
    db: Database,
    source: StockSource,
    since: datetime | None = None,
    progress: Progress = NO_PROGRESS,
    *,
    page_size: int = PAGE_SIZE,
) -> ReconcileReport:
    """Compare every aggregate changed since ``since`` (all if None) with the projection and fix the drift.

    One transaction per page of aggregates. The report is stored in ``projection_job_checkpoint`` as job
    ``reconcile:stock:<started at>`` so past runs can be looked up. Projection rows stock-import has no
    aggregate for are not looked at here (``rebuild --scope all`` handles those).
    """
    started = utc_now()
    report = ReconcileReport(job_name=f"reconcile:stock:{started.isoformat(timespec='milliseconds')}", since=since)
    task = progress.task("reconcile stock (pages)")
    async for page in source.pages(changed_since=since, limit=page_size):
        async with db.sessions.begin() as session:
            current = await _projection(session, [a.article_number for a in page.items])
            drifted = [a for a in page.items if current.get(a.article_number) != a.availability()]
            report.missing += sum(1 for a in drifted if a.article_number not in current)
            report.differing += sum(1 for a in drifted if a.article_number in current)
            if drifted:
                fixed = await _write_guarded(session, drifted, RECONCILE_MARKER)
                report.fixed += fixed
                report.newer_applied += len(drifted) - fixed
        report.checked += len(page.items)
        report.pages += 1
        task.advance()
    async with db.sessions.begin() as session:
        scope = since.isoformat() if since else "all"
        await save_checkpoint(session, report.job_name, scope, json.dumps(report.counts()), RECONCILE_MARKER,
                               utc_now())  # fmt: skip
    return report


# --- rebuild -------------------------------------------------------------------------------------------


@dataclass
class RebuildReport:
    """What a rebuild did; ``resumed_after`` is the cursor a resumed run started from."""

    job_name: str
    scope: str
    resumed_after: str | None = None
    pages: int = 0
    aggregates: int = 0
    written: int = 0
    newer_applied: int = 0  # snapshots left alone: a newer event is already applied
    zeroed: int = 0  # projection rows without an aggregate, set to sellable_qty 0
    finished: bool = False
    cursor: str | None = None
    not_found: list[str] = field(default_factory=list)


async def rebuild(
    db: Database,
    source: StockSource,
    scope: str = "all",
    progress: Progress = NO_PROGRESS,
    job: str = "rebuild:stock",
    *,
    page_size: int = PAGE_SIZE,
    max_pages: int | None = None,
) -> RebuildReport:
    """Write the projection from stock-import's aggregates: ``scope`` ``all`` or one article number.

    ``all`` pages through every aggregate in article order. Each page's writes and the checkpoint
    (``job``: last article of the page, state ``running``) commit in one transaction, so a rebuild that
    is killed resumes after the last committed page when started again; once it finishes the state is
    ``done`` and the next run starts over. ``max_pages`` stops early, as a kill would (tests).

    Rule for articles the projection has but stock-import has no aggregate for: they are set to
    sellable_qty 0 (price and delivery date kept), with their catalogue copy. Each page sweeps the
    article range it covers (after the previous page's last article up to its own; the last page to the
    end), in its transaction, so when a full rebuild finishes every such article is at 0. Rows written
    after the page was read are left alone: they come from events of aggregates newer than the page.
    Two full runs of the same job at once are refused (a MariaDB named lock on ``job``).
    """
    report = RebuildReport(job_name=job, scope=scope)
    if scope != "all":
        await _rebuild_article(db, source, scope, report)
        return report
    async with db.writer.connect() as lock_connection, named_lock(lock_connection, job):
        await _rebuild_all(db, source, progress, report, page_size, max_pages)
    return report


async def _rebuild_article(db: Database, source: StockSource, article_number: str, report: RebuildReport) -> None:
    read_at = utc_now()
    aggregates = await source.articles([article_number])
    async with db.sessions.begin() as session:
        if aggregates:
            report.written = await _write_guarded(session, aggregates, REBUILD_MARKER)
            report.newer_applied = len(aggregates) - report.written
        else:
            report.not_found.append(article_number)
            report.zeroed = await _zero_without_aggregate(session, [article_number], read_at)
    report.aggregates, report.pages, report.finished = len(aggregates), 1, True


async def _rebuild_all(
    db: Database, source: StockSource, progress: Progress, report: RebuildReport, page_size: int, max_pages: int | None
) -> None:
    job = report.job_name
    async with db.sessions.begin() as session:
        report.resumed_after = await resume_cursor(session, job, "all")
    after = report.resumed_after or ""
    task = progress.task(f"rebuild stock (pages of {page_size})")
    while max_pages is None or report.pages < max_pages:
        read_at = utc_now()
        page = await source.page(after, limit=page_size)
        last = page.items[-1].article_number if page.items else after
        async with db.sessions.begin() as session:
            if page.items:
                written = await _write_guarded(session, page.items, REBUILD_MARKER)
                report.written += written
                report.newer_applied += len(page.items) - written
            upper = last if page.next_after is not None else None  # the last page sweeps to the end
            report.zeroed += await _sweep_range(session, after, upper, {a.article_number for a in page.items}, read_at)
            done = page.next_after is None
            await save_checkpoint(session, job, "all", None if done else last, DONE if done else RUNNING, utc_now())
        report.pages += 1
        report.aggregates += len(page.items)
        report.cursor = None if done else last
        task.advance()
        if done:
            report.finished = True
            return
        after = last


async def _sweep_range(
    session: AsyncSession, after: str, upto: str | None, present: set[str], read_at: datetime
) -> int:
    """Zero the projection rows in (after, upto] (upto None: to the end) that have no aggregate in the page."""
    projection = article_availability_projection
    query = sa.select(projection.c.article_number).where(
        projection.c.article_number > after, projection.c.sellable_qty != 0, projection.c.updated_at < read_at
    )
    if upto is not None:
        query = query.where(projection.c.article_number <= upto)
    candidates = [number for number in await session.scalars(query) if number not in present]
    return await _zero_without_aggregate(session, candidates, read_at)


async def _zero_without_aggregate(session: AsyncSession, article_numbers: Sequence[str], read_at: datetime) -> int:
    """Set these articles' quantity to 0 unless an event wrote them after ``read_at``; copy to the catalogue."""
    if not article_numbers:
        return 0
    projection = article_availability_projection
    result = await session.execute(
        sa.update(projection)
        .where(projection.c.article_number.in_(list(article_numbers)))
        .where(projection.c.sellable_qty != 0, projection.c.updated_at < read_at)
        .values(sellable_qty=0, source_batch_id=REBUILD_MARKER, updated_at=utc_now())
    )
    await copy_availability(session, list(article_numbers))
    await refresh_for_articles(session, article_numbers)
    return int(getattr(result, "rowcount", 0) or 0)
