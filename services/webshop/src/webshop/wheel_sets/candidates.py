"""The bounded set candidates of many variants at once, from the fitment replica and the catalogue.

- Wheels: a window function keeps, per variant, position and rim diameter, the few best mapped wheels.
- Tyres: a size's catalogue tyres are read once (``TyresBySize``) and grouped by what the fit rule reads
  (season, load index, speed rating, run-flat), each group in rank order; a size row is scored once per
  group with the rule's Python form (``integration_sdk.tyre_fitment.tyre_fit_score``) and takes the first
  tyres of its best groups. Joining every size row to every tyre of its size in SQL (126k rows × ~600
  tyres at full scale) took 50 ms per variant; this takes well under one.

``compose`` then ranks again over what it was given, so only the bounds' superset matters here.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.bulk import chunked
from integration_sdk.tyre_fitment import python_speed_rank, tyre_fit_score
from webshop.tables import (
    catalog_article,
    product_vehicle_mappings,
    vehicle_tyre_exclusion,
    vehicle_tyre_fitment,
    vehicle_variant,
)
from webshop.wheel_sets.compose import (
    NO_LABEL,
    TYRES_PER_SIZE,
    WHEELS_PER_DIAMETER,
    TyreCandidate,
    Variant,
    WheelCandidate,
)

VARIANT_FIELDS = ("vehicle_variant_id", "make", "drive", "tpms_type", "is_staggered")
# What a tyre candidate reads of the catalogue (``TyreCandidate``'s fields, less axle and score).
TYRE_COLUMNS = tuple(
    catalog_article.c[name]
    for name in ("article_number", "width", "aspect", "rim_diameter", "season", "eu_wet", "eu_fuel")
)


def wheel_candidates_query(variant_ids: Sequence[int]) -> sa.Select[Any]:
    """Per variant, position and rim diameter the best wheels (score, then article number)."""
    m, c = product_vehicle_mappings, catalog_article
    rank = sa.func.row_number().over(
        partition_by=(m.c.vehicle_variant_id, m.c.position, c.c.wheel_diameter),
        order_by=(m.c.match_score.desc(), m.c.article_number),
    )
    ranked = (
        sa.select(
            m.c.vehicle_variant_id,
            m.c.article_number,
            m.c.position,
            c.c.wheel_diameter.label("rim_diameter"),
            c.c.wheel_width.label("rim_width"),
            m.c.match_score.label("score"),
            rank.label("rn"),
        )  # fmt: skip
        .join(c, c.c.article_number == m.c.article_number)
        .where(m.c.vehicle_variant_id.in_(variant_ids), m.c.product_type == "wheel")
        .where(c.c.wheel_diameter.is_not(None), c.c.wheel_width.is_not(None))
        .subquery("ranked")
    )
    return sa.select(*(column for column in ranked.c if column.name != "rn")).where(ranked.c.rn <= WHEELS_PER_DIAMETER)


def size_rows_query(variant_ids: Sequence[int]) -> sa.Select[Any]:
    """The variants' tyre size rows (their limits and base score)."""
    fit = vehicle_tyre_fitment.c
    return sa.select(fit.vehicle_variant_id, fit.axle, fit.width, fit.aspect, fit.rim_diameter, fit.base_score,
                     fit.min_load_index, fit.reference_speed_rating, fit.reference_run_flat).where(
        fit.vehicle_variant_id.in_(variant_ids))  # fmt: skip


def included_tyres_query(variant_ids: Sequence[int]) -> sa.Select[Any]:
    """Tyres an operator included for the variants, with their mapped score."""
    m, c = product_vehicle_mappings, catalog_article
    return (
        sa.select(m.c.vehicle_variant_id, m.c.position.label("axle"), *TYRE_COLUMNS, m.c.match_score.label("score"))
        .join(c, c.c.article_number == m.c.article_number)
        .where(
            m.c.vehicle_variant_id.in_(variant_ids),
            m.c.product_type == "tyre",
            c.c.width.is_not(None),
            c.c.season.is_not(None),
        )  # fmt: skip
    )


Size = tuple[int, int, int]


@dataclass(frozen=True)
class CatalogueTyre:
    """A catalogue tyre with what the fit rule reads and what the set ranks by."""

    article_number: str
    season: str
    load_index: int | None
    speed_rating: str | None
    run_flat: bool | None
    eu_wet: str | None
    eu_fuel: str | None

    def rank(self) -> tuple[str, str, str]:
        return self.eu_wet or NO_LABEL, self.eu_fuel or NO_LABEL, self.article_number


# A size's tyres per season, then per (load index, speed rank, run-flat): every tyre of a group scores the
# same under any size row, so a size row is scored once per group, not once per tyre.
Groups = dict[str, dict[tuple[int | None, int, bool], list[CatalogueTyre]]]


