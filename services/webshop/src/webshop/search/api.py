"""Product search, lookup and detail: what a dealer's storefront reads, all from ``catalog_article``."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from foundation.app import ReaderDep, RedisDep
from foundation.errors import ApiError
from foundation.query import openapi_parameters, query_model
from foundation.settings import ServiceSettings
from webshop.search.cache import cached_facets
from webshop.search.filters import SearchParams, checked, invalid
from webshop.search.queries import (
    SORT_ORDERS,
    SPEC_SLICES,
    SPECS_START,
    TYRE_FLAGS,
    Key,
    facet_query,
    facets_of,
    lookup_query,
    page_segments,
    product_query,
    sort_key,
)

router = APIRouter(prefix="/api/v1/products", tags=["products"])


class Availability(BaseModel):
    """The article's availability as the last stock event left it."""

    sellable_qty: int
    in_stock: bool
    best_price: Decimal | None = Field(description="Best supplier offer; null when nobody offers it.")
    next_delivery_date: date | None


class Product(BaseModel):
    """A catalogue article with the spec fields of its type (money and decimals as strings)."""

    article_number: str
    type: str
    ean: str | None
    brand: str
    model: str
    description: str
    list_price: Decimal
    specs: dict[str, Any]
    availability: Availability


class FacetCount(BaseModel):
    """How many results have this value."""

    value: str
    count: int


class Facets(BaseModel):
    """Counts over the whole filter set (not only this page)."""

    total: int
    brand: list[FacetCount] = Field(description="Top 30 brands by count.")
    season: list[FacetCount] | None = Field(None, description="Tyres only.")
    availability: dict[str, int] = Field(description="in_stock / out_of_stock.")


class SearchPage(BaseModel):
    """One page of results; pass ``next_cursor`` as ``cursor`` for the next (null: last page)."""

    items: list[Product]
    next_cursor: str | None
    facets: Facets | None


NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such product."}}
BAD_FILTER: dict[int | str, dict[str, Any]] = {400: {"description": "Filters that do not fit together (see details)."}}


@router.get(
    "",
    response_model=SearchPage,
    responses=BAD_FILTER,
    openapi_extra=openapi_parameters(SearchParams),
)
async def search_products(
    request: Request,
    params: Annotated[SearchParams, Depends(query_model(SearchParams))],
    reader: ReaderDep,
    redis: RedisDep,
) -> Response:
    """Search the catalogue by type-specific filters or a brand/model prefix; keyset-paged, with facets."""
    checked(params)
    fingerprint = params.fingerprint()  # binds the cursor and the cached facets to this filter set
    position = decode_cursor(params, fingerprint, params.cursor) if params.cursor else None

    async def page() -> list[sa.Row[Any]]:
        rows: list[sa.Row[Any]] = []
        async with reader.connect() as conn:
            for segment in page_segments(params, position):
                rows.extend((await conn.exec_driver_sql(*segment.read(params.limit + 1 - len(rows)))).all())
                if len(rows) > params.limit:
                    break
        return rows

    async def count() -> dict[str, Any]:
        async with reader.connect() as conn:
            groups = (await conn.exec_driver_sql(*facet_query(params))).all()
        return facets_of(params, groups)

    settings: ServiceSettings = request.app.state.settings
    if params.wants_facets:
        # Both on their own pooled connection: a facet miss costs max(page, count), not the sum.
        rows, facets = await asyncio.gather(page(), cached_facets(redis, settings, fingerprint, count))
    else:
        rows, facets = await page(), None
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    # Serialized here (orjson, plain dicts) rather than through SearchPage: the shape is the same and is
    # checked by the tests; validating and dumping 24 models cost more than the queries. The facets are
    # the cache's JSON as it is.
    body = {
        "items": [product_body(row) for row in rows],
        "next_cursor": encode_cursor(params, fingerprint, sort_key(params, rows[-1])) if more else None,
        "facets": orjson.Fragment(facets) if facets is not None else None,
    }
    return json_response(body)


@router.get("/lookup", response_model=Product, responses=NOT_FOUND)
async def lookup_product(
    reader: ReaderDep,
    code: Annotated[str, Query(min_length=1, max_length=50, description="Article number or EAN-13.")],
) -> Response:
    """The product with this exact article number or EAN-13 (scanner input)."""
    async with reader.connect() as conn:
        row = (await conn.exec_driver_sql(*lookup_query(code))).first()
    if row is None:
        raise ApiError(404, "not_found", f"No product has article number or EAN {code.strip()!r}.")
    return json_response(product_body(row))


