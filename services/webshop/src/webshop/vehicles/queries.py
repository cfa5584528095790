"""SQL of the vehicle selector and the vehicle → products lookups, from the fitment replica.

Both lookups sort by match score (best first), then price (cheapest first, unpriced last), then article
number, and page by keyset after the last row of the previous page. A page never scores or sorts
everything that fits:

- tyres: the axle's size rows (``vehicle_tyre_fitment``) and the operators' includes and exclusions
  are one read by primary key; each size row splits into score classes of plain filters
  (``tyre_fit_classes``), and each class's cheapest ``limit + 1`` tyres after the cursor are one range
  read of ``idx_catalog_article_tyre_lookup`` in price key order (priced, then unpriced), filtered
  inside the index; the best score's classes go first as one UNION ALL, the others only if those do
  not fill the page, and Python merges the reads by the sort key and cuts the page;
- wheels: the variant's mapping rows per score (``idx_pvm_vehicle_type_score``) are counted, and only
  the best scores that fill a page are read joined to price and stock, ordered and limited;

then the page's catalogue rows by primary key. The lookup's own reads are compiled once per shape and
run as SQL text with parameters (``Prepared``): building and compiling them per request cost more CPU
than the database spent on them.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa

from foundation.prepared import Prepared, Template, bound, compiled, param
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

Key = tuple[int, Decimal, str]  # (score, price key, article number)
Candidate = tuple[str, int, Decimal, bool]  # (article number, score, price key, OE) in page order
# executes a statement, or SQL text with its parameters, and returns its rows
Run = Callable[[sa.Executable | str, tuple[Any, ...] | None], Awaitable[Sequence[Sequence[Any]]]]


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


def size_fits_query(variant_id: Any, axle: Any) -> sa.Select[Any]:
    """The axle's size rows (primary key prefix), in the order of ``SizeFit``'s fields."""
    fit = vehicle_tyre_fitment.c
    columns = [fit[name] for name in SizeFit.__dataclass_fields__]
    return sa.select(*columns).where(fit.vehicle_variant_id == variant_id, fit.axle == axle).order_by(*columns[:3])


def exclusions_query(variant_id: Any, axle: Any) -> sa.Select[Any]:
    """The articles an operator excluded from the axle (primary key prefix)."""
    x = vehicle_tyre_exclusion.c
    return sa.select(x.article_number).where(x.vehicle_variant_id == variant_id, x.axle == axle)


def _catalog_filters(seasons: list[Any], in_stock: bool) -> list[sa.ColumnElement[bool]]:
    c = catalog_article.c
    return [*([c.season.in_(seasons)] if seasons else []), *([c.sellable_qty > 0] if in_stock else [])]


def included_tyres_query(variant_id: Any, axle: Any, seasons: list[Any], in_stock: bool) -> sa.Select[Any]:
    """(article, score, price key, OE) of the tyres an operator included for the axle (mapping rows)."""
    m, c = product_vehicle_mappings.c, catalog_article.c
    return (
        sa.select(m.article_number, m.match_score, c.price_key, m.is_original_equipment)
        .join_from(product_vehicle_mappings, catalog_article, c.article_number == m.article_number)
        .where(m.vehicle_variant_id == variant_id, m.product_type == "tyre", m.position.in_((axle, "both")),
               *_catalog_filters(seasons, in_stock))
    )  # fmt: skip


def operator_tyres_query(variant_id: Any, axle: Any, seasons: list[Any], in_stock: bool) -> sa.CompoundSelect[Any]:
    """What operators decided for the axle, in one read: the included tyres (as ``included_tyres_query``),
    then the excluded articles with no score."""
    excluded = exclusions_query(variant_id, axle).add_columns(sa.null(), sa.null(), sa.null())
    return sa.union_all(included_tyres_query(variant_id, axle, seasons, in_stock), excluded)


@functools.lru_cache(maxsize=64)
def _axle_template(seasons: int, in_stock: bool) -> Template:
    variant_id, axle = param("variant_id"), param("axle", sa.String())
    kinds: dict[str, sa.ColumnElement[Any]] = {name: sa.literal_column(f"'{name}'").label("kind") for name in "six"}
    size = size_fits_query(variant_id, axle).order_by(None)
    sizes = size.with_only_columns(kinds["s"], sa.null(), *size.selected_columns, sa.null())
    decided = operator_tyres_query(variant_id, axle, [param(f"season{n}", sa.String()) for n in range(seasons)],
                                   in_stock)  # fmt: skip
    included, excluded = (cast(sa.Select[Any], select) for select in decided.selects)
    number, score, price, oe = included.selected_columns
    return compiled(sa.union_all(
        sizes,
        included.with_only_columns(kinds["i"], number, *[sa.null()] * 3, score, oe, *[sa.null()] * 3, price),
        excluded.with_only_columns(kinds["x"], excluded.selected_columns[0], *[sa.null()] * 9),
    ))  # fmt: skip


def axle_query(variant_id: int, axle: str, seasons: list[str], in_stock: bool) -> Prepared:
    """The axle's size rows and what operators decided for it, in one read of one row kind each:
    ('s', NULL, the fields of ``SizeFit``, NULL), ('i', article, NULL x 3, score, OE, NULL x 3, price
    key) for an included tyre, ('x', article, NULL ...) for an excluded article."""
    values = {"variant_id": variant_id, "axle": axle, **{f"season{n}": season for n, season in enumerate(seasons)}}
    return bound(_axle_template(len(seasons), in_stock), values)


@dataclass(frozen=True)
class _Limits:
    """A size row's limits as ``tyre_fit_classes`` reads them, the load index a parameter: the classes'
    filters then depend only on the reference rating and run-flat."""

    reference_speed_rating: str
    reference_run_flat: bool
    base_score: int = 0  # the classes' scores are then the penalties, added to the row's own base score

    @property
    def min_load_index(self) -> sa.BindParameter[int]:
        return sa.bindparam("min_load", type_=sa.Integer())


@functools.lru_cache(maxsize=1024)
def _classes(speed: str, run_flat: bool, winter: bool) -> list[tuple[int, list[sa.ColumnElement[bool]]]]:
    return tyre_fit_classes(_Limits(speed, run_flat), catalog_article, winter)


Shape = tuple[str, bool, int, bool]  # the row's reference rating and run-flat, class, keyset


@functools.lru_cache(maxsize=4096)
def _read(shape: Shape, seasons: int, in_stock: bool, winter: bool) -> Template:
    """One class read compiled once: its SQL and its parameters in order (name, fixed value or None)."""
    c = catalog_article.c
    speed, run_flat, klass, keyset = shape
    where = [c.width == sa.bindparam("width"), c.aspect == sa.bindparam("aspect"),
             c.rim_diameter == sa.bindparam("rim_diameter"), *_classes(speed, run_flat, winter)[klass][1]]  # fmt: skip
    if seasons:
        where.append(c.season.in_([sa.bindparam(f"season{n}", type_=sa.String()) for n in range(seasons)]))
    if in_stock:
        where.append(c.sellable_qty > 0)
    price, number = sa.bindparam("after_price", type_=MONEY), sa.bindparam("after_number", type_=sa.String())
    if keyset:
        where += [c.price_key >= price, sa.or_(c.price_key > price, c.article_number > number)]
    branch = sa.bindparam("branch", type_=sa.Integer()).label("branch")
    read = sa.select(branch, c.article_number, c.price_key).where(*where).order_by(c.price_key, c.article_number)
    return compiled(read.limit(sa.bindparam("per_class", type_=sa.Integer())))


@dataclass(frozen=True)
class TyrePage:
    """The class reads of a tyre page: each read's SQL and parameters, and its (score, OE); ``sql`` and
    ``params`` are all of them as one UNION ALL."""

    parts: list[tuple[str, list[Any]]]
    reads: list[tuple[int, bool]]
    per_class: int

    @property
    def sql(self) -> str:
        return self.parts[0][0] if len(self.parts) == 1 else " UNION ALL ".join(f"({sql})" for sql, _ in self.parts)

    @property
    def params(self) -> tuple[Any, ...]:
        return tuple(value for _, values in self.parts for value in values)


def _winter(seasons: list[str]) -> bool:
    """Whether winter tyres pass the seasons filter (if not, no class of winter tyres only is read)."""
    return not seasons or any(season.lower() == "winter" for season in seasons)


def tyre_scores(sizes: Sequence[SizeFit], seasons: list[str], after: Key | None) -> list[int]:
    """The scores of the sizes' classes that rank after the cursor, best first."""
    winter = _winter(seasons)
    scores = {fit.base_score + offset for fit in sizes
              for offset, _ in _classes(fit.reference_speed_rating, fit.reference_run_flat, winter)}  # fmt: skip
    return sorted((score for score in scores if after is None or score <= after[0]), reverse=True)


