"""The vehicle selector and vehicle → products: pick make → model → year → variant, see what fits.

- ``GET /api/v1/vehicles/makes``, ``/models?make=``, ``/years?make=&model=``: the selector's lists;
- ``GET /api/v1/vehicles?make=&model=&year=&q=``: variants (keyset pages by id); ``q``: words in the
  make, model, variant name or engine;
- ``GET /api/v1/vehicles/{id}``: a variant with its axles and factory sizes;
- ``GET /api/v1/vehicles/{id}/tyres`` and ``/wheels`` (``axle``, ``season``, ``in_stock``, ``limit``,
  ``cursor``): what fits, best match first, then cheapest, each with its availability and its match
  (score, OE). From the fitment replica and the catalogue (``webshop.vehicles.queries``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from foundation.app import ReaderDep
from foundation.errors import ApiError
from foundation.query import openapi_parameters, query_model
from webshop.search.api import json_response, product_body
from webshop.search.filters import invalid
from webshop.tables import vehicle_variant
from webshop.vehicles.queries import (
    VARIANT_COLUMNS,
    Candidate,
    Key,
    Run,
    items_query,
    tyre_candidates,
    variants_query,
    wheel_candidates,
)

router = APIRouter(prefix="/api/v1/vehicles", tags=["vehicles"])
Season = Literal["summer", "winter", "all_season"]
Limit = Annotated[int, Query(ge=1, le=100, description="Results per page.")]


@router.get("/makes")
async def makes(reader: ReaderDep) -> Response:
    """Every make with how many variants it has."""
    v = vehicle_variant.c
    async with reader.connect() as conn:
        rows = await conn.execute(sa.select(v.make, sa.func.count()).group_by(v.make).order_by(v.make))
    return json_response({"items": [{"make": make, "variants": count} for make, count in rows]})


@router.get("/models")
async def models(reader: ReaderDep, make: Annotated[str, Query(min_length=1, max_length=50)]) -> Response:
    """The models of a make with how many variants each has."""
    v = vehicle_variant.c
    async with reader.connect() as conn:
        rows = (await conn.execute(
            sa.select(v.model, sa.func.count()).where(v.make == make).group_by(v.model).order_by(v.model)
        )).all()  # fmt: skip
    if not rows:
        raise ApiError(404, "unknown_make", f"No variants of make {make!r}; see /api/v1/vehicles/makes.")
    return json_response({"make": make, "items": [{"model": model, "variants": count} for model, count in rows]})


@router.get("/years")
async def years(
    reader: ReaderDep,
    make: Annotated[str, Query(min_length=1, max_length=50)],
    model: Annotated[str, Query(min_length=1, max_length=100)],
) -> Response:
    """The model years of a make's model, newest first (a variant still built counts up to this year)."""
    v = vehicle_variant.c
    async with reader.connect() as conn:
        spans = (await conn.execute(
            sa.select(v.year_from, v.year_to).distinct().where(v.make == make, v.model == model)
        )).all()  # fmt: skip
    if not spans:
        raise ApiError(404, "unknown_model", f"No variants of {make} {model!r}; see /api/v1/vehicles/models?make=.")
    this_year = date.today().year
    found = {year for start, end in spans for year in range(start, (end or this_year) + 1)}
    return json_response({"make": make, "model": model, "items": sorted(found, reverse=True)})


@router.get("")
async def search_variants(
    reader: ReaderDep,
    make: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    model: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    year: Annotated[int | None, Query(ge=1900, le=2100)] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description="Words of the model or variant.")] = None,
    after: Annotated[int, Query(ge=0, description="Keyset: variant ids above this one.")] = 0,
    limit: Limit = 50,
) -> Response:
    """Variants by make, model, model year and free text, by id."""
    if make is None and model is None and q is None:
        raise invalid("make", None, "give make, model or q", "Choose a make or a model, or search with q.")
    async with reader.connect() as conn:
        rows = (await conn.execute(variants_query(make, model, year, q, after, limit + 1))).mappings().all()
    items = [dict(row) for row in rows[:limit]]
    return json_response({"items": items, "next_after": items[-1]["vehicle_variant_id"] if len(rows) > limit else None})


VARIANT_QUERY = sa.select(*VARIANT_COLUMNS, vehicle_variant.c.fitments).where(
    vehicle_variant.c.vehicle_variant_id == sa.bindparam("variant_id")
)  # built once: every lookup reads its variant first


async def read_variant(conn: AsyncConnection, variant_id: int) -> dict[str, Any]:
    row = (await conn.execute(VARIANT_QUERY, {"variant_id": variant_id})).mappings().first()
    if row is None:
        raise ApiError(404, "unknown_vehicle", f"No vehicle variant {variant_id}; search /api/v1/vehicles.")
    variant = dict(row)
    variant["axles"] = ["front", "rear"] if any(f["axle"] != "both" for f in variant["fitments"]) else ["both"]
    return variant


