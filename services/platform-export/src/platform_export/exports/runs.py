"""Export runs: a stock feed per platform, built from the replica page by page, resumable after a crash.

A run is queued (``export_run`` row + ``platform.export.requested`` on platform-export.bulk) by the
schedule, the API or the CLI, and built by the worker:

- **full**: every article in the platform's filters (type, brand, ``min_stock``), in article order;
- **delta**: every article in the platform's type and brand filters whose replica row changed since
  the platform's last successful run, in change order (``since_seq < change_seq <= until_seq``, the
  window fixed when the run starts; see ``replica``). An article now below ``min_stock`` or
  discontinued is sent with quantity 0, so the platform stops selling it.

Prices: the best supplier price (the list price while nobody offers it) plus the platform's markup.

Memory stays constant: ``export_page_size`` rows are read, written and checkpointed at a time. The
checkpoint (cursor, items, bytes, pages) commits after each page is durable: fsynced into the run's
``.part`` file, or accepted by the platform's endpoint (each page a complete document, sent with
``Idempotency-Key: <run>:<page>``). A crash leaves the run ``running`` and its command unacked; the
redelivered command truncates the file to the checkpoint (or resends the page in flight under the same
key) and continues after the cursor: no item twice, none missing. The finished file is renamed into
place atomically. Only one run per platform at a time (a named lock).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from prometheus_client import Counter, Histogram
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import PlatformExportRequested
from foundation.bulk import LockBusyError, named_lock, utc_now
from foundation.db import Database
from integration_sdk.connectors import Connector
from integration_sdk.consumer import MessageContext
from integration_sdk.errors import PermanentError, TransientError
from integration_sdk.metrics import LAG_BUCKETS
from integration_sdk.outbox import Outbox
from platform_export.exports.formats import FORMATS, FeedMeta
from platform_export.replica import current_change_seq
from platform_export.settings import PlatformExportSettings
from platform_export.tables import export_article, export_run, platform

log = logging.getLogger(__name__)

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
CENT = Decimal("0.01")
EXPORT_RUN_SECONDS = Histogram("export_run_duration_seconds", "Export run duration, start to finish.",
                               ["platform", "kind", "result"], buckets=LAG_BUCKETS)  # fmt: skip
EXPORT_ITEMS = Counter("export_run_items_total", "Items written by export runs.", ["platform", "kind"])
EXPORT_BYTES = Counter("export_run_bytes_total", "Bytes written by export runs.", ["platform", "kind"])

ROW_COLUMNS = (export_article.c.article_number, export_article.c.article_type, export_article.c.brand,
               export_article.c.ean, export_article.c.description, export_article.c.list_price,
               export_article.c.sellable_qty, export_article.c.best_price, export_article.c.next_delivery_date,
               export_article.c.discontinued, export_article.c.change_seq)  # fmt: skip


async def queue_run(session: AsyncSession, outbox: Outbox, platform_id: str, kind: Literal["full", "delta"]) -> str:
    """Queue a run (row and command in the caller's transaction); its id."""
    run_id = uuid.uuid4().hex
    now = utc_now()
    await session.execute(export_run.insert().values(run_id=run_id, platform_id=platform_id, kind=kind,
                                                     status=QUEUED, queued_at=now, started_at=now))  # fmt: skip
    await outbox.add(session, PlatformExportRequested(run_id=run_id, platform_id=platform_id, kind=kind))
    return run_id


@dataclass(frozen=True)
class Selection:
    """Which rows a run reads and how it prices them."""

    kind: str
    types: list[str] | None
    brands: list[str] | None
    min_stock: int
    markup: Decimal
    since_seq: int
    until_seq: int

    def where(self) -> list[sa.ColumnElement[bool]]:
        """The rows of the run's set (not yet the cursor)."""
        conditions: list[sa.ColumnElement[bool]] = [export_article.c.catalog_version > 0]
        if self.types:
            conditions.append(export_article.c.article_type.in_(self.types))
        if self.brands:
            conditions.append(export_article.c.brand.in_(self.brands))
        if self.kind == "full":
            conditions += [export_article.c.discontinued.is_(False), export_article.c.sellable_qty >= self.min_stock]
        else:
            conditions += [export_article.c.change_seq > self.since_seq, export_article.c.change_seq <= self.until_seq]
        return conditions

    def page_query(self, cursor: str | None, limit: int) -> sa.Select[Any]:
        """The next ``limit`` rows after ``cursor`` (article number; ``<seq>:<article>`` for deltas)."""
        query = sa.select(*ROW_COLUMNS).where(*self.where())
        if self.kind == "full":
            if cursor:
                query = query.where(export_article.c.article_number > cursor)
            return query.order_by(export_article.c.article_number).limit(limit)
        if cursor:
            seq_text, _, number = cursor.partition(":")
            seq = int(seq_text)
            query = query.where(sa.or_(export_article.c.change_seq > seq,
                                       sa.and_(export_article.c.change_seq == seq,
                                               export_article.c.article_number > number)))  # fmt: skip
        return query.order_by(export_article.c.change_seq, export_article.c.article_number).limit(limit)

    def cursor_of(self, row: Any) -> str:
        """The cursor after ``row``."""
        return row.article_number if self.kind == "full" else f"{row.change_seq}:{row.article_number}"

    @property
    def price_factor(self) -> Decimal:
        """1 + markup."""
        return 1 + self.markup / 100

    def items(self, rows: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Feed items (``formats.FIELDS`` order): price with markup, quantity 0 when the platform must delist."""
        factor, min_stock = self.price_factor, self.min_stock
        items = []
        for number, kind, brand, ean, description, list_price, qty, best, delivery, discontinued, _ in rows:
            price = ((best if best is not None else list_price) * factor).quantize(CENT, ROUND_HALF_UP)
            listed = not discontinued and qty >= min_stock
            items.append((number, ean, brand, kind, description, qty if listed else 0, str(price),
                          delivery.isoformat() if delivery else None))  # fmt: skip
        return items


class ExportRunner:
    """Builds export runs (the handler of ``platform.export.requested``)."""

    def __init__(self, settings: PlatformExportSettings, connector: Connector) -> None:
        self.settings = settings
        self.connector = connector
        self.db: Database | None = None  # the worker's database, set when it starts

    async def handle(self, event: PlatformExportRequested, context: MessageContext) -> None:
        """Build (or resume) the run; its state commits in transactions of its own, not the inbox's."""
        assert self.db is not None, "ExportRunner.db is set by the worker's lifespan"
        await self.run(self.db, event.run_id)

    async def run(self, db: Database, run_id: str) -> dict[str, Any]:
        """Build or resume run ``run_id``; its final row."""
        run = await _run_row(db, run_id)
        if run is None:
            raise PermanentError(f"export run {run_id} does not exist")
        if run.status in (SUCCEEDED, FAILED):
            return dict(run._mapping)
        async with db.writer.connect() as lock_connection:
            try:
                async with named_lock(lock_connection, f"export-run:{run.platform_id}",
                                      timeout_s=self.settings.export_lock_timeout_s):  # fmt: skip
                    return await self._locked_run(db, run_id)
            except LockBusyError as exc:
                raise TransientError(f"another export of {run.platform_id} is running", retry_after_s=60) from exc

    async def _locked_run(self, db: Database, run_id: str) -> dict[str, Any]:
        started = time.perf_counter()
        async with db.sessions.begin() as session:
            run = (await session.execute(sa.select(export_run).where(export_run.c.run_id == run_id)
                                         .with_for_update())).one()  # fmt: skip
            if run.status in (SUCCEEDED, FAILED):
                return dict(run._mapping)
            config = (await session.execute(sa.select(platform).where(platform.c.platform_id == run.platform_id))).one()
            if run.status == QUEUED:
                since = 0
                if run.kind == "delta":
                    since = await session.scalar(
                        sa.select(sa.func.max(export_run.c.until_seq)).where(
                            export_run.c.platform_id == run.platform_id, export_run.c.status == SUCCEEDED)
                    ) or 0  # fmt: skip
                until = await current_change_seq(session)
                await session.execute(export_run.update().where(export_run.c.run_id == run_id).values(
                    status=RUNNING, started_at=utc_now(), since_seq=since, until_seq=until, cursor=None, items=0,
                    bytes=0, pages=0))  # fmt: skip
                run = (await session.execute(sa.select(export_run).where(export_run.c.run_id == run_id))).one()
        selection = Selection(run.kind, config.type_filter, config.brand_filter, config.min_stock, config.markup_pct,
                              run.since_seq or 0, run.until_seq or 0)  # fmt: skip
        try:
            if config.delivery_channel == "http":
                final = await self._push(db, run, config, selection)
            else:
                final = await self._write_file(db, run, config, selection)
        except PermanentError as exc:
            await _finish(db, run_id, FAILED, error=str(exc)[:2000])
            EXPORT_RUN_SECONDS.labels(run.platform_id, run.kind, FAILED).observe(time.perf_counter() - started)
            raise
        EXPORT_RUN_SECONDS.labels(run.platform_id, run.kind, SUCCEEDED).observe(time.perf_counter() - started)
        return final

    async def _pages(self, db: Database, selection: Selection, cursor: str | None) -> Any:
        """Pages of (rows, next cursor, last page?) after ``cursor``; the next page is read while one is written."""
        size = self.settings.export_page_size

        async def fetch(after: str | None) -> list[Any]:
            async with db.reader.connect() as conn:
                return list((await conn.execute(selection.page_query(after, size + 1))).all())

        pending = asyncio.ensure_future(fetch(cursor))
        try:
            while True:
                rows = await pending
                page, last = rows[:size], len(rows) <= size
                cursor = selection.cursor_of(page[-1]) if page else cursor
                if not last:
                    pending = asyncio.ensure_future(fetch(cursor))
                yield page, cursor, last
                if last:
                    return
        finally:
            pending.cancel()

    async def _write_file(self, db: Database, run: Any, config: Any, selection: Selection) -> dict[str, Any]:
        feed = FORMATS[config.format]
        folder = Path(self.settings.export_dir) / run.platform_id
        folder.mkdir(parents=True, exist_ok=True)
        part = folder / f"{run.run_id}.{feed.extension}.part"
        meta = FeedMeta(run.platform_id, run.kind, run.run_id)
        items, written, start = run.items, run.bytes, run.cursor
        if written and not part.exists():  # the checkpointed file is gone (another machine): start over
            items, written, start = 0, 0, None
        with part.open("r+b" if part.exists() else "wb") as file:
            file.truncate(written)  # drop what was written after the last checkpoint
            file.seek(written)
            if written == 0:
                written += file.write(feed.begin(meta))
            async for page, cursor, last in self._pages(db, selection, start):
                written += file.write(feed.items(selection.items(page), items))
                items += len(page)
                if last:
                    written += file.write(feed.end())
                file.flush()
                os.fsync(file.fileno())
                await _checkpoint(db, run.run_id, cursor, items, written)
                EXPORT_ITEMS.labels(run.platform_id, run.kind).inc(len(page))
        stamp = utc_now().strftime("%Y%m%dT%H%M%S")
        final = folder / f"{run.kind}-{stamp}-{run.run_id}.{feed.extension}"
        os.replace(part, final)
        EXPORT_BYTES.labels(run.platform_id, run.kind).inc(written)
        return await _finish(db, run.run_id, SUCCEEDED, file_path=str(final))

    async def _push(self, db: Database, run: Any, config: Any, selection: Selection) -> dict[str, Any]:
        feed = FORMATS[config.format]
        meta = FeedMeta(run.platform_id, run.kind, run.run_id)
        items, sent, page_no = run.items, run.bytes, run.pages
        async for page, cursor, last in self._pages(db, selection, run.cursor):
            body = feed.begin(meta) + feed.items(selection.items(page), 0) + feed.end()
            page_no += 1
            await self.connector.request(run.platform_id, "POST", config.endpoint_url, content=body, headers={
                "Content-Type": feed.content_type, "Idempotency-Key": f"{run.run_id}:{page_no}",
                "X-Export-Run": run.run_id, "X-Export-Kind": run.kind, "X-Export-Page": str(page_no),
                "X-Export-Last-Page": "true" if last else "false", "X-Export-Format": config.format})  # fmt: skip
            items += len(page)
            sent += len(body)
            await _checkpoint(db, run.run_id, cursor, items, sent)
            EXPORT_ITEMS.labels(run.platform_id, run.kind).inc(len(page))
            EXPORT_BYTES.labels(run.platform_id, run.kind).inc(len(body))
        return await _finish(db, run.run_id, SUCCEEDED, file_path=config.endpoint_url)


async def _run_row(db: Database, run_id: str) -> Any:
    async with db.reader.connect() as conn:
        return (await conn.execute(sa.select(export_run).where(export_run.c.run_id == run_id))).one_or_none()


async def _checkpoint(db: Database, run_id: str, cursor: str | None, items: int, written: int) -> None:
    async with db.writer.begin() as conn:
        await conn.execute(export_run.update().where(export_run.c.run_id == run_id).values(
            cursor=cursor, items=items, bytes=written, pages=export_run.c.pages + 1))  # fmt: skip


async def _finish(db: Database, run_id: str, status: str, **values: Any) -> dict[str, Any]:
    async with db.writer.begin() as conn:
        await conn.execute(export_run.update().where(export_run.c.run_id == run_id).values(
            status=status, finished_at=utc_now(), **values))  # fmt: skip
        row = (await conn.execute(sa.select(export_run).where(export_run.c.run_id == run_id))).one()
    log.info("export run %s of %s (%s): %s, %d items, %d bytes", run_id, row.platform_id, row.kind, status,
             row.items, row.bytes)  # fmt: skip
    return dict(row._mapping)