@router.get("/{article_number}", response_model=Product, responses=NOT_FOUND)
async def product_detail(reader: ReaderDep, article_number: Annotated[str, Path(max_length=50)]) -> Response:
    """One product by article number."""
    async with reader.connect() as conn:
        row = (await conn.exec_driver_sql(*product_query(article_number))).first()
    if row is None:
        raise ApiError(
            404,
            "not_found",
            f"No product with article number {article_number!r}; "
            "search /api/v1/products or look up an EAN with /api/v1/products/lookup?code=.",
        )
    return json_response(product_body(row))


def product_body(item: Sequence[Any]) -> dict[str, Any]:
    """``Product`` as JSON-ready data from the values of ``ITEM_COLUMNS`` in order, without building the model
    (the search hot path: read by position, not by 33 row attribute lookups).

    ``item`` is a Core row or a driver row of those columns: the driver gives flags as 0/1 and JSON as text,
    so both are read into their API types here.
    """
    head = item[:SPECS_START]
    number, article_type, ean, brand, model, description, list_price, sellable_qty, best_price, delivery = head
    names, where = SPEC_SLICES.get(article_type, ((), slice(0)))
    specs = dict(zip(names, item[where], strict=True))
    if article_type == "tyre":
        for flag in TYRE_FLAGS:
            if specs[flag] is not None:
                specs[flag] = bool(specs[flag])
    elif article_type == "tpms" and isinstance(specs["compatible_makes"], str | bytes):
        specs["compatible_makes"] = orjson.loads(specs["compatible_makes"])
    return {
        "article_number": number,
        "type": article_type,
        "ean": ean,
        "brand": brand,
        "model": model,
        "description": description,
        "list_price": list_price,
        "specs": specs,
        "availability": {
            "sellable_qty": sellable_qty,
            "in_stock": sellable_qty > 0,
            "best_price": best_price,
            "next_delivery_date": delivery,
        },
    }


def json_response(body: Any) -> Response:
    """``body`` as JSON (orjson; money and decimals as strings, as pydantic writes them)."""
    # Column names of driver rows are str subclasses (quoted names), which orjson only takes as keys with this option.
    return Response(orjson.dumps(body, default=_decimal, option=orjson.OPT_NON_STR_KEYS), media_type="application/json")


def _decimal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


# Cursors: base64url JSON of the filter fingerprint, the sort and the last row's sort key. Opaque to
# clients; a cursor of another filter set or sort is refused rather than silently paging something else.


def encode_cursor(params: SearchParams, fingerprint: str, key: Key) -> str:
    """The cursor that continues after the row with sort key ``key`` (``fingerprint``: ``params.fingerprint()``,
    computed once per request)."""
    values = [str(v) if isinstance(v, Decimal) else v for v in key]
    payload = json.dumps({"f": fingerprint, "s": params.sort, "k": values}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(params: SearchParams, fingerprint: str, cursor: str) -> Key:
    """The sort key a cursor continues after, or a 400 saying why the cursor does not fit."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        bound_to, sort, values = payload["f"], payload["s"], payload["k"]
    except (binascii.Error, ValueError, TypeError, KeyError) as exc:
        raise invalid("cursor", cursor, "not a cursor of this API; pass next_cursor unchanged") from exc
    if sort != params.sort or bound_to != fingerprint:
        raise invalid("cursor", cursor, "belongs to another filter set or sort; start again without cursor")
    keys = SORT_ORDERS[params.sort].keys
    if not isinstance(values, list) or len(values) != len(keys):
        raise invalid("cursor", cursor, "malformed position")
    return tuple(_key_value(name, value, cursor) for name, value in zip(keys, values, strict=True))


def _key_value(name: str, value: Any, cursor: str) -> Any:
    if name == "sellable_qty" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if name == "best_price":
        if value is None:
            return None
        try:
            price = Decimal(value) if isinstance(value, str) else None
        except InvalidOperation:
            price = None
        return price if price is not None and price.is_finite() else _bad(cursor)
    if name in ("brand", "model", "article_number") and isinstance(value, str):
        return value
    return _bad(cursor)


def _bad(cursor: str) -> Any:
    raise invalid("cursor", cursor, "malformed position")
