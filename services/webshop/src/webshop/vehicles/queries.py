"""SQL of the vehicle selector and the vehicle → products lookups, from the fitment replica.

A lookup page is two index range reads, then the page's rows by key:

- tyres: the axle's size rows (``vehicle_tyre_fitment``, by primary key) joined to each size's tyres on
  ``idx_catalog_article_tyre_fitment``, which holds everything the fit check (load index, speed rating,
  winter exception), the score (run-flat) and the sort (price) read, so no catalogue row is touched;
  plus the tyres an operator included (``product_vehicle_mappings``); less the excluded ones;
- wheels: the variant's mapping rows (``idx_pvm_vehicle_type_score``) with each wheel's price and stock
  by primary key.

Both sort by match score (best first), then price (cheapest first, unpriced last), then article
number, and page by keyset after the last row of the previous page.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from integration_sdk.tyre_fitment import tyre_fit_columns
from webshop.search.queries import ITEM_COLUMNS
from webshop.tables import (
    catalog_article,
    product_vehicle_mappings,
    vehicle_tyre_exclusion,
    vehicle_tyre_fitment,
    vehicle_variant,
)

NO_PRICE_KEY = 99_999_999.99  # sorts unpriced articles after every price
Key = tuple[int, Any, str]  # (score, price key, article number)


def _price_key(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(column, NO_PRICE_KEY)


def tyre_candidates(variant_id: int, axle: str, seasons: list[str], in_stock: bool) -> sa.Select[Any]:
    """(article, score, price key, OE) of every tyre that fits the axle: by size, or included by an operator."""
    fit, c, x, m = vehicle_tyre_fitment, catalog_article, vehicle_tyre_exclusion, product_vehicle_mappings
    admits, score = tyre_fit_columns(fit, c)
    by_size = (
        sa.select(
            c.c.article_number,
            score.label("score"),
            _price_key(c.c.best_price).label("price_key"),
            fit.c.is_original_equipment.label("oe"),
        )  # fmt: skip
        .select_from(fit)
        .join(c, sa.and_(c.c.width == fit.c.width, c.c.aspect == fit.c.aspect, c.c.rim_diameter == fit.c.rim_diameter))
        .outerjoin(
            x,
            sa.and_(
                x.c.vehicle_variant_id == fit.c.vehicle_variant_id,
                x.c.axle == fit.c.axle,
                x.c.article_number == c.c.article_number,
            ),
        )  # fmt: skip
        .where(fit.c.vehicle_variant_id == variant_id, fit.c.axle == axle, admits, x.c.article_number.is_(None))
    )
    included = (
        sa.select(
            c.c.article_number,
            m.c.match_score.label("score"),
            _price_key(c.c.best_price).label("price_key"),
            m.c.is_original_equipment.label("oe"),
        )  # fmt: skip
        .select_from(m)
        .join(c, c.c.article_number == m.c.article_number)
        .where(m.c.vehicle_variant_id == variant_id, m.c.product_type == "tyre", m.c.position.in_((axle, "both")))
    )
    filters: list[sa.ColumnElement[bool]] = []
    if seasons:
        filters.append(c.c.season.in_(seasons))
    if in_stock:
        filters.append(c.c.sellable_qty > 0)
    return sa.union_all(by_size.where(*filters), included.where(*filters)).subquery("candidate").select()


def wheel_candidates(variant_id: int, axle: str, in_stock: bool) -> sa.Select[Any]:
    """(article, score, price key, OE) of every wheel the mapping lists for the axle."""
    m, c = product_vehicle_mappings, catalog_article
    query = (
        sa.select(
            m.c.article_number,
            m.c.match_score.label("score"),
            _price_key(c.c.best_price).label("price_key"),
            m.c.is_original_equipment.label("oe"),
        )  # fmt: skip
        .select_from(m)
        .join(c, c.c.article_number == m.c.article_number)
        .where(m.c.vehicle_variant_id == variant_id, m.c.product_type == "wheel", m.c.position.in_((axle, "both")))
    )
    if in_stock:
        query = query.where(c.c.sellable_qty > 0)
    return query.subquery("candidate").select()


def page_of(candidates: sa.Select[Any], after: Key | None, limit: int) -> sa.Select[Any]:
    """One keyset page of candidates: score desc, price key asc, article number asc."""
    row = candidates.selected_columns
    query = candidates.order_by(row.score.desc(), row.price_key, row.article_number).limit(limit)
    if after is not None:
        score, price, number = after
        query = query.where(sa.or_(
            row.score < score,
            sa.and_(row.score == score, row.price_key > price),
            sa.and_(row.score == score, row.price_key == price, row.article_number > number),
        ))  # fmt: skip
    return query


def items_query(article_numbers: list[str]) -> sa.Select[Any]:
    """The catalogue rows of a page (by primary key)."""
    return sa.select(*ITEM_COLUMNS).where(catalog_article.c.article_number.in_(article_numbers))


VARIANT_COLUMNS = [vehicle_variant.c[name] for name in (
    "vehicle_variant_id", "make", "model", "generation", "variant_name", "year_from", "year_to", "engine", "body",
    "drive", "bolt_count", "pcd", "hub_bore", "tpms_type", "is_staggered",
)]  # fmt: skip


def variants_query(
    make: str | None, model: str | None, year: int | None, text: str | None, after: int, limit: int
) -> sa.Select[Any]:
    """Variants matching the selector's choices (and words of ``text`` in model or variant name), by id."""
    v = vehicle_variant.c
    query = sa.select(*VARIANT_COLUMNS).where(v.vehicle_variant_id > after).order_by(v.vehicle_variant_id).limit(limit)
    if make is not None:
        query = query.where(v.make == make)
    if model is not None:
        query = query.where(v.model == model)
    if year is not None:
        query = query.where(v.year_from <= year, sa.or_(v.year_to.is_(None), v.year_to >= year))
    for word in (text or "").split():
        pattern = "%" + word.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"
        columns = (v.make, v.model, v.variant_name, v.engine)
        query = query.where(sa.or_(*(column.ilike(pattern, escape="!") for column in columns)))
    return query