@router.get("/{variant_id}")
async def variant_detail(reader: ReaderDep, variant_id: int) -> Response:
    """A variant: identity, hub geometry, TPMS need, axles and factory sizes."""
    async with reader.connect() as conn:
        return json_response(await read_variant(conn, variant_id))


def _axle(variant: dict[str, Any], axle: str | None) -> str:
    if axle is None:
        return str(variant["axles"][0])
    if axle not in variant["axles"]:
        raise invalid("axle", axle, f"this variant's axles are {', '.join(variant['axles'])}")
    return axle


def _encode(context: dict[str, Any], key: Key) -> str:
    payload = json.dumps({**context, "k": [key[0], str(key[1]), key[2]]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode(context: dict[str, Any], cursor: str) -> Key:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        score, price, number = payload.pop("k")
        if payload != context or not isinstance(score, int) or not isinstance(number, str):
            raise ValueError("another lookup")
        return score, Decimal(price), number
    except (binascii.Error, ValueError, TypeError, KeyError, InvalidOperation) as exc:
        raise invalid("cursor", cursor, "not a cursor of this lookup; pass next_cursor unchanged") from exc


def _runner(conn: AsyncConnection) -> Run:
    async def run(statement: sa.Executable | str, params: tuple[Any, ...] | None) -> Sequence[Any]:
        if isinstance(statement, str):
            return (await conn.exec_driver_sql(statement, params)).all()
        return (await conn.execute(statement)).all()

    return run


async def _answer(
    conn: AsyncConnection, variant: dict[str, Any], product_type: str, axle: str, ranked: list[Candidate],
    context: dict[str, Any], limit: int,
) -> Response:  # fmt: skip
    page = ranked[:limit]
    found = (await conn.exec_driver_sql(*items_query([r[0] for r in page]))).all() if page else []
    rows = {row[0]: row for row in found}  # by article number, the first of ITEM_COLUMNS
    items = [
        {**product_body(rows[number]),
         "fitment": {"match_score": score, "is_original_equipment": oe, "axle": axle}}
        for number, score, _, oe in page if number in rows
    ]  # fmt: skip
    last = page[-1] if page else None
    return json_response({
        "vehicle": {name: variant[name] for name in ("vehicle_variant_id", "make", "model", "variant_name", "axles")},
        "product_type": product_type, "axle": axle, "items": items,
        "next_cursor": _encode(context, (last[1], last[2], last[0])) if last is not None and len(ranked) > limit
        else None,
    })  # fmt: skip


class WheelLookup(BaseModel):
    """``GET /api/v1/vehicles/{id}/wheels`` query parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    axle: Literal["front", "rear", "both"] | None = Field(
        None, description="Axle: `both` for most variants, `front`/`rear` for staggered ones (default: the first)."
    )
    in_stock: bool = Field(False, description="Only articles with a sellable quantity.")
    limit: int = Field(24, ge=1, le=100, description="Results per page.")
    cursor: str | None = Field(None, max_length=500, description="`next_cursor` of the previous page.")


class TyreLookup(WheelLookup):
    """``GET /api/v1/vehicles/{id}/tyres`` query parameters (repeat ``season`` for several)."""

    season: list[Season] = Field(default_factory=list, max_length=3)


@router.get("/{variant_id}/tyres", openapi_extra=openapi_parameters(TyreLookup))
async def vehicle_tyres(
    reader: ReaderDep, variant_id: int, params: Annotated[TyreLookup, Depends(query_model(TyreLookup))]
) -> Response:
    """Tyres that fit the axle, best match first, then cheapest; each with availability and match."""
    seasons: list[str] = sorted(params.season)
    in_stock, limit = params.in_stock, params.limit
    async with reader.connect() as conn:
        variant = await read_variant(conn, variant_id)
        chosen = _axle(variant, params.axle)
        context = {"v": variant_id, "t": "tyre", "a": chosen, "s": seasons, "i": in_stock}
        after = _decode(context, params.cursor) if params.cursor else None
        ranked = await tyre_candidates(_runner(conn), variant_id, chosen, seasons, in_stock, after, limit + 1)
        return await _answer(conn, variant, "tyre", chosen, ranked, context, limit)


@router.get("/{variant_id}/wheels", openapi_extra=openapi_parameters(WheelLookup))
async def vehicle_wheels(
    reader: ReaderDep, variant_id: int, params: Annotated[WheelLookup, Depends(query_model(WheelLookup))]
) -> Response:
    """Wheels that fit the axle, best match first, then cheapest; each with availability and match."""
    in_stock, limit = params.in_stock, params.limit
    async with reader.connect() as conn:
        variant = await read_variant(conn, variant_id)
        chosen = _axle(variant, params.axle)
        context = {"v": variant_id, "t": "wheel", "a": chosen, "i": in_stock}
        after = _decode(context, params.cursor) if params.cursor else None
        ranked = await wheel_candidates(_runner(conn), variant_id, chosen, in_stock, after, limit + 1)
        return await _answer(conn, variant, "wheel", chosen, ranked, context, limit)
