"""SQL of product search on ``catalog_article`` (SQLAlchemy Core), shaped for the indexes of migration webshop_0004.

Pages are keyset pages: each sort orders by its key columns and ends with ``article_number`` (unique),
so "after this row" is a range on an index and a page costs the same at page 1 and page 500. Every
order runs in one direction throughout (the tie-break follows the sort), which lets MariaDB read an
index forwards or backwards instead of sorting. The bound on the first key column is written out
(``col >= v AND (col > v OR ...)``) because MariaDB does not turn row-value comparisons into ranges.

Price sorts put articles without a price (``best_price`` NULL: no supplier offers them) last in both
directions. A page is therefore read in up to two segments: priced rows by price, then unpriced rows
by article number; each segment is one index range.

Known limit (MariaDB 10.11): when the only equality before the sort column is the product type (browsing
a whole type), the optimizer prefers ref access on the type over the keyset range and walks from the top
of the type to the cursor, so deep pages of whole-type browsing cost more the deeper they are. Searches
with a tyre size or a wheel pcd (the storefront's hot path) get the range.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from webshop.search.filters import EU_ORDER, SPEED_ORDER, SearchParams
from webshop.tables import catalog_article

c = catalog_article.c

SPEC_COLUMNS: dict[str, tuple[str, ...]] = {
    "tyre": ("width", "aspect", "rim_diameter", "load_index", "speed_rating", "season", "run_flat", "xl",
             "three_pmsf", "eu_fuel", "eu_wet", "eu_noise_db"),
    "wheel": ("bolt_count", "pcd", "wheel_diameter", "wheel_width", "offset", "center_bore", "wheel_load_kg",
              "material"),
    "tpms": ("protocol", "frequency_mhz", "compatible_makes"),
}  # fmt: skip
BASE_COLUMNS = ("article_number", "article_type", "ean", "brand", "model", "description", "list_price")
AVAILABILITY_COLUMNS = ("sellable_qty", "best_price", "next_delivery_date")
ITEM_COLUMNS = [
    c[name] for name in (*BASE_COLUMNS, *AVAILABILITY_COLUMNS, *(n for cols in SPEC_COLUMNS.values() for n in cols))
]
TOP_BRANDS = 30
SIZE_INDEX_LEAD = {"tyre": "width", "wheel": "pcd"}  # first column of the type's size indexes
LIKE_ESCAPE = "!"

Key = tuple[Any, ...]


@dataclass(frozen=True)
class Sort:
    """A sort order: key columns (last one unique) read in one direction; ``nullable``: first key may be NULL."""

    keys: tuple[str, ...]
    descending: bool
    nullable: bool = False


SORT_ORDERS: dict[str, Sort] = {
    "availability": Sort(("sellable_qty", "article_number"), descending=True),
    "price": Sort(("best_price", "article_number"), descending=False, nullable=True),
    "-price": Sort(("best_price", "article_number"), descending=True, nullable=True),
    "brand": Sort(("brand", "model", "article_number"), descending=False),
}


def search_conditions(params: SearchParams) -> list[ColumnElement[bool]]:
    """WHERE conditions of the filter set (already ``checked``: every filter fits ``params.type``)."""
    p = params
    where: list[ColumnElement[bool]] = []
    # Spec columns are NULL on other types' rows (data model), so a tyre width or wheel pcd already keeps
    # only rows of its type; leaving the type test out keeps the size indexes covering for facet counts.
    lead = SIZE_INDEX_LEAD.get(p.type) if p.type is not None else None
    if p.type is not None and (lead is None or getattr(p, lead) is None):
        where.append(c.article_type == p.type)
    if p.q is not None:
        where.append(prefix_condition(p.q))
    if p.brand:
        where.append(c.brand.in_(sorted(set(p.brand))))
    if p.in_stock is not None:
        where.append(c.sellable_qty > 0 if p.in_stock else c.sellable_qty <= 0)
    if p.diameter is not None:
        where.append((c.wheel_diameter if p.type == "wheel" else c.rim_diameter) == p.diameter)
    equal = {
        "width": p.width, "aspect": p.aspect, "run_flat": p.run_flat, "xl": p.xl, "three_pmsf": p.three_pmsf,
        "bolt_count": p.bolt_count, "pcd": p.pcd, "wheel_width": p.wheel_width, "material": p.material,
    }  # fmt: skip
    where.extend(c[name] == value for name, value in equal.items() if value is not None)
    at_least = {"load_index": p.min_load_index, "offset": p.min_offset, "center_bore": p.min_center_bore}
    where.extend(c[name] >= value for name, value in at_least.items() if value is not None)
    at_most = {"eu_noise_db": p.max_noise_db, "offset": p.max_offset}
    where.extend(c[name] <= value for name, value in at_most.items() if value is not None)
    if p.season:
        where.append(c.season.in_(sorted(set(p.season))))
    if p.min_speed_rating is not None:
        where.append(c.speed_rating.in_(SPEED_ORDER[SPEED_ORDER.index(p.min_speed_rating) :]))
    if p.max_eu_fuel is not None:
        where.append(c.eu_fuel.in_(EU_ORDER[: EU_ORDER.index(p.max_eu_fuel) + 1]))
    if p.max_eu_wet is not None:
        where.append(c.eu_wet.in_(EU_ORDER[: EU_ORDER.index(p.max_eu_wet) + 1]))
    if p.make is not None:
        # 3% of the catalogue: the type index narrows to the sensors, JSON_CONTAINS checks each.
        where.append(sa.func.json_contains(c.compatible_makes, json.dumps(p.make)) == 1)
    return where


def prefix_condition(q: str) -> ColumnElement[bool]:
    """Brand starts with ``q``, or ``q`` is a whole brand, a space and the start of a model.

    Every alternative is a range on the (brand, model) index; the collation makes it case-insensitive.
    """
    text = " ".join(q.split())
    options: list[ColumnElement[bool]] = [c.brand.like(_like_prefix(text), escape=LIKE_ESCAPE)]
    for position, char in enumerate(text):
        if char == " ":
            brand, model = text[:position], text[position + 1 :]
            options.append(sa.and_(c.brand == brand, c.model.like(_like_prefix(model), escape=LIKE_ESCAPE)))
    return sa.or_(*options)


def _like_prefix(text: str) -> str:
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    return escaped + "%"


def after(columns: Sequence[ColumnElement[Any]], values: Key, descending: bool) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the order of ``columns``, with a sargable bound on the first column."""

    def beyond(column: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
        comparison: ColumnElement[bool] = column < value if descending else column > value
        return comparison

    condition = beyond(columns[-1], values[-1])
    for column, value in zip(reversed(columns[:-1]), reversed(values[:-1]), strict=True):
        condition = sa.or_(beyond(column, value), sa.and_(column == value, condition))
    if len(columns) == 1:
        return condition
    bound = columns[0] <= values[0] if descending else columns[0] >= values[0]
    return sa.and_(bound, condition)


def page_segments(params: SearchParams, position: Key | None) -> list[sa.Select[Any]]:
    """The statements of one page, in order and without LIMIT: read each until the page is full.

    ``position`` is the sort key of the last row of the previous page (from the cursor), None on page 1.
    """
    sort = SORT_ORDERS[params.sort]
    where = search_conditions(params)
    columns = [c[name] for name in sort.keys]

    def ordered(select: sa.Select[Any], by: Sequence[ColumnElement[Any]]) -> sa.Select[Any]:
        return select.order_by(*(col.desc() if sort.descending else col.asc() for col in by))

    base = sa.select(*ITEM_COLUMNS).where(*where)
    if not sort.nullable:
        keyset = [after(columns, position, sort.descending)] if position is not None else []
        return [ordered(base.where(*keyset), columns)]
    first, tie = columns[0], columns[1:]
    unpriced = base.where(first.is_(None))
    if position is not None and position[0] is None:  # already among the unpriced rows
        return [ordered(unpriced.where(after(tie, position[1:], sort.descending)), tie)]
    priced = base.where(first.is_not(None))
    if position is not None:
        priced = priced.where(after(columns, position, sort.descending))
    return [ordered(priced, columns), ordered(unpriced, tie)]


def sort_key(params: SearchParams, row: sa.Row[Any]) -> Key:
    """The position of ``row`` in the order of ``params.sort`` (what the next cursor holds)."""
    return tuple(getattr(row, name) for name in SORT_ORDERS[params.sort].keys)


def facet_query(params: SearchParams) -> sa.Select[Any]:
    """One grouped scan of the whole filter set; brand, season and availability counts are summed from it.

    Wheels and sensors have no season: leaving it out keeps the wheel size index covering.
    """
    in_stock = (c.sellable_qty > 0).label("in_stock")
    season = c.season if params.type in (None, "tyre") else sa.null().label("season")
    keys = [c.brand, in_stock] + ([c.season] if params.type in (None, "tyre") else [])
    return (
        sa.select(c.brand, season, in_stock, sa.func.count().label("n"))
        .where(*search_conditions(params))
        .group_by(*keys)
    )


def facets_of(params: SearchParams, groups: Sequence[sa.Row[Any]]) -> dict[str, Any]:
    """Facet counts from the grouped rows: top brands, seasons (tyres), availability, total."""
    brands: dict[str, int] = {}
    seasons: dict[str, int] = {}
    availability = {"in_stock": 0, "out_of_stock": 0}
    for group in groups:
        brand, season, in_stock, count = group.brand, group.season, group.in_stock, group.n
        brands[brand] = brands.get(brand, 0) + count
        if season is not None:
            seasons[season] = seasons.get(season, 0) + count
        availability["in_stock" if in_stock else "out_of_stock"] += count
    top = sorted(brands.items(), key=lambda item: (-item[1], item[0].casefold()))[:TOP_BRANDS]
    facets: dict[str, Any] = {"total": sum(availability.values())}
    facets["brand"] = [{"value": brand, "count": count} for brand, count in top]
    if params.type in (None, "tyre") and seasons:
        facets["season"] = [{"value": season, "count": count} for season, count in sorted(seasons.items())]
    facets["availability"] = availability
    return facets


def product_query(article_number: str) -> sa.Select[Any]:
    """One product by article number (primary key)."""
    return sa.select(*ITEM_COLUMNS).where(c.article_number == article_number)


def lookup_query(code: str) -> sa.Select[Any]:
    """A product by article number or, for 13 digits, by EAN; the article number wins if both match."""
    code = code.strip()
    if len(code) == 13 and code.isdigit():
        exact = sa.case((c.article_number == code, 0), else_=1)
        return sa.select(*ITEM_COLUMNS).where(sa.or_(c.article_number == code, c.ean == code)).order_by(exact).limit(1)
    return product_query(code)
