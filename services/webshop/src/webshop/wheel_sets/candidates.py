"""The bounded set candidates of many variants at once, from the fitment replica and the catalogue.

Window functions keep, per variant, the few best wheels per position and rim diameter and the few best
tyres per axle, size and season (``compose``'s ranks), so a batch of variants is three statements
whatever the catalogue's size; ``compose`` then ranks again over what it was given.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from integration_sdk.tyre_fitment import tyre_fit_columns
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
TYRE_GROUP = ("vehicle_variant_id", "axle", "width", "aspect", "rim_diameter", "season")


def _top(query: sa.Select[Any], partition: Sequence[str], order: Sequence[sa.ColumnElement[Any]], keep: int,
         ) -> sa.Select[Any]:  # fmt: skip
    """The first ``keep`` rows of each partition of ``query`` in ``order`` (expressions over its columns)."""
    inner = query.subquery("ranked_source")
    rank = sa.func.row_number().over(partition_by=[inner.c[name] for name in partition],
                                     order_by=[expression(inner) for expression in order]).label("rn")  # type: ignore[operator]  # fmt: skip
    ranked = sa.select(*inner.c, rank).subquery("ranked")
    return sa.select(*(column for column in ranked.c if column.name != "rn")).where(ranked.c.rn <= keep)


def wheel_candidates_query(variant_ids: Sequence[int]) -> sa.Select[Any]:
    """Per variant, position and rim diameter the best wheels (score, then article number)."""
    m, c = product_vehicle_mappings, catalog_article
    query = (
        sa.select(
            m.c.vehicle_variant_id,
            m.c.article_number,
            m.c.position,
            c.c.wheel_diameter.label("rim_diameter"),
            c.c.wheel_width.label("rim_width"),
            m.c.match_score.label("score"),
        )  # fmt: skip
        .join(c, c.c.article_number == m.c.article_number)
        .where(m.c.vehicle_variant_id.in_(variant_ids), m.c.product_type == "wheel")
        .where(c.c.wheel_diameter.is_not(None), c.c.wheel_width.is_not(None))
    )
    order = [lambda t: t.c.score.desc(), lambda t: t.c.article_number]
    return _top(query, ("vehicle_variant_id", "position", "rim_diameter"), order, WHEELS_PER_DIAMETER)  # type: ignore[arg-type]


def tyre_candidates_query(variant_ids: Sequence[int]) -> sa.Select[Any]:
    """Per variant, axle, size and season the best fitting tyres: by size (less exclusions) or included."""
    fit, c, x, m = vehicle_tyre_fitment, catalog_article, vehicle_tyre_exclusion, product_vehicle_mappings
    admits, score = tyre_fit_columns(fit, c)
    tyre_columns = (c.c.article_number, c.c.width, c.c.aspect, c.c.rim_diameter, c.c.season, c.c.eu_wet, c.c.eu_fuel)
    by_size = (
        sa.select(fit.c.vehicle_variant_id, fit.c.axle, *tyre_columns, score.label("score"))
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
        .where(fit.c.vehicle_variant_id.in_(variant_ids), c.c.season.is_not(None), admits, x.c.article_number.is_(None))
    )
    included = (
        sa.select(m.c.vehicle_variant_id, m.c.position.label("axle"), *tyre_columns, m.c.match_score.label("score"))
        .join(c, c.c.article_number == m.c.article_number)
        .where(
            m.c.vehicle_variant_id.in_(variant_ids),
            m.c.product_type == "tyre",
            c.c.width.is_not(None),
            c.c.season.is_not(None),
        )  # fmt: skip
    )
    both = sa.union_all(by_size, included).subquery("fitting")
    keys = [both.c[name] for name in (*TYRE_GROUP, "article_number", "eu_wet", "eu_fuel")]
    best_of_each = sa.select(*keys, sa.func.max(both.c.score).label("score")).group_by(*keys)
    order = [lambda t: t.c.score.desc(), lambda t: sa.func.coalesce(t.c.eu_wet, NO_LABEL),
             lambda t: sa.func.coalesce(t.c.eu_fuel, NO_LABEL), lambda t: t.c.article_number]  # fmt: skip
    return _top(best_of_each, TYRE_GROUP, order, TYRES_PER_SIZE)  # type: ignore[arg-type]


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
    session: AsyncSession, variant_ids: Sequence[int]
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
    for row in await session.execute(tyre_candidates_query(ids)):
        values = row._asdict()
        variant = variants[values.pop("vehicle_variant_id")]
        for axle in variant.axles if values["axle"] == "both" else (values["axle"],):  # an include for both axles
            tyres[variant.vehicle_variant_id].append(TyreCandidate(**{**values, "axle": axle}))
    direct = sorted({v.make for v in variants.values() if v.tpms_type == "direct"})
    sensors = [(row.article_number, list(row.compatible_makes or [])) for row in
               await session.execute(sensors_query(direct))] if direct else []  # fmt: skip
    return {v: (variants[v], wheels[v], tyres[v]) for v in ids}, sensors
