"""Importing a supplier feed: the business rules.

- A feed arrives (HTTP upload, drop folder, seed) and is stored as a batch with status ``queued``
  together with a ``stock.feed.*-received`` command in the outbox, in one transaction. The worker
  imports it from the island's queue: full feeds on ``bulk``, corrections on ``high-priority``.
- A batch has an id, a status (queued → succeeded | failed), counts and a row-level error report.
- A batch is applied all or nothing, in one transaction with its inbox claim: offers, aggregates,
  events, status. A feed that turns out to be unreadable halfway (broken XML, wrong encoding) changes
  no offer and ends ``failed`` with the reason; a crash or outage mid-import leaves nothing behind
  and the redelivered command runs the batch again.
- The rows are parsed, typed and checked by MariaDB while they stream into a staging table
  (``LOAD DATA LOCAL INFILE``; the rules are in ``staging``), and merged set-based. No row becomes a
  Python object (XML is converted to text a record at a time, ``feeds``), so a 40k-row feed never
  sits in the process's memory.
- Every bad row is reported (row number, field, value, reason) and skipped; the good rows apply. When
  an article is listed twice, its last valid row wins. A full feed none of whose rows is valid (a
  changed file layout, say) fails with its row report instead of setting every offer to 0.
- A full feed replaces the supplier's offers: an article it no longer lists (or lists only with bad
  rows) goes to quantity 0. A delta (correction) feed touches only its rows. Both set values, never
  add, so importing the same feed twice has the effect of importing it once.
- An article number the catalogue does not know is a row error, once the catalogue replica has
  arrived (``known_article``, filled by catalogue events); before that, rows are accepted as they are.
- Offers are written in bulk (one ``INSERT ... SELECT``), and only those whose values differ from the
  stored ones; ``offers_changed`` counts offers whose quantity, price or delivery date actually
  changed. Only their articles' aggregates are recomputed, and only aggregates that changed emit
  ``stock.availability.changed``: an unchanged re-import emits nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from contracts import CorrectionFeedReceived, FullFeedReceived, StockAvailabilityChanged
from foundation.bulk import FileFormatError, RowError, row_errors, utc_now
from foundation.db import Database
from foundation.progress import NO_PROGRESS, Progress
from integration_sdk.outbox import Outbox
from stock_import.imports import repository, staging
from stock_import.imports.feeds import staged_file
from stock_import.imports.mapping import FeedMapping, SupplierDefinition
from stock_import.stock import aggregates

ERROR_SAMPLE = 1_000  # row errors an ImportResult carries; the batch's report holds all of them
FeedKind = Literal["full", "delta"]
FeedSource = Literal["upload", "drop_folder", "seed"]


class UnknownSupplier(LookupError):
    """No active supplier with that id is registered."""


class EmptyFeed(ValueError):
    """The received feed has no content."""


class UnknownBatch(LookupError):
    """No import batch with that id."""


@dataclass(frozen=True)
class ImportResult:
    """What one batch did (``errors``: the first ``ERROR_SAMPLE`` of its report)."""

    batch_id: str
    status: str
    rows_total: int
    rows_ok: int
    rows_rejected: int
    offers_changed: int
    errors: list[RowError]
    error: str | None = None
    aggregates_changed: int = 0


async def register_suppliers(db: Database, path: Path) -> tuple[int, list[RowError]]:
    """Register the definitions of ``suppliers.json``; bad definitions are reported by position."""
    definitions, errors = [], []
    for position, raw in enumerate(json.loads(path.read_text(encoding="utf-8")), start=1):
        try:
            definitions.append(SupplierDefinition.model_validate(raw))
        except ValidationError as exc:
            errors.extend(row_errors(position, exc))
    now = utc_now()
    async with db.writer.begin() as conn:
        await repository.upsert_suppliers(conn, [
            {**d.model_dump(exclude={"mapping"}), "feed_format": d.mapping.format,
             "mapping": d.mapping.model_dump(), "active": True, "updated_at": now}
            for d in definitions
        ])  # fmt: skip
    return len(definitions), errors


def new_batch_id(supplier_id: str) -> str:
    """``<supplier>-<UTC time>-<random>``: sortable by time, unique."""
    return f"{supplier_id}-{utc_now():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"


def stored_feed(store_dir: Path, batch_id: str, file_name: str) -> Path:
    """Where a batch's feed file is kept."""
    return store_dir / batch_id / Path(file_name).name


async def receive_feed(
    session: AsyncSession,
    outbox: Outbox,
    store_dir: Path,
    supplier_id: str,
    kind: FeedKind,
    source: FeedSource,
    file_name: str,
    content: AsyncIterator[bytes] | Path,
) -> str:
    """Store a feed as a ``queued`` batch and put its import command in the outbox; the batch id.

    The file is written (and fsynced) before the transaction commits; a failed write or an empty file
    leaves nothing behind (``EmptyFeed``).
    """
    conn = await session.connection()
    if await repository.supplier_mapping(conn, supplier_id) is None:
        raise UnknownSupplier(f"no active supplier {supplier_id!r} is registered")
    batch_id = new_batch_id(supplier_id)
    target = stored_feed(store_dir, batch_id, file_name)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        size = await _write(target, content)
        if size == 0:
            raise EmptyFeed(f"the feed {file_name!r} is empty")
        batch = {"batch_id": batch_id, "supplier_id": supplier_id, "kind": kind, "source": source,
                 "file_name": target.name, "status": "queued"}  # fmt: skip
        await repository.create_batch(conn, batch)
    except BaseException:
        shutil.rmtree(target.parent, ignore_errors=True)
        raise
    command = FullFeedReceived if kind == "full" else CorrectionFeedReceived
    await outbox.add(session, command(batch_id=batch_id, supplier_id=supplier_id, file_name=target.name))
    return batch_id