def tyre_page(
    sizes: Sequence[SizeFit], seasons: list[str], in_stock: bool, after: Key | None, per_class: int,
    scores: tuple[int, int],
) -> TyrePage | None:  # fmt: skip
    """Per size row x score class with a score in ``scores`` (lowest, highest), the first ``per_class``
    tyres after the cursor (None when no such class ranks after it).

    Each read is (read number, article, price key): a range of ``idx_catalog_article_tyre_lookup`` in
    price key order (the price, or ``NO_PRICE_KEY``: unpriced last). A class that ranks wholly before
    the cursor is not read. Each kind of read is compiled once and the page's reads are joined as
    SQL text: a UNION of some thirty reads compiled as one statement costs 5-8 ms of CPU, and the
    combinations of sizes a variant has rarely repeat, so no statement cache would hold them.
    """
    parts: list[tuple[str, list[Any]]] = []
    reads: list[tuple[int, bool]] = []
    lowest, highest = scores
    winter = _winter(seasons)
    values: dict[str, Any] = {"per_class": per_class, **{f"season{n}": season for n, season in enumerate(seasons)}}
    if after is not None:
        values.update(after_price=after[1], after_number=after[2])
    for fit in sizes:
        speed, run_flat = fit.reference_speed_rating, fit.reference_run_flat
        values.update(width=fit.width, aspect=fit.aspect, rim_diameter=fit.rim_diameter, min_load=fit.min_load_index)
        for klass, (offset, _) in enumerate(_classes(speed, run_flat, winter)):
            score = fit.base_score + offset
            if not lowest <= score <= highest or (after is not None and score > after[0]):
                continue
            sql, names = _read((speed, run_flat, klass, after is not None and score == after[0]), len(seasons),
                               in_stock, winter)  # fmt: skip
            values["branch"] = len(reads)
            parts.append((sql, [values[name] if fixed is None else fixed for name, fixed in names]))
            reads.append((score, fit.is_original_equipment))
    return TyrePage(parts, reads, per_class) if parts else None


