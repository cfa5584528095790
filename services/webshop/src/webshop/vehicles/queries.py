"""SQL of the vehicle selector and the vehicle → products lookups, from the fitment replica.

Both lookups sort by match score (best first), then price (cheapest first, unpriced last), then article
number, and page by keyset after the last row of the previous page. A page never scores or sorts
everything that fits:

- tyres: the axle's size rows (``vehicle_tyre_fitment``) and exclusions are read once by primary key;
  each size row splits into score classes of plain filters (``tyre_fit_classes``), and each class's
  cheapest ``limit + 1`` tyres after the cursor are one range read of
  ``idx_catalog_article_tyre_size_price`` in price order (priced, then unpriced), filtered inside the
  index; these reads and the operator-included tyres (``product_vehicle_mappings``) go as one UNION
  ALL, and Python merges them by the sort key and cuts the page;
- wheels: the variant's mapping rows per score (``idx_pvm_vehicle_type_score``) are counted, and only
  the best scores that fill a page are read joined to price and stock, ordered and limited;

then the page's catalogue rows by primary key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from integration_sdk.spec_tables import MONEY
from integration_sdk.tyre_fitment import tyre_fit_classes
from webshop.search.queries import ITEM_COLUMNS
from webshop.tables import (
    catalog_article,
    product_vehicle_mappings,
    vehicle_tyre_exclusion,
    vehicle_tyre_fitment,
    vehicle_variant,
)

NO_PRICE_KEY = Decimal("99999999.99")  # the sort key of an unpriced article: after every price
Key = tuple[int, Decimal, str]  # (score, price key, article number)
Candidate = tuple[str, int, Decimal, bool]  # (article number, score, price key, OE) in page order
Run = Callable[[sa.Executable], Awaitable[Sequence[Sequence[Any]]]]  # executes a statement, returns its rows


def sort_key(candidate: Candidate) -> tuple[int, Decimal, str]:
    """Page order: score desc, price key asc, article number asc."""
    number, score, price, _ = candidate
    return -score, price, number


def _after(candidate: Candidate, after: Key | None) -> bool:
    return after is None or sort_key(candidate) > (-after[0], after[1], after[2])


@dataclass(frozen=True)
class SizeFit:
    """One size row of an axle (``contracts.TyreSizeFitment``), as the replica holds it."""

    width: int
    aspect: int
    rim_diameter: int
    base_score: int
    is_original_equipment: bool
    min_load_index: int
    reference_speed_rating: str
    reference_run_flat: bool


def size_fits_query(variant_id: int, axle: str) -> sa.Select[Any]:
    """The axle's size rows (primary key prefix), in the order of ``SizeFit``'s fields."""
    fit = vehicle_tyre_fitment.c
    columns = [fit[name] for name in SizeFit.__dataclass_fields__]
    return sa.select(*columns).where(fit.vehicle_variant_id == variant_id, fit.axle == axle).order_by(*columns[:3])


def exclusions_query(variant_id: int, axle: str) -> sa.Select[Any]:
    """The articles an operator excluded from the axle (primary key prefix)."""
    x = vehicle_tyre_exclusion.c
    return sa.select(x.article_number).where(x.vehicle_variant_id == variant_id, x.axle == axle)


def _price_key() -> sa.ColumnElement[Any]:
    return sa.func.coalesce(catalog_article.c.best_price, sa.literal(NO_PRICE_KEY, MONEY)).label("price_key")


def _catalog_filters(seasons: list[str], in_stock: bool) -> list[sa.ColumnElement[bool]]:
    c = catalog_article.c
    return [*([c.season.in_(seasons)] if seasons else []), *([c.sellable_qty > 0] if in_stock else [])]


def included_tyres_query(variant_id: int, axle: str, seasons: list[str], in_stock: bool) -> sa.Select[Any]:
    """(article, score, price key, OE) of the tyres an operator included for the axle (mapping rows)."""
    m, c = product_vehicle_mappings.c, catalog_article.c
    return (
        sa.select(m.article_number, m.match_score, _price_key(), m.is_original_equipment)
        .join_from(product_vehicle_mappings, catalog_article, c.article_number == m.article_number)
        .where(m.vehicle_variant_id == variant_id, m.product_type == "tyre", m.position.in_((axle, "both")),
               *_catalog_filters(seasons, in_stock))
    )  # fmt: skip


def tyre_page(
    sizes: Sequence[SizeFit], seasons: list[str], in_stock: bool, after: Key | None, per_class: int
) -> list[sa.Select[Any]]:
    """Per size row x score class x (priced, unpriced), the first ``per_class`` tyres after the cursor.

    Each read is (branch number, article, score, price key, OE), a range of
    ``idx_catalog_article_tyre_size_price`` in price order (the price key is the price, or
    ``NO_PRICE_KEY``). A class that ranks wholly before the cursor is not read.
    """
    c = catalog_article.c
    reads: list[sa.Select[Any]] = []
    for fit in sizes:
        size = [c.width == fit.width, c.aspect == fit.aspect, c.rim_diameter == fit.rim_diameter]
        for score, filters in tyre_fit_classes(fit, catalog_article):
            if after is not None and score > after[0]:
                continue
            priced: list[sa.ColumnElement[bool]] = [c.best_price.is_not(None)]
            unpriced: list[sa.ColumnElement[bool]] = [c.best_price.is_(None)]
            if after is not None and score == after[0]:
                _, price, number = after
                if price >= NO_PRICE_KEY:  # the cursor is among the unpriced tyres of this class
                    priced = []
                    unpriced.append(c.article_number > number)
                else:
                    priced += [c.best_price >= price, sa.or_(c.best_price > price, c.article_number > number)]
            where = [*size, *filters, *_catalog_filters(seasons, in_stock)]
            for bound, order in ((priced, [c.best_price, c.article_number]), (unpriced, [c.article_number])):
                if not bound:
                    continue
                reads.append(
                    sa.select(
                        sa.literal(len(reads), sa.Integer).label("branch"),
                        c.article_number,
                        sa.literal(score, sa.Integer).label("score"),
                        _price_key(),
                        sa.literal(fit.is_original_equipment, sa.Boolean).label("oe"),
                    )
                    .where(*where, *bound)
                    .order_by(*order)
                    .limit(per_class)
                )  # fmt: skip
    return reads


def tyre_page_query(reads: list[sa.Select[Any]]) -> sa.CompoundSelect[Any] | sa.Select[Any]:
    """The reads of ``tyre_page`` as one statement (UNION ALL, each read keeping its order and limit)."""
    return reads[0] if len(reads) == 1 else sa.union_all(*reads)


def merge_tyres(
    rows: Sequence[Sequence[Any]], included: Sequence[Sequence[Any]], excluded: set[str], after: Key | None,
    per_class: int, want: int,
) -> list[Candidate] | None:  # fmt: skip
    """The first ``want`` candidates after the cursor, or None when a read came short of proving them.

    Excluded tyres and included ones (their mapping row holds their score) are dropped from the size
    reads. A read that returned ``per_class`` rows may hold more: every candidate up to the lowest last
    row of such reads is known, and the page is proven when ``want`` of them are.
    """
    dropped = excluded | {row[0] for row in included}
    candidates = [(number, int(score), Decimal(price), bool(oe)) for number, score, price, oe in included]
    candidates = [candidate for candidate in candidates if _after(candidate, after)]
    reads: dict[int, list[tuple[int, Decimal, str]]] = {}
    for branch, number, score, price, oe in rows:
        candidate = (number, int(score), Decimal(price), bool(oe))
        reads.setdefault(branch, []).append(sort_key(candidate))
        if number not in dropped:
            candidates.append(candidate)
    cut = [max(keys) for keys in reads.values() if len(keys) >= per_class]
    bound = min(cut) if cut else None
    candidates.sort(key=sort_key)
    if bound is not None:
        known = [candidate for candidate in candidates if sort_key(candidate) <= bound]
        if len(known) < want:
            return None
        candidates = known
    return candidates[:want]


async def tyre_candidates(
    run: Run, variant_id: int, axle: str, seasons: list[str], in_stock: bool, after: Key | None, want: int
) -> list[Candidate]:
    """The first ``want`` tyres after the cursor: sizes and exclusions once, then the class reads
    (read again, deeper, in the rare case that exclusions and includes left a page unproven)."""
    sizes = [SizeFit(*row) for row in await run(size_fits_query(variant_id, axle))]
    excluded = {row[0] for row in await run(exclusions_query(variant_id, axle))}
    included = await run(included_tyres_query(variant_id, axle, seasons, in_stock))
    per_class = want + len(excluded) + len(included)
    while True:
        reads = tyre_page(sizes, seasons, in_stock, after, per_class)
        rows = await run(tyre_page_query(reads)) if reads else []
        page = merge_tyres(rows, included, excluded, after, per_class, want)
        if page is not None:
            return page
        per_class *= 4


def wheel_score_counts(variant_id: int, axle: str, below: int | None) -> sa.Select[Any]:
    """(score, rows) of the axle's wheels, best score first, from the cursor's score down."""
    m = product_vehicle_mappings.c
    query = (
        sa.select(m.match_score, sa.func.count())
        .where(m.vehicle_variant_id == variant_id, m.product_type == "wheel", m.position.in_((axle, "both")))
        .group_by(m.match_score)
        .order_by(m.match_score.desc())
    )  # fmt: skip
    return query.where(m.match_score <= below) if below is not None else query


def scores_filling(counts: Sequence[Sequence[Any]], want: int) -> tuple[list[int], list[Sequence[Any]]]:
    """The best scores whose rows add up to ``want`` (or all of them), and the counts left over."""
    picked: list[int] = []
    total = 0
    for index, (score, count) in enumerate(counts):
        if total >= want:
            return picked, list(counts[index:])
        picked.append(int(score))
        total += int(count)
    return picked, []


def wheel_page(
    variant_id: int, axle: str, scores: list[int], in_stock: bool, after: Key | None, limit: int
) -> sa.Select[Any]:
    """(article, score, price key, OE) of the axle's wheels of ``scores`` after the cursor, in page order."""
    m, c = product_vehicle_mappings.c, catalog_article.c
    price_key = sa.func.coalesce(c.best_price, sa.literal(NO_PRICE_KEY, MONEY))
    query = (
        sa.select(m.article_number, m.match_score, price_key.label("price_key"), m.is_original_equipment)
        .join_from(product_vehicle_mappings, catalog_article, c.article_number == m.article_number)
        .where(m.vehicle_variant_id == variant_id, m.product_type == "wheel", m.position.in_((axle, "both")),
               m.match_score.in_(scores), *_catalog_filters([], in_stock))
        .order_by(m.match_score.desc(), price_key, m.article_number)
        .limit(limit)
    )  # fmt: skip
    if after is not None:
        score, price, number = after
        query = query.where(sa.or_(
            m.match_score < score,
            sa.and_(m.match_score == score, price_key > price),
            sa.and_(m.match_score == score, price_key == price, m.article_number > number),
        ))  # fmt: skip
    return query


async def wheel_candidates(
    run: Run, variant_id: int, axle: str, in_stock: bool, after: Key | None, want: int
) -> list[Candidate]:
    """The first ``want`` wheels after the cursor: the scores' counts, then the rows of just enough
    scores (more scores read when stock or the cursor left fewer rows than counted)."""
    counts = list(await run(wheel_score_counts(variant_id, axle, after[0] if after is not None else None)))
    page: list[Candidate] = []
    while counts and len(page) < want:
        scores, counts = scores_filling(counts, want - len(page))
        rows = await run(wheel_page(variant_id, axle, scores, in_stock, after, want - len(page)))
        page += [(number, int(score), Decimal(price), bool(oe)) for number, score, price, oe in rows]
    return page


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
