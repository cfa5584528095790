"""SQL of the set list and set detail, from the projection.

A list is one range read of ``idx_wsp_vehicle_season_qty_price`` (the variant, and its seasons when
asked), the filters on those few rows (at most ``SETS_PER_SEASON`` × seasons × mounting types per
variant), sorted and cut to a page by keyset after the previous page's last set.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

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


def list_query(listing: SetListing, after: tuple[Any, str] | None, limit: int) -> sa.Select[Any]:
    """One keyset page of the variant's sets (``after``: the sort value and set key of the last one shown)."""
    s = wheel_set_projection.c
    query = sa.select(*SET_COLUMNS).where(s.vehicle_variant_id == listing.vehicle_variant_id)
    if listing.seasons:
        query = query.where(s.season.in_(listing.seasons))
    if listing.mounting_type is not None:
        query = query.where(s.mounting_type == listing.mounting_type)
    if listing.staggered is not None:
        query = query.where(s.is_staggered == listing.staggered)
    if listing.in_stock:
        query = query.where(s.sellable_quantity > 0)
    if listing.price_min is not None:
        query = query.where(s.set_price >= listing.price_min)
    if listing.price_max is not None:
        query = query.where(s.set_price <= listing.price_max)
    name, descending = SORTS[listing.sort]
    column = s[name]
    if after is not None:
        value, key = after
        beyond = column < value if descending else column > value
        query = query.where(sa.or_(beyond, sa.and_(column == value, s.set_key > key)))
    return query.order_by(column.desc() if descending else column, s.set_key).limit(limit)


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