def merge_tyres(
    pages: Sequence[tuple[TyrePage, Sequence[Sequence[Any]]]], included: Sequence[Sequence[Any]],
    excluded: set[str], after: Key | None, want: int, unread: int | None = None,
) -> list[Candidate] | None:  # fmt: skip
    """The first ``want`` candidates after the cursor from the reads of ``pages`` (each with its rows),
    or None when the reads do not prove them.

    Excluded tyres and included ones (their mapping row holds their score) are dropped from the size
    reads. A read that returned ``per_class`` rows may hold more, and classes not read yet (scores up
    to ``unread``) may hold rows of their score or below: every candidate before the lowest last row of
    a cut read and above ``unread`` is known, and the page is proven when ``want`` of them are.
    """
    dropped = excluded | {row[0] for row in included}
    candidates = [(number, int(score), Decimal(price), bool(oe)) for number, score, price, oe in included]
    candidates = [candidate for candidate in candidates if _after(candidate, after)]
    cut: list[tuple[int, Decimal, str]] = []
    for page, rows in pages:
        counts = [0] * len(page.reads)
        last: list[tuple[int, Decimal, str] | None] = [None] * len(page.reads)
        for branch, number, price in rows:
            score, oe = page.reads[branch]
            candidate = (number, score, price, oe)
            counts[branch] += 1
            key = sort_key(candidate)
            if (seen := last[branch]) is None or key > seen:
                last[branch] = key
            if number not in dropped:
                candidates.append(candidate)
        cut += [key for key, n in zip(last, counts, strict=True) if key is not None and n >= page.per_class]
    candidates.sort(key=sort_key)
    if cut or unread is not None:
        bound = min(cut) if cut else None
        known = [c for c in candidates
                 if (bound is None or sort_key(c) <= bound) and (unread is None or c[1] > unread)]  # fmt: skip
        if len(known) < want:
            return None
        candidates = known
    return candidates[:want]


async def tyre_candidates(
    run: Run, variant_id: int, axle: str, seasons: list[str], in_stock: bool, after: Key | None, want: int
) -> list[Candidate]:
    """The first ``want`` tyres after the cursor: the axle's size rows, and the operators' includes and
    exclusions, once; then the class reads.

    The classes of the best score are read first: they often fill the page on their own (the factory
    size's tyres at its rating), and the scarce classes (winter tyres below the rating, run-flat) scan
    their whole size. If not, the other classes are read too (and, in the rare case that exclusions
    and includes left a page unproven, everything again, deeper).
    """
    sizes: list[SizeFit] = []
    included: list[tuple[str, int, Decimal, bool]] = []
    excluded: set[str] = set()
    for kind, number, width, aspect, rim, score, oe, min_load, speed, run_flat, price in await run(
        *axle_query(variant_id, axle, seasons, in_stock)
    ):
        if kind == "s":
            sizes.append(SizeFit(width, aspect, rim, score, bool(oe), min_load, speed, bool(run_flat)))
        elif kind == "i":
            included.append((number, score, price, bool(oe)))
        else:
            excluded.add(number)
    per_class = want + len(excluded) + len(included)
    scores = tyre_scores(sizes, seasons, after)
    if not scores:
        return merge_tyres([], included, excluded, after, want) or []
    pages: list[tuple[TyrePage, Sequence[Sequence[Any]]]] = []

    async def read(lowest: int, highest: int) -> None:
        if (page := tyre_page(sizes, seasons, in_stock, after, per_class, (lowest, highest))) is not None:
            pages.append((page, await run(page.sql, page.params)))

    await read(scores[0], scores[0])
    unread = scores[1] if len(scores) > 1 else None
    if (found := merge_tyres(pages, included, excluded, after, want, unread)) is not None:
        return found
    if unread is not None:
        await read(scores[-1], unread)
        if (found := merge_tyres(pages, included, excluded, after, want)) is not None:
            return found
    while True:
        per_class *= 4
        pages.clear()
        await read(scores[-1], scores[0])
        if (found := merge_tyres(pages, included, excluded, after, want)) is not None:
            return found


