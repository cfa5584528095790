"""SQL of product search on ``catalog_article``, shaped for the indexes of migration webshop_0004.

Each read is built with SQLAlchemy Core and compiled once per filter shape (``Shape``: which filters are
set), then run as SQL text with the search's values as parameters (``foundation.prepared``).

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

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from foundation.prepared import Prepared, Template, bound, compiled, param
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
TYRE_FLAGS = ("run_flat", "xl", "three_pmsf")
BASE_COLUMNS = ("article_number", "article_type", "ean", "brand", "model", "description", "list_price")
AVAILABILITY_COLUMNS = ("sellable_qty", "best_price", "next_delivery_date")
ITEM_COLUMNS = [
    c[name] for name in (*BASE_COLUMNS, *AVAILABILITY_COLUMNS, *(n for cols in SPEC_COLUMNS.values() for n in cols))
]
SPECS_START = len(BASE_COLUMNS) + len(AVAILABILITY_COLUMNS)


def _spec_slices() -> dict[str, tuple[tuple[str, ...], slice]]:
    """Each type's spec column names and where their values sit in a row of ``ITEM_COLUMNS``."""
    slices, start = {}, SPECS_START
    for article_type, names in SPEC_COLUMNS.items():
        slices[article_type] = (names, slice(start, start + len(names)))
        start += len(names)
    return slices


SPEC_SLICES = _spec_slices()
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


@dataclass(frozen=True)
class Shape:
    """What the SQL of a filter set depends on; the values of ``PARAMETERS`` (and of brands, the prefix and
    the make) go in as bind parameters, so one compiled template serves every search of the shape.

    Small enumerations (seasons, ratings, flags) stay literals of the shape: few combinations, and a literal
    lets the optimizer see the value.
    """

    type: str | None
    given: frozenset[str]  # the ``PARAMETERS`` that are set
    brands: int  # how many distinct brands
    prefix_words: int  # words of ``q`` (0: no prefix)
    make: bool
    in_stock: bool | None
    season: tuple[str, ...]
    min_speed_rating: str | None
    max_eu_fuel: str | None
    max_eu_wet: str | None
    run_flat: bool | None
    xl: bool | None
    three_pmsf: bool | None
    material: str | None


PARAMETERS: dict[str, sa.types.TypeEngine[Any]] = {
    "diameter": sa.Integer(), "width": sa.Integer(), "aspect": sa.Integer(), "min_load_index": sa.Integer(),
    "max_noise_db": sa.Integer(), "bolt_count": sa.Integer(), "pcd": sa.Numeric(), "wheel_width": sa.Numeric(),
    "min_offset": sa.Integer(), "max_offset": sa.Integer(), "min_center_bore": sa.Numeric(),
}  # fmt: skip
EQUAL = {"width": "width", "aspect": "aspect", "bolt_count": "bolt_count", "pcd": "pcd", "wheel_width": "wheel_width"}
AT_LEAST = {"min_load_index": "load_index", "min_offset": "offset", "min_center_bore": "center_bore"}
AT_MOST = {"max_noise_db": "eu_noise_db", "max_offset": "offset"}


def shape_of(params: SearchParams) -> tuple[Shape, dict[str, Any]]:
    """The filter set's shape and its parameter values (already ``checked``: every filter fits ``params.type``)."""
    values = {name: getattr(params, name) for name in PARAMETERS if getattr(params, name) is not None}
    given = frozenset(values)
    brands = sorted(set(params.brand))
    values.update((f"brand_{n}", brand) for n, brand in enumerate(brands))
    words = params.q.split() if params.q is not None else []
    values.update(prefix_values(words))
    if params.make is not None:
        values["make"] = json.dumps(params.make)
    p = params
    shape = Shape(p.type, given, len(brands), len(words), p.make is not None, p.in_stock,
                  tuple(sorted(set(p.season))), p.min_speed_rating, p.max_eu_fuel, p.max_eu_wet, p.run_flat, p.xl,
                  p.three_pmsf, p.material)  # fmt: skip
    return shape, values