class TyresBySize:
    """The catalogue's tyres by size, grouped for the fit rule and in rank order; each size read once.

    One instance serves a whole rebuild (a popular size is read once for thousands of variants); a
    single recompose uses its own.
    """

    def __init__(self) -> None:
        self.sizes: dict[Size, Groups] = {}

    async def load(self, session: AsyncSession, sizes: set[Size]) -> None:
        c = catalog_article.c
        for chunk in chunked(sorted(sizes - self.sizes.keys()), 50):
            rows = await session.execute(
                sa.select(c.width, c.aspect, c.rim_diameter, c.article_number, c.season, c.load_index,
                          c.speed_rating, c.run_flat, c.eu_wet, c.eu_fuel)
                .where(c.article_type == "tyre", sa.tuple_(c.width, c.aspect, c.rim_diameter).in_(chunk),
                       c.season.is_not(None))
            )  # fmt: skip
            for size in chunk:
                self.sizes[size] = {}
            for width, aspect, rim, *fields in rows:
                tyre = CatalogueTyre(*fields)
                group = (tyre.load_index, python_speed_rank(tyre.speed_rating), bool(tyre.run_flat))
                self.sizes[(width, aspect, rim)].setdefault(tyre.season, {}).setdefault(group, []).append(tyre)
            for size in chunk:
                for groups in self.sizes[size].values():
                    for tyres in groups.values():
                        tyres.sort(key=CatalogueTyre.rank)

    def best(self, fit: Any, excluded: set[str]) -> list[TyreCandidate]:
        """Per season the ``TYRES_PER_SIZE`` best tyres the size row admits (score, then rank), less excluded."""
        found: list[TyreCandidate] = []
        size = (fit.width, fit.aspect, fit.rim_diameter)
        for season, groups in self.sizes.get(size, {}).items():
            scored: dict[int, list[CatalogueTyre]] = {}
            for tyres in groups.values():
                head = tyres[0]
                score = tyre_fit_score(fit, head.load_index, head.speed_rating, season, head.run_flat)
                if score is not None:  # a group's first few cover it: the rest rank after them
                    kept = [t for t in tyres[: TYRES_PER_SIZE + len(excluded)] if t.article_number not in excluded]
                    scored.setdefault(score, []).extend(kept[:TYRES_PER_SIZE])
            picked = [(score, t) for score in sorted(scored, reverse=True)
                      for t in sorted(scored[score], key=CatalogueTyre.rank)][:TYRES_PER_SIZE]  # fmt: skip
            found += [TyreCandidate(t.article_number, fit.axle, *size, t.season, score, t.eu_wet, t.eu_fuel)
                      for score, t in picked]  # fmt: skip
        return found


def variants_query(variant_ids: Sequence[int]) -> sa.Select[Any]:
    return sa.select(*(vehicle_variant.c[name] for name in VARIANT_FIELDS)).where(
        vehicle_variant.c.vehicle_variant_id.in_(variant_ids)
    )


def sensors_query(makes: Sequence[str]) -> sa.Select[Any]:
    """TPMS sensors listing any of ``makes``."""
    c = catalog_article
    listed = sa.or_(*(sa.func.json_contains(c.c.compatible_makes, json.dumps(make)) == 1 for make in makes))
    return sa.select(c.c.article_number, c.c.compatible_makes).where(c.c.article_type == "tpms", listed)


Candidates = dict[int, tuple[Variant, list[WheelCandidate], list[TyreCandidate]]]


async def read_candidates(
    session: AsyncSession, variant_ids: Sequence[int], catalogue: TyresBySize | None = None
) -> tuple[Candidates, list[tuple[str, list[str]]]]:
    """The variants that exist among ``variant_ids`` with their candidates, and the sensors their makes may use."""
    variants = {
        row.vehicle_variant_id: Variant(**row._mapping) for row in await session.execute(variants_query(variant_ids))
    }
    if not variants:
        return {}, []
    ids = sorted(variants)
    wheels: dict[int, list[WheelCandidate]] = defaultdict(list)
    for row in await session.execute(wheel_candidates_query(ids)):
        values = row._asdict()
        wheels[values.pop("vehicle_variant_id")].append(WheelCandidate(**values))
    tyres: dict[int, list[TyreCandidate]] = defaultdict(list)
    size_rows = (await session.execute(size_rows_query(ids))).all()
    catalogue = catalogue or TyresBySize()
    await catalogue.load(session, {(r.width, r.aspect, r.rim_diameter) for r in size_rows})
    x = vehicle_tyre_exclusion.c
    excluded: dict[tuple[int, str], set[str]] = defaultdict(set)
    for variant_id, axle, number in await session.execute(
        sa.select(x.vehicle_variant_id, x.axle, x.article_number).where(x.vehicle_variant_id.in_(ids))
    ):
        excluded[(variant_id, axle)].add(number)
    for fit in size_rows:
        tyres[fit.vehicle_variant_id] += catalogue.best(fit, excluded.get((fit.vehicle_variant_id, fit.axle), set()))
    for row in await session.execute(included_tyres_query(ids)):
        values = row._asdict()
        variant = variants[values.pop("vehicle_variant_id")]
        for axle in variant.axles if values["axle"] == "both" else (values["axle"],):  # an include for both axles
            tyres[variant.vehicle_variant_id].append(TyreCandidate(**{**values, "axle": axle}))
    direct = sorted({v.make for v in variants.values() if v.tpms_type == "direct"})
    sensors = [(row.article_number, list(row.compatible_makes or [])) for row in
               await session.execute(sensors_query(direct))] if direct else []  # fmt: skip
    return {v: (variants[v], wheels[v], tyres[v]) for v in ids}, sensors
