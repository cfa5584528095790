"""A variant's fitting articles per axle, two ways: straight from the rules, and from the projection.

- ``reference_for_axle``: the old monolith's way, the reference path. Every catalogue article of the
  type goes through the Python rules (``rules``, ``derived``) against the variant's axles and manual
  rules: no buckets, no mapping table. Slow by design (all 228k tyres for a tyre lookup), exact by
  construction; reconcile, the tests and the lookup benchmark compare the projection with it.
- ``projected_for_axle``: what the projection answers: the mapping rows (wheels, included tyres) and the
  tyre size rows expanded over the catalogue with the shared SQL check (``integration_sdk.tyre_fitment``),
  less the excluded tyres. The webshop's tyre lookup runs the same expansion on its replica.

Both give ``{article_number: (score, is_original_equipment)}`` for one axle. A wheel's mapping row holds
one score for the variant (the lower one when it fits both axles of a staggered variant, see
``rules.combine_axles``); a tyre scores on each axle by that axle's size row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from integration_sdk.tyre_fitment import tyre_fit_columns
from vehicle_data.fitment import repository as repo
from vehicle_data.fitment.derived import (
    apply_article_rules,
    axles_of,
    tyre_exclusions,
    tyre_fits,
    tyre_of,
    wheel_of,
)
from vehicle_data.fitment.rules import Fit, combine_axles, wheel_fit
from vehicle_data.tables import product_spec, product_vehicle_mappings, vehicle_tyre_bucket, vehicle_tyre_exclusion

AxleAnswer = dict[str, tuple[int, bool]]


def _on_axle(position: str, axle: str) -> bool:
    return position in (axle, "both")


async def reference_for_axle(
    conn: AsyncConnection, vehicle_variant_id: int, product_type: str, axle: str
) -> AxleAnswer:
    """The articles of ``product_type`` that fit the variant's ``axle`` (one of its axles), by the rules alone."""
    sources = await repo.variants_with_fitments(conn, [vehicle_variant_id])
    if vehicle_variant_id not in sources:
        return {}
    axles = axles_of(*sources[vehicle_variant_id])
    rules = (await repo.active_rules(conn, [vehicle_variant_id])).get(vehicle_variant_id, [])
    size_fits = tyre_fits(axles, rules)
    answer: AxleAnswer = {}
    result = await conn.stream(sa.select(product_spec).where(product_spec.c.product_type == product_type))
    async for raw in result.mappings():
        spec: Mapping[Any, Any] = raw
        number = spec["article_number"]
        tyre = tyre_of(spec)
        if tyre is not None:
            excluded = tyre_exclusions(axles, rules, {number})
            by_size = size_fits.get((axle, (tyre.width, tyre.aspect, tyre.rim_diameter)))
            fit = None if by_size is None else by_size[0].fit(tyre)
            if fit is not None and (axle, number) not in excluded:
                answer[number] = (fit.score, fit.is_original_equipment)
                continue
        wheel = wheel_of(spec)
        own: dict[str, Fit] = {}
        if wheel is not None:
            own = {name: fit for name, a in axles.items() if (fit := wheel_fit(a, wheel)) is not None}
        if wheel is None and not any(r.article_number == number for r in rules):
            continue
        match = combine_axles(apply_article_rules(own, axles, rules, spec, size_fits))
        if match is not None and _on_axle(match.position, axle):
            answer[number] = (match.score, match.is_original_equipment)
    return answer


async def projected_for_axle(
    conn: AsyncConnection, vehicle_variant_id: int, product_type: str, axle: str
) -> AxleAnswer:
    """The articles of ``product_type`` that fit the variant's ``axle``, as the projection holds them."""
    pvm = product_vehicle_mappings
    answer: AxleAnswer = {}
    rows = await conn.execute(
        sa.select(pvm.c.article_number, pvm.c.position, pvm.c.match_score, pvm.c.is_original_equipment).where(
            pvm.c.vehicle_variant_id == vehicle_variant_id, pvm.c.product_type == product_type
        )
    )
    for number, position, score, is_oe in rows:
        if _on_axle(position, axle):
            answer[number] = (score, bool(is_oe))
    if product_type != "tyre":
        return answer
    fit, tyre, excluded = vehicle_tyre_bucket, product_spec, vehicle_tyre_exclusion
    admits, score = tyre_fit_columns(fit, tyre)
    query = (
        sa.select(tyre.c.article_number, score, fit.c.is_original_equipment)
        .select_from(fit)
        .join(tyre, sa.and_(tyre.c.product_type == "tyre", tyre.c.width == fit.c.width, tyre.c.aspect == fit.c.aspect,
                            tyre.c.rim_diameter == fit.c.rim_diameter))  # fmt: skip
        .outerjoin(excluded, sa.and_(excluded.c.vehicle_variant_id == fit.c.vehicle_variant_id,
                                     excluded.c.axle == fit.c.axle, excluded.c.article_number == tyre.c.article_number))
        .where(fit.c.vehicle_variant_id == vehicle_variant_id, fit.c.axle == axle, admits,
               excluded.c.article_number.is_(None))
    )  # fmt: skip
    for number, tyre_score, is_oe in await conn.execute(query):
        answer.setdefault(number, (int(tyre_score), bool(is_oe)))
    return answer