def search_conditions(shape: Shape) -> list[ColumnElement[bool]]:
    """WHERE conditions of the shape, with its values as bind parameters of ``shape_of``'s names."""
    s = shape

    def value(name: str) -> sa.BindParameter[Any]:
        return sa.bindparam(name, type_=PARAMETERS.get(name, sa.String()))

    where: list[ColumnElement[bool]] = []
    # Spec columns are NULL on other types' rows (data model), so a tyre width or wheel pcd already keeps
    # only rows of its type; leaving the type test out keeps the size indexes covering for facet counts.
    lead = SIZE_INDEX_LEAD.get(s.type) if s.type is not None else None
    if s.type is not None and lead not in s.given:
        where.append(c.article_type == s.type)
    if s.prefix_words:
        where.append(prefix_condition(s.prefix_words))
    if s.brands:
        where.append(c.brand.in_([value(f"brand_{n}") for n in range(s.brands)]))
    if s.in_stock is not None:
        where.append(c.sellable_qty > 0 if s.in_stock else c.sellable_qty <= 0)
    if "diameter" in s.given:
        where.append((c.wheel_diameter if s.type == "wheel" else c.rim_diameter) == value("diameter"))
    where.extend(c[column] == value(name) for name, column in EQUAL.items() if name in s.given)
    flags = {"run_flat": s.run_flat, "xl": s.xl, "three_pmsf": s.three_pmsf, "material": s.material}
    where.extend(c[name] == flag for name, flag in flags.items() if flag is not None)
    where.extend(c[column] >= value(name) for name, column in AT_LEAST.items() if name in s.given)
    where.extend(c[column] <= value(name) for name, column in AT_MOST.items() if name in s.given)
    if s.season:
        where.append(c.season.in_([sa.literal(season) for season in s.season]))
    if s.min_speed_rating is not None:
        where.append(c.speed_rating.in_(_literals(SPEED_ORDER[SPEED_ORDER.index(s.min_speed_rating) :])))
    if s.max_eu_fuel is not None:
        where.append(c.eu_fuel.in_(_literals(EU_ORDER[: EU_ORDER.index(s.max_eu_fuel) + 1])))
    if s.max_eu_wet is not None:
        where.append(c.eu_wet.in_(_literals(EU_ORDER[: EU_ORDER.index(s.max_eu_wet) + 1])))
    if s.make:
        # 3% of the catalogue: the type index narrows to the sensors, JSON_CONTAINS checks each.
        where.append(sa.func.json_contains(c.compatible_makes, value("make")) == 1)
    return where


def _literals(values: Sequence[str]) -> list[sa.BindParameter[Any]]:
    # A list of bind parameters renders as one placeholder each (a plain list would need expanding at run time).
    return [sa.literal(value) for value in values]


def prefix_values(words: Sequence[str]) -> dict[str, str]:
    """Parameters of ``prefix_condition``: the whole text as a brand prefix, and each split into a whole brand
    and the start of a model."""
    text = " ".join(words)
    values = {"prefix": _like_prefix(text)}
    for n in range(1, len(words)):
        values[f"prefix_brand_{n}"] = " ".join(words[:n])
        values[f"prefix_model_{n}"] = _like_prefix(" ".join(words[n:]))
    return values


def prefix_condition(words: int) -> ColumnElement[bool]:
    """Brand starts with the text, or the text is a whole brand, a space and the start of a model.

    Every alternative is a range on the (brand, model) index; the collation makes it case-insensitive.
    """

    def text(name: str) -> sa.BindParameter[Any]:
        return sa.bindparam(name, type_=sa.String())

    options: list[ColumnElement[bool]] = [c.brand.like(text("prefix"), escape=LIKE_ESCAPE)]
    for n in range(1, words):
        model = c.model.like(text(f"prefix_model_{n}"), escape=LIKE_ESCAPE)
        options.append(sa.and_(c.brand == text(f"prefix_brand_{n}"), model))
    return sa.or_(*options)


def _like_prefix(text: str) -> str:
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    return escaped + "%"


def after(columns: Sequence[ColumnElement[Any]], values: Sequence[Any], descending: bool) -> ColumnElement[bool]:
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


@dataclass(frozen=True)
class Segment:
    """One index range of a page: its compiled SQL and the search's values; ``read`` adds the row limit."""

    template: Template
    values: dict[str, Any]

    def read(self, limit: int) -> Prepared:
        return bound(self.template, {**self.values, "limit": limit})