async def _write(target: Path, content: AsyncIterator[bytes] | Path) -> int:
    size = 0
    with target.open("wb") as out:
        if isinstance(content, Path):
            with content.open("rb") as source_file:
                shutil.copyfileobj(source_file, out, 1 << 20)
        else:
            async for block in content:
                out.write(block)
        out.flush()
        os.fsync(out.fileno())
        size = out.tell()
    return size


async def run_batch(
    session: AsyncSession, outbox: Outbox, store_dir: Path, batch_id: str, progress: Progress = NO_PROGRESS
) -> ImportResult:
    """Import a queued batch in the caller's transaction (offers, aggregates, events, status).

    A batch that already finished is reported as it stands (a redelivered command changes nothing).
    A file-level problem marks the batch ``failed`` with the reason and applies none of its rows.
    """
    conn = await session.connection()
    batch = await repository.batch(conn, batch_id, lock=True)
    if batch is None:
        raise UnknownBatch(f"no import batch {batch_id!r}")
    if batch["status"] != "queued":
        return ImportResult(batch_id, batch["status"], batch["rows_total"], batch["rows_ok"], batch["rows_rejected"],
                            batch["offers_changed"], [], batch["error"], batch["aggregates_changed"])  # fmt: skip
    supplier_id, kind = batch["supplier_id"], batch["kind"]
    mapping_data = await repository.supplier_mapping(conn, supplier_id)
    if mapping_data is None:
        return await _fail(conn, batch_id, f"supplier {supplier_id!r} is no longer registered or active")
    path = stored_feed(store_dir, batch_id, batch["file_name"])
    started = utc_now()
    try:
        async with session.begin_nested():  # a file-level error undoes the rows applied so far
            result = await _apply_feed(session, outbox, batch_id, supplier_id, kind, path,
                                       FeedMapping.model_validate(mapping_data), progress)  # fmt: skip
    except (FileFormatError, FileNotFoundError) as exc:
        return await _fail(conn, batch_id, str(exc), started)
    await repository.update_batch(conn, batch_id, status=result.status, started_at=started, finished_at=utc_now(),
                                  rows_total=result.rows_total, rows_ok=result.rows_ok,
                                  rows_rejected=result.rows_rejected, offers_changed=result.offers_changed,
                                  aggregates_changed=result.aggregates_changed, error=result.error)  # fmt: skip
    return result


async def _fail(conn: AsyncConnection, batch_id: str, error: str, started: datetime | None = None) -> ImportResult:
    await repository.update_batch(conn, batch_id, status="failed", started_at=started or utc_now(),
                                  finished_at=utc_now(), error=error)  # fmt: skip
    return ImportResult(batch_id, "failed", 0, 0, 0, 0, [], error)


async def _apply_feed(
    session: AsyncSession,
    outbox: Outbox,
    batch_id: str,
    supplier_id: str,
    kind: str,
    path: Path,
    mapping: FeedMapping,
    progress: Progress,
) -> ImportResult:
    conn = await session.connection()
    task = progress.task(f"{supplier_id} {path.name}", total=None)
    check_known = await repository.catalogue_is_replicated(conn)
    full = kind == "full"
    async with staged_file(path, mapping, path.parent) as staged:
        async with staging.staging_tables(conn):
            await staging.load(conn, staged, mapping)
            await staging.diff_offers(conn, supplier_id, check_known)
            await staging.record_row_errors(conn, batch_id, mapping)
            rows_total, rejected = await staging.row_counts(conn, batch_id)
            task.advance(rows_total)
            errors = await staging.first_row_errors(conn, batch_id, ERROR_SAMPLE) if rejected else []
            if full and rows_total and rejected == rows_total:
                error = (f"none of the feed's {rows_total} rows is valid (see the row errors): a full feed "
                         "like this would set all the supplier's offers to 0, so nothing was applied")  # fmt: skip
                return ImportResult(batch_id, "failed", rows_total, 0, rejected, 0, errors, error)
            offers_changed = await staging.apply_offers(
                conn, supplier_id, batch_id, full=full, now=utc_now(), check_known=check_known
            )
            changed = await aggregates.recompute(conn, batch_id) if offers_changed else 0
            if changed:
                await outbox.add_from_select(session, StockAvailabilityChanged, aggregates.changed_query(batch_id),
                                             aggregate_id="article_number", aggregate_version="version",
                                             correlation_id=batch_id)  # fmt: skip
    return ImportResult(batch_id, "succeeded", rows_total, rows_total - rejected, rejected, offers_changed, errors,
                        None, changed)  # fmt: skip


async def import_feed(
    db: Database,
    outbox: Outbox,
    store_dir: Path,
    supplier_id: str,
    path: Path,
    kind: FeedKind = "full",
    source: FeedSource = "seed",
    progress: Progress = NO_PROGRESS,
) -> ImportResult:
    """Receive and import a feed at once, without the queue (seeding, tests): two transactions."""
    async with db.sessions.begin() as session:
        batch_id = await receive_feed(session, outbox, store_dir, supplier_id, kind, source, path.name, path)
    async with db.sessions.begin() as session:
        return await run_batch(session, outbox, store_dir, batch_id, progress)
