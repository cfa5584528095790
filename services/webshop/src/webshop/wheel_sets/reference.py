"""The reference read path: a variant's sets composed at request time, the way the monolith did.

Every mapped wheel and every fitting tyre is read (no window bounds, no projection, no reverse index),
``compose`` ranks and bounds them in Python, and each set's quantity and price come from the
availability projection and the catalogue in Python (``set_quantity``, ``set_price``). It answers
what the projection should hold: reconcile compares the two, dual-read checks the set list against
it, and the benchmark measures the projection against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from integration_sdk.tyre_fitment import tyre_fit_columns
from webshop.tables import (
    article_availability_projection,
    catalog_article,
    product_vehicle_mappings,
    vehicle_tyre_exclusion,
    vehicle_tyre_fitment,
)
from webshop.wheel_sets.candidates import TYRE_COLUMNS, sensors_query, variants_query
from webshop.wheel_sets.compose import (
    TyreCandidate,
    Variant,
    WheelCandidate,
    WheelSet,
    compose,
    set_price,
    set_quantity,
)
from webshop.wheel_sets.queries import SORTS, SetListing


@dataclass(frozen=True)
class PricedSet:
    """A composed set with the quantity and price its components allow now."""

    wheel_set: WheelSet
    sellable_quantity: int
    set_price: Decimal

    def row(self) -> dict[str, Any]:
        """Shaped like a projection row (without ``computed_at``)."""
        return {**self.wheel_set.row(), "sellable_quantity": self.sellable_quantity, "set_price": self.set_price}


async def reference_sets(conn: AsyncConnection, variant_id: int) -> list[PricedSet]:
    """The variant's sets, quantities and prices, from mappings, catalogue and availability."""
    found = (await conn.execute(variants_query([variant_id]))).first()
    if found is None:
        return []
    variant = Variant(**found._mapping)
    m, c, fit, x = product_vehicle_mappings, catalog_article, vehicle_tyre_fitment, vehicle_tyre_exclusion
    wheel_rows = await conn.execute(
        sa.select(m.c.article_number, m.c.position, c.c.wheel_diameter, c.c.wheel_width, m.c.match_score)
        .join(c, c.c.article_number == m.c.article_number)
        .where(m.c.vehicle_variant_id == variant_id, m.c.product_type == "wheel", c.c.wheel_diameter.is_not(None),
               c.c.wheel_width.is_not(None))
    )  # fmt: skip
    wheels = [WheelCandidate(*row) for row in wheel_rows]
    admits, score = tyre_fit_columns(fit, c)
    by_size = await conn.execute(
        sa.select(fit.c.axle, *TYRE_COLUMNS, score)
        .select_from(fit)
        .join(c, sa.and_(c.c.width == fit.c.width, c.c.aspect == fit.c.aspect, c.c.rim_diameter == fit.c.rim_diameter))
        .where(fit.c.vehicle_variant_id == variant_id, c.c.season.is_not(None), admits)
    )  # fmt: skip
    exclusions = await conn.execute(sa.select(x.c.axle, x.c.article_number).where(x.c.vehicle_variant_id == variant_id))
    excluded = {(axle, number) for axle, number in exclusions}
    included = await conn.execute(
        sa.select(m.c.position, *TYRE_COLUMNS, m.c.match_score)
        .join(c, c.c.article_number == m.c.article_number)
        .where(m.c.vehicle_variant_id == variant_id, m.c.product_type == "tyre", c.c.width.is_not(None),
               c.c.season.is_not(None))
    )  # fmt: skip
    tyres = [_tyre(row) for row in by_size if (row[0], row[1]) not in excluded]
    tyres += [_tyre((axle, *rest)) for position, *rest in included
              for axle in (variant.axles if position == "both" else (position,))]  # fmt: skip
    sensors = []
    if variant.tpms_type == "direct":
        sensors = [(n, list(makes or [])) for n, makes in await conn.execute(sensors_query([variant.make]))]
    sets = compose(variant, wheels, tyres, sensors)
    numbers = sorted({number for s in sets for number, _ in s.components()})
    stock: dict[str, int] = {}
    prices: dict[str, Decimal] = {}
    if numbers:
        a = article_availability_projection
        rows = await conn.execute(
            sa.select(c.c.article_number, a.c.sellable_qty, sa.func.coalesce(a.c.best_price, c.c.list_price))
            .outerjoin(a, a.c.article_number == c.c.article_number)
            .where(c.c.article_number.in_(numbers))
        )  # fmt: skip
        for number, qty, price in rows:
            stock[number], prices[number] = qty or 0, price
    return [PricedSet(s, set_quantity(s.needs(), stock), set_price(s.needs(), prices, s.mounting_fee)) for s in sets]


def _tyre(row: Any) -> TyreCandidate:
    axle, number, width, aspect, rim, season, wet, fuel, score = row
    return TyreCandidate(number, axle, width, aspect, rim, season, score, wet, fuel)


def reference_page(sets: list[PricedSet], listing: SetListing, after: tuple[Any, str] | None, limit: int,
                   ) -> list[PricedSet]:  # fmt: skip
    """The set list's page, filtered and sorted in Python as ``queries.list_query`` does in SQL."""

    def wanted(priced: PricedSet) -> bool:
        s = priced.wheel_set
        return (
            (not listing.seasons or s.season in listing.seasons)
            and (listing.mounting_type is None or s.mounting_type == listing.mounting_type)
            and (listing.staggered is None or s.is_staggered == listing.staggered)
            and (not listing.in_stock or priced.sellable_quantity > 0)
            and (listing.price_min is None or priced.set_price >= listing.price_min)
            and (listing.price_max is None or priced.set_price <= listing.price_max)
        )

    name, descending = SORTS[listing.sort]

    def key(priced: PricedSet) -> tuple[Any, str]:
        value = getattr(priced, name)
        return (-value if descending else value), priced.wheel_set.set_key

    chosen = sorted(filter(wanted, sets), key=key)
    if after is not None:
        value, set_key = after
        bound = ((-value if descending else value), set_key)
        chosen = [priced for priced in chosen if key(priced) > bound]
    return chosen[:limit]