def page_segments(params: SearchParams, position: Key | None) -> list[Segment]:
    """The reads of one page, in order: read each until the page is full.

    ``position`` is the sort key of the last row of the previous page (from the cursor), None on page 1.
    """
    shape, values = shape_of(params)
    sort = SORT_ORDERS[params.sort]
    if position is None:
        at = "start"
    elif sort.nullable and position[0] is None:  # already among the unpriced rows
        at, position = "unpriced", position[1:]
    else:
        at = "after"
    if position is not None:
        values.update((f"after_{n}", value) for n, value in enumerate(position))
    return [Segment(template, values) for template in _page_templates(shape, params.sort, at)]


@functools.lru_cache(maxsize=1024)
def _page_templates(shape: Shape, sort_name: str, at: str) -> tuple[Template, ...]:
    """The compiled reads of a page of ``shape`` in ``sort_name`` order from ``at`` (start, after the cursor's
    row, or after it among the unpriced rows)."""
    sort = SORT_ORDERS[sort_name]
    columns = [c[name] for name in sort.keys]
    base = sa.select(*ITEM_COLUMNS).where(*search_conditions(shape))

    def position(count: int) -> list[sa.BindParameter[Any]]:
        return [sa.bindparam(f"after_{n}", type_=col.type) for n, col in enumerate(columns[len(columns) - count :])]

    def read(select: sa.Select[Any], by: Sequence[ColumnElement[Any]]) -> Template:
        ordered = select.order_by(*(col.desc() if sort.descending else col.asc() for col in by))
        return compiled(ordered.limit(param("limit")))

    if not sort.nullable:
        keyset = [after(columns, position(len(columns)), sort.descending)] if at == "after" else []
        return (read(base.where(*keyset), columns),)
    first, tie = columns[0], columns[1:]
    unpriced = base.where(first.is_(None))
    if at == "unpriced":
        return (read(unpriced.where(after(tie, position(len(tie)), sort.descending)), tie),)
    priced = base.where(first.is_not(None))
    if at == "after":
        priced = priced.where(after(columns, position(len(columns)), sort.descending))
    return read(priced, columns), read(unpriced, tie)


def sort_key(params: SearchParams, row: sa.Row[Any]) -> Key:
    """The position of ``row`` in the order of ``params.sort`` (what the next cursor holds)."""
    return tuple(getattr(row, name) for name in SORT_ORDERS[params.sort].keys)


def facet_query(params: SearchParams) -> Prepared:
    """One grouped scan of the whole filter set; brand, season and availability counts are summed from it."""
    shape, values = shape_of(params)
    return bound(_facet_template(shape), values)


@functools.lru_cache(maxsize=512)
def _facet_template(shape: Shape) -> Template:
    """Wheels and sensors have no season: leaving it out keeps the wheel size index covering."""
    in_stock = (c.sellable_qty > 0).label("in_stock")
    season = c.season if shape.type in (None, "tyre") else sa.null().label("season")
    keys = [c.brand, in_stock] + ([c.season] if shape.type in (None, "tyre") else [])
    query = sa.select(c.brand, season, in_stock, sa.func.count().label("n")).where(*search_conditions(shape))
    return compiled(query.group_by(*keys))


def facets_of(params: SearchParams, groups: Sequence[sa.Row[Any]]) -> dict[str, Any]:
    """``Facets`` from the grouped rows: top brands, seasons (tyres), availability, total."""
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
    with_season = params.type in (None, "tyre") and seasons
    facets["season"] = [{"value": v, "count": n} for v, n in sorted(seasons.items())] if with_season else None
    facets["availability"] = availability
    return facets


PRODUCT = compiled(sa.select(*ITEM_COLUMNS).where(c.article_number == param("code", sa.String())))
# the article number wins when an EAN is also some article's number
BY_CODE = compiled(
    sa.select(*ITEM_COLUMNS)
    .where(sa.or_(c.article_number == param("code", sa.String()), c.ean == param("code", sa.String())))
    .order_by(sa.case((c.article_number == param("code", sa.String()), 0), else_=1))
    .limit(1)
)


def product_query(article_number: str) -> Prepared:
    """One product by article number (primary key)."""
    return bound(PRODUCT, {"code": article_number})


def lookup_query(code: str) -> Prepared:
    """A product by article number or, for 13 digits, by EAN."""
    code = code.strip()
    return bound(BY_CODE if len(code) == 13 and code.isdigit() else PRODUCT, {"code": code})
