"""Wheel sets of a vehicle and a set's detail, from the projection.

- ``GET /api/v1/vehicles/{id}/wheel-sets`` (``season``, ``mounting_type``, ``staggered``, ``in_stock``,
  ``price_min``, ``price_max``, ``sort`` = ``price``/``-price``/``quantity``/``-quantity``, ``limit``,
  ``cursor``): the variant's sets with quantity, price and flags;
- ``GET /api/v1/wheel-sets/{set_key}``: one set with its components (catalogue row, availability,
  number needed, unit price), the price breakdown and its flags.
"""

from __future__ import annotations

import base64
import binascii
import json
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from foundation.app import ReaderDep
from foundation.errors import ApiError
from foundation.query import openapi_parameters, query_model
from webshop.search.api import json_response, product_body
from webshop.search.filters import invalid
from webshop.vehicles.api import Season, read_variant
from webshop.wheel_sets.compose import ROLE_COUNT
from webshop.wheel_sets.queries import SORTS, SetListing, components_query, detail_query, list_query

router = APIRouter(tags=["wheel sets"])
Mounting = Literal["unmounted", "mounted", "mounted_balanced"]
SetKey = Annotated[str, Path(pattern="^[0-9a-f]{64}$", description="The set's key (sha256 hex).")]
Price = Annotated[Decimal | None, Field(ge=0, le=99_999_999, description="EUR, per set.")]


def set_body(row: Any) -> dict[str, Any]:
    """A set as the list shows it."""
    return {
        "set_key": row.set_key,
        "vehicle_variant_id": row.vehicle_variant_id,
        "season": row.season,
        "mounting_type": row.mounting_type,
        "is_staggered": bool(row.is_staggered),
        "rim_diameter": row.rim_diameter,
        "match_score": row.match_score,
        "components": {
            "wheel_front": row.wheel_front_article_number,
            "wheel_rear": row.wheel_rear_article_number,
            "tyre_front": row.tyre_front_article_number,
            "tyre_rear": row.tyre_rear_article_number,
            "tpms": row.tpms_article_number,
        },  # fmt: skip
        "flags": {"tpms_missing": bool(row.tpms_missing)},
        "sellable_quantity": row.sellable_quantity,
        "set_price": row.set_price,
        "computed_at": row.computed_at.isoformat(timespec="milliseconds"),
    }


def _encode(context: dict[str, Any], value: Any, key: str) -> str:
    payload = json.dumps({**context, "k": [str(value), key]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode(context: dict[str, Any], cursor: str, numeric: type) -> tuple[Any, str]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        value, key = payload.pop("k")
        if payload != context or not isinstance(key, str):
            raise ValueError("another list")
        return numeric(value), key
    except (binascii.Error, ValueError, TypeError, KeyError, InvalidOperation) as exc:
        raise invalid("cursor", cursor, "not a cursor of this list; pass next_cursor unchanged") from exc


class SetListParams(BaseModel):
    """``GET /api/v1/vehicles/{id}/wheel-sets`` query parameters (repeat ``season`` for several)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    season: list[Season] = Field(default_factory=list, max_length=3)
    mounting_type: Mounting | None = None
    staggered: bool | None = Field(None, description="true: front/rear pairs only; false: four of a kind only.")
    in_stock: bool = Field(False, description="Only sets with a sellable quantity.")
    price_min: Price = None
    price_max: Price = None
    sort: Literal["price", "-price", "quantity", "-quantity"] = "price"
    limit: int = Field(24, ge=1, le=100, description="Results per page.")
    cursor: str | None = Field(None, max_length=500, description="`next_cursor` of the previous page.")


@router.get("/api/v1/vehicles/{variant_id}/wheel-sets", openapi_extra=openapi_parameters(SetListParams))
async def vehicle_wheel_sets(
    reader: ReaderDep, variant_id: int, params: Annotated[SetListParams, Depends(query_model(SetListParams))]
) -> Response:
    """The vehicle's complete wheel sets, cheapest first by default, with honest quantities."""
    price_min, price_max, sort = params.price_min, params.price_max, params.sort
    if price_min is not None and price_max is not None and price_min > price_max:
        raise invalid("price_min", str(price_min), f"above price_max {price_max}")
    listing = SetListing(variant_id, tuple(sorted(set(params.season))), params.mounting_type, params.staggered,
                         params.in_stock, price_min, price_max, sort)  # fmt: skip
    context = {"v": variant_id, "s": list(listing.seasons), "m": params.mounting_type, "g": params.staggered,
               "i": params.in_stock, "p": [str(price_min), str(price_max)], "o": sort}  # fmt: skip
    column, _ = SORTS[sort]
    after = _decode(context, params.cursor, Decimal if column == "set_price" else int) if params.cursor else None
    async with reader.connect() as conn:
        rows = (await conn.exec_driver_sql(*list_query(listing, after, params.limit + 1))).all()
        if not rows and after is None:
            await read_variant(conn, variant_id)  # 404 for an unknown variant; a known one may have no set
    page = rows[: params.limit]
    last = page[-1] if page else None
    return json_response({
        "vehicle_variant_id": variant_id,
        "items": [set_body(row) for row in page],
        "next_cursor": _encode(context, getattr(last, column), last.set_key)
        if last and len(rows) > params.limit else None,
    })  # fmt: skip


@router.get("/api/v1/wheel-sets/{set_key}")
async def wheel_set_detail(reader: ReaderDep, set_key: SetKey) -> Response:
    """One set: components with availability and the number needed, price breakdown, flags."""
    async with reader.connect() as conn:
        row = (await conn.execute(detail_query(set_key))).first()
        if row is None:
            raise ApiError(404, "unknown_wheel_set", f"No wheel set {set_key}; list a vehicle's sets first.")
        components = (await conn.execute(components_query(set_key))).all()
    lines = []
    for part in sorted(components, key=lambda p: list(ROLE_COUNT).index(p.component_role)):
        needed = ROLE_COUNT[part.component_role]
        known = part.article_number is not None
        unit = (part.best_price if part.best_price is not None else part.list_price) if known else None
        lines.append({
            "role": part.component_role, "article_number": part.component_article_number, "quantity": needed,
            "unit_price": unit, "line_price": unit * needed if unit is not None else None,
            "product": product_body(part[2:]) if known else None,  # after the index's two columns
        })  # fmt: skip
    body = set_body(row)
    body["components"] = lines
    body["price_breakdown"] = {
        "components": sum((line["line_price"] or Decimal(0) for line in lines), Decimal(0)),
        "mounting_fee": row.mounting_fee,
        "total": row.set_price,
    }
    return json_response(body)
