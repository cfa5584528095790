"""Importing a supplier feed: the business rules.

- A batch has an id, a status (received → running → succeeded | failed), counts and a row-level error
  report; it is recorded before the work starts, so a failed import is visible too.
- The offers of one batch are applied all or nothing, in one transaction: a feed that turns out to be
  unreadable halfway (broken XML, wrong encoding) changes no offer.
- Every bad row is reported (row number, field, value, reason) and skipped; the good rows apply.
- A full feed replaces the supplier's offers: an article it no longer lists goes to quantity 0. A delta
  (correction) feed touches only its rows.
- An article number the catalogue does not know is a row error, once the catalogue replica has
  arrived (``known_article``, filled by catalogue events); before that, rows are accepted as they are.
- Offers are written in chunks of multi-row upserts, never row by row; ``offers_changed`` counts rows
  whose quantity, price or delivery date actually changed, so an unchanged re-import reports 0.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from foundation.bulk import FileFormatError, RowError, chunked, row_errors, utc_now
from foundation.db import Database
from foundation.progress import NO_PROGRESS, Progress
from stock_import.imports import repository
from stock_import.imports.feeds import OfferRow, read_feed
from stock_import.imports.mapping import FeedMapping, SupplierDefinition

CHUNK_ROWS = 2_000
FeedKind = Literal["full", "delta"]
FeedSource = Literal["upload", "drop_folder", "seed"]


class UnknownSupplier(LookupError):
    """No active supplier with that id is registered."""


@dataclass(frozen=True)
class ImportResult:
    """What one batch did."""

    batch_id: str
    status: str
    rows_total: int
    rows_ok: int
    rows_rejected: int
    offers_changed: int
    errors: list[RowError]
    error: str | None = None


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


def _changed(offer: OfferRow, current: repository.OfferState | None) -> bool:
    return current is None or current != (offer.quantity, offer.price, offer.delivery_date)


async def import_feed(
    db: Database,
    supplier_id: str,
    path: Path,
    kind: FeedKind = "full",
    source: FeedSource = "upload",
    progress: Progress = NO_PROGRESS,
) -> ImportResult:
    """Import one feed file of ``supplier_id`` as a new batch; returns its report."""
    batch_id = f"{supplier_id}-{utc_now():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"
    async with db.writer.begin() as conn:
        mapping_data = await repository.supplier_mapping(conn, supplier_id)
        if mapping_data is None:
            raise UnknownSupplier(f"no active supplier {supplier_id!r} is registered")
        await repository.create_batch(conn, {"batch_id": batch_id, "supplier_id": supplier_id, "kind": kind,
                                             "source": source, "file_name": path.name})  # fmt: skip
    mapping = FeedMapping.model_validate(mapping_data)
    task = progress.task(f"{supplier_id} {path.name}", total=None)
    total = ok = changed = 0
    errors: list[RowError] = []
    try:
        async with db.writer.begin() as conn:
            await repository.update_batch(conn, batch_id, status="running", started_at=utc_now())
            check_known = await repository.catalogue_is_replicated(conn)
            for chunk in chunked(read_feed(path, mapping), CHUNK_ROWS):
                total += len(chunk)
                offers: dict[str, OfferRow] = {}
                for item in chunk:
                    if isinstance(item, OfferRow):
                        offers[item.article_number] = item  # a feed listing an article twice: the last row wins
                    else:
                        errors.extend(item)
                if check_known and offers:
                    known = await repository.known_articles(conn, list(offers))
                    for number in sorted(set(offers) - known, key=lambda n: offers[n].row_no):
                        unknown = offers.pop(number)
                        errors.append(RowError(unknown.row_no, "article_number", number, "unknown article number"))
                if offers:
                    current = await repository.current_offers(conn, supplier_id, list(offers))
                    changed += sum(_changed(offer, current.get(number)) for number, offer in offers.items())
                    await repository.write_offers(conn, supplier_id, batch_id, list(offers.values()))
                    ok += len(offers)
                task.advance(len(chunk))
            if kind == "full":
                changed += await repository.zero_offers_missing_from(conn, supplier_id, batch_id)
            errors.sort(key=lambda e: e.line_no)
            await repository.write_row_errors(conn, batch_id, errors)
            rejected = len({e.line_no for e in errors})
            await repository.update_batch(conn, batch_id, status="succeeded", finished_at=utc_now(), rows_total=total,
                                          rows_ok=ok, rows_rejected=rejected, offers_changed=changed)  # fmt: skip
    except FileFormatError as exc:
        async with db.writer.begin() as conn:
            await repository.update_batch(conn, batch_id, status="failed", finished_at=utc_now(), error=str(exc))
        return ImportResult(batch_id, "failed", total, 0, 0, 0, [], str(exc))
    return ImportResult(batch_id, "succeeded", total, ok, rejected, changed, errors)