@functools.lru_cache(maxsize=8)
def _counts_template(below: bool) -> Template:
    m = product_vehicle_mappings.c
    query = (
        sa.select(m.match_score, sa.func.count())
        .where(m.vehicle_variant_id == param("variant_id"), m.product_type == "wheel",
               m.position.in_((param("axle", sa.String()), "both")))
        .group_by(m.match_score)
        .order_by(m.match_score.desc())
    )  # fmt: skip
    return compiled(query.where(m.match_score <= param("below")) if below else query)


def wheel_score_counts(variant_id: int, axle: str, below: int | None) -> Prepared:
    """(score, rows) of the axle's wheels, best score first, from the cursor's score down."""
    return bound(_counts_template(below is not None), {"variant_id": variant_id, "axle": axle, "below": below})


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


@functools.lru_cache(maxsize=512)
def _wheel_page_template(scores: int, in_stock: bool, keyset: bool) -> Template:
    m, c = product_vehicle_mappings.c, catalog_article.c
    price_key = c.price_key
    query = (
        sa.select(m.article_number, m.match_score, price_key, m.is_original_equipment)
        .join_from(product_vehicle_mappings, catalog_article, c.article_number == m.article_number)
        .where(m.vehicle_variant_id == param("variant_id"), m.product_type == "wheel",
               m.position.in_((param("axle", sa.String()), "both")),
               m.match_score.in_([param(f"score{n}") for n in range(scores)]), *_catalog_filters([], in_stock))
        .order_by(m.match_score.desc(), price_key, m.article_number)
        .limit(param("limit"))
    )  # fmt: skip
    if keyset:
        score, price, number = param("after_score"), param("after_price", MONEY), param("after_number", sa.String())
        query = query.where(sa.or_(
            m.match_score < score,
            sa.and_(m.match_score == score, price_key > price),
            sa.and_(m.match_score == score, price_key == price, m.article_number > number),
        ))  # fmt: skip
    return compiled(query)


def wheel_page(
    variant_id: int, axle: str, scores: list[int], in_stock: bool, after: Key | None, limit: int
) -> Prepared:
    """(article, score, price key, OE) of the axle's wheels of ``scores`` after the cursor, in page order."""
    values: dict[str, Any] = {"variant_id": variant_id, "axle": axle, "limit": limit,
                              **{f"score{n}": score for n, score in enumerate(scores)}}  # fmt: skip
    if after is not None:
        values.update(after_score=after[0], after_price=after[1], after_number=after[2])
    return bound(_wheel_page_template(len(scores), in_stock, after is not None), values)


async def wheel_candidates(
    run: Run, variant_id: int, axle: str, in_stock: bool, after: Key | None, want: int
) -> list[Candidate]:
    """The first ``want`` wheels after the cursor: the scores' counts, then the rows of just enough
    scores (more scores read when stock or the cursor left fewer rows than counted)."""
    counts = list(await run(*wheel_score_counts(variant_id, axle, after[0] if after is not None else None)))
    page: list[Candidate] = []
    while counts and len(page) < want:
        scores, counts = scores_filling(counts, want - len(page))
        rows = await run(*wheel_page(variant_id, axle, scores, in_stock, after, want - len(page)))
        page += [(number, int(score), Decimal(price), bool(oe)) for number, score, price, oe in rows]
    return page


@functools.lru_cache(maxsize=128)
def _items_template(count: int) -> Template:
    numbers = [param(f"article{n}", sa.String()) for n in range(count)]
    return compiled(sa.select(*ITEM_COLUMNS).where(catalog_article.c.article_number.in_(numbers)))


def items_query(article_numbers: list[str]) -> Prepared:
    """The catalogue rows of a page (by primary key, ``ITEM_COLUMNS``): one template per page size."""
    return bound(_items_template(len(article_numbers)), {f"article{n}": v for n, v in enumerate(article_numbers)})


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
