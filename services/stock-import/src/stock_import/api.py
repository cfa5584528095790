"""stock-import's HTTP API: feed uploads, import batch reports, and stock answers for other islands.

Everything under ``/api/v1`` needs the operator token (``Authorization: Bearer <token>``).

- ``POST /api/v1/suppliers/{supplier_id}/feeds?kind=full|delta`` with the file as the raw request body
  (streamed to disk, never held in memory): 202 with the batch id, imported by a worker.
- ``GET /api/v1/import-batches`` and ``/api/v1/import-batches/{batch_id}``: status, counts, row errors.
- ``GET /api/v1/stock/aggregates``: the stored aggregates with versions, by article or changed since a
  time (reconcile reads the source of truth here, never stock-import's schema).
- ``GET /api/v1/stock/live``: availability computed at read time from the offers, as the old system did
  (the reference path for dual-read and the performance peer of the projection).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, cast

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from foundation.app import ReaderDep, get_database
from foundation.auth import require_operator
from foundation.errors import ApiError
from integration_sdk.runtime import OutboxDep
from stock_import.imports.service import EmptyFeed, FeedKind, UnknownSupplier, receive_feed
from stock_import.settings import StockImportSettings
from stock_import.stock.aggregates import availability, stored_aggregates
from stock_import.tables import article_stock_aggregate, import_batch, import_row_error

MAX_ARTICLES = 1_000


def settings_of(request: Request) -> StockImportSettings:
    """The island's settings."""
    return cast(StockImportSettings, request.app.state.settings)


router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_operator)], tags=["stock-import"])
ArticleNumbers = Annotated[list[str], Query(alias="article", min_length=1, max_length=MAX_ARTICLES)]


@router.post("/suppliers/{supplier_id}/feeds", status_code=202)
async def upload_feed(
    request: Request,
    supplier_id: str,
    outbox: OutboxDep,
    kind: FeedKind = "full",
    file_name: Annotated[str | None, Query(max_length=200, pattern=r"^[\w.\- ]+$")] = None,
) -> dict[str, Any]:
    """Receive a feed file (raw body) as a queued batch; a worker imports it (full: bulk, delta: high-priority)."""
    settings = settings_of(request)
    name = file_name or f"{supplier_id}-{kind}.feed"
    received = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal received
        async for block in request.stream():
            received += len(block)
            if received > settings.max_upload_bytes:
                raise ApiError(413, "feed_too_large", f"The feed exceeds {settings.max_upload_bytes} bytes.")
            yield block

    db = get_database(request)
    try:
        async with db.sessions.begin() as session:
            batch_id = await receive_feed(session, outbox, settings.feed_store_dir, supplier_id, kind, "upload",
                                          name, body())  # fmt: skip
    except UnknownSupplier as exc:
        raise ApiError(404, "unknown_supplier", str(exc)) from exc
    except EmptyFeed as exc:
        raise ApiError(400, "empty_feed", f"{exc}: send the file as the request body") from exc
    return {"batch_id": batch_id, "status": "queued", "kind": kind, "bytes": received,
            "status_url": f"/api/v1/import-batches/{batch_id}"}  # fmt: skip


def _batch_view(row: Any) -> dict[str, Any]:
    view = dict(row._mapping)
    for name in ("received_at", "started_at", "finished_at"):
        view[name] = view[name].isoformat() + "Z" if view[name] else None
    return view


@router.get("/import-batches")
async def list_batches(
    reader: ReaderDep,
    supplier_id: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Newest batches first, optionally of one supplier and/or status."""
    query = sa.select(import_batch).order_by(import_batch.c.received_at.desc()).limit(limit)
    if supplier_id:
        query = query.where(import_batch.c.supplier_id == supplier_id)
    if status:
        query = query.where(import_batch.c.status == status)
    async with reader.connect() as conn:
        rows = (await conn.execute(query)).all()
    return {"items": [_batch_view(row) for row in rows]}


@router.get("/import-batches/{batch_id}")
async def show_batch(
    reader: ReaderDep,
    batch_id: str,
    errors_limit: Annotated[int, Query(ge=0, le=10_000)] = 100,
    errors_after_row: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    """A batch with its row errors (row, field, value, reason), paged by row number."""
    async with reader.connect() as conn:
        row = (await conn.execute(sa.select(import_batch).where(import_batch.c.batch_id == batch_id))).first()
        if row is None:
            raise ApiError(404, "unknown_batch", f"no import batch {batch_id!r}")
        errors = await conn.execute(
            sa.select(import_row_error.c.row_no, import_row_error.c.field, import_row_error.c.value,
                      import_row_error.c.reason)
            .where(import_row_error.c.batch_id == batch_id, import_row_error.c.row_no > errors_after_row)
            .order_by(import_row_error.c.row_no, import_row_error.c.id)
            .limit(errors_limit)
        )  # fmt: skip
        error_list = [dict(error._mapping) for error in errors]
    body = {**_batch_view(row), "errors": error_list}
    return JSONResponse(body)


def _aggregate_view(number: str, qty: int, price: Any, delivery: Any, version: int | None = None) -> dict[str, Any]:
    view = {"article_number": number, "sellable_qty": qty, "best_price": str(price),
            "next_delivery_date": delivery.isoformat() if delivery else None}  # fmt: skip
    if version is not None:
        view["version"] = version
    return view


@router.get("/stock/aggregates")
async def aggregates(
    reader: ReaderDep,
    article_numbers: Annotated[list[str] | None, Query(alias="article", max_length=MAX_ARTICLES)] = None,
    changed_since: datetime | None = None,
    after: str = "",
    limit: Annotated[int, Query(ge=1, le=5_000)] = 1_000,
) -> dict[str, Any]:
    """Stored aggregates (version ≥ 1) by article, or all computed since a time, in article order (keyset)."""
    agg = article_stock_aggregate
    async with reader.connect() as conn:
        if article_numbers:
            stored = await stored_aggregates(conn, article_numbers)
            items = [_aggregate_view(n, *a, v) for n, (a, v) in sorted(stored.items()) if v > 0]
            return {"items": items, "next_after": None}
        query = (
            sa.select(agg.c.article_number, agg.c.sellable_qty, agg.c.best_price, agg.c.next_delivery_date,
                      agg.c.version)
            .where(agg.c.article_number > after, agg.c.version > 0)
            .order_by(agg.c.article_number)
            .limit(limit)
        )  # fmt: skip
        if changed_since is not None:
            query = query.where(agg.c.computed_at >= changed_since.replace(tzinfo=None))
        rows = (await conn.execute(query)).all()
    items = [_aggregate_view(*row) for row in rows]
    return {"items": items, "next_after": items[-1]["article_number"] if len(items) == limit else None}


@router.get("/stock/live")
async def live_availability(reader: ReaderDep, article_numbers: ArticleNumbers) -> dict[str, Any]:
    """Availability aggregated at read time from every supplier's offers (no stored aggregate involved)."""
    async with reader.connect() as conn:
        live = await availability(conn, article_numbers)
    return {"items": [_aggregate_view(number, *value) for number, value in sorted(live.items())]}
