"""SQL of the set list and set detail, from the projection.

A list is one range read of ``idx_wsp_vehicle_season_qty_price`` (the variant, and its seasons when
asked), the filters on those few rows (at most ``SETS_PER_SEASON`` × seasons × mounting types per
variant), sorted and cut to a page by keyset after the previous page's last set. Its statement is
compiled once per combination of filters and run as SQL text (``foundation.prepared``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from foundation.prepared import Prepared, Template, bound, compiled, param
from integration_sdk.spec_tables import MONEY
from webshop.search.queries import ITEM_COLUMNS
from webshop.tables import catalog_article, wheel_set_component_index, wheel_set_projection

SET_COLUMNS = [wheel_set_projection.c[name] for name in (
    "set_key", "vehicle_variant_id", "season", "mounting_type", "is_staggered", "rim_diameter", "match_score",
    "wheel_front_article_number", "wheel_rear_article_number", "tyre_front_article_number", "tyre_rear_article_number",
    "tpms_article_number", "tpms_missing", "sellable_quantity", "set_price", "mounting_fee", "computed_at",
)]  # fmt: skip
SORTS = {  # name: (column, descending)
    "price": ("set_price", False),
    "-price": ("set_price", True),
    "quantity": ("sellable_quantity", False),
    "-quantity": ("sellable_quantity", True),
}


@dataclass(frozen=True)
class SetListing:
    """What a set list asks for."""

    vehicle_variant_id: int
    seasons: tuple[str, ...] = ()
    mounting_type: str | None = None
    staggered: bool | None = None
    in_stock: bool = False
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    sort: str = "price"


@functools.lru_cache(maxsize=512)
def _list_template(
    seasons: int, mounting: bool, staggered: bool, in_stock: bool, price_min: bool, price_max: bool, sort: str,
    keyset: bool,
) -> Template:  # fmt: skip
    """The list's statement for the filters a listing has (their values are parameters), compiled once."""
    s = wheel_set_projection.c
    query = sa.select(*SET_COLUMNS).where(s.vehicle_variant_id == param("variant_id"))
    if seasons:
        query = query.where(s.season.in_([param(f"season{n}", sa.String()) for n in range(seasons)]))
    if mounting:
        query = query.where(s.mounting_type == param("mounting_type", sa.String()))
    if staggered:
        query = query.where(s.is_staggered == param("staggered", sa.Boolean()))
    if in_stock:
        query = query.where(s.sellable_quantity > 0)
    if price_min:
        query = query.where(s.set_price >= param("price_min", MONEY))
    if price_max:
        query = query.where(s.set_price <= param("price_max", MONEY))
    name, descending = SORTS[sort]
    column = s[name]
    if keyset:
        value, key = param("after_value", column.type), param("after_key", sa.String())
        beyond = column < value if descending else column > value
        query = query.where(sa.or_(beyond, sa.and_(column == value, s.set_key > key)))
    return compiled(query.order_by(column.desc() if descending else column, s.set_key).limit(param("limit")))


def list_query(listing: SetListing, after: tuple[Any, str] | None, limit: int) -> Prepared:
    """One keyset page of the variant's sets (``after``: the sort value and set key of the last one shown)."""
    template = _list_template(len(listing.seasons), listing.mounting_type is not None, listing.staggered is not None,
                              listing.in_stock, listing.price_min is not None, listing.price_max is not None,
                              listing.sort, after is not None)  # fmt: skip
    values: dict[str, Any] = {
        "variant_id": listing.vehicle_variant_id, "mounting_type": listing.mounting_type,
        "staggered": listing.staggered, "price_min": listing.price_min, "price_max": listing.price_max,
        "limit": limit, **{f"season{n}": season for n, season in enumerate(listing.seasons)},
    }  # fmt: skip
    if after is not None:
        values["after_value"], values["after_key"] = after
    return bound(template, values)


def detail_query(set_key: str) -> sa.Select[Any]:
    return sa.select(*SET_COLUMNS).where(wheel_set_projection.c.set_key == set_key)


def components_query(set_key: str) -> sa.Select[Any]:
    """The set's components (reverse index by set key) with their catalogue rows and availability."""
    i = wheel_set_component_index
    return (
        sa.select(i.c.component_article_number, i.c.component_role, *ITEM_COLUMNS)
        .join(catalog_article, catalog_article.c.article_number == i.c.component_article_number, isouter=True)
        .where(i.c.set_key == set_key)
    )
