"""Which wheel sets a vehicle variant gets, their keys, quantities and prices: the rules, as pure functions.

Both the projection (``recompute``) and the request-time reference (``reference``) compose through here;
they differ in where the candidates come from and how quantities are computed (SQL over the reverse
index there, Python here).

Candidates come from the fitment replica only, so set membership never depends on stock or price:

- axles: ``both``, or ``front`` and ``rear`` for a staggered variant;
- wheels of an axle: wheels mapped to it (position = that axle or ``both``); per rim diameter the
  ``WHEELS_PER_DIAMETER`` best (match score, then article number);
- tyres of an axle: tyres that fit it (by size, or included by an operator; excluded ones never); per
  size and season the ``TYRES_PER_SIZE`` best (match score, then EU wet grip, fuel class, article number).

A pair is a wheel and a tyre of one axle on the same rim diameter whose width suits the rim: the rim
is 70-95% of the tyre's section width (in inches), which holds ETRTO's approved passenger rim ranges
within half an inch. A standard set is one pair ×4. A staggered set is a front pair ×2 and a rear
pair ×2 with tyres of one season and, on all-wheel drive, rolling diameters within 1% of each other.
Per variant and season the ``SETS_PER_SEASON`` best compositions are kept (weakest pair's score, then
rim diameter, then article numbers), each in every mounting type. A direct-TPMS variant's sets carry the
compatible sensor (its make listed; the make's sensors spread over its variants) ×4; without one, the
set is still sold, flagged ``tpms_missing``.

Bound at full scale: 20k variants × 3 seasons × 6 compositions × 3 mounting types ≤ 1.08M sets. The
whole cross product (hundreds of wheels × hundreds of tyres per variant) would be billions of rows
nobody browses; the best-fitting few per season are what a dealer sells as a set.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from itertools import product
from typing import Any

WHEELS_PER_DIAMETER = 3
TYRES_PER_SIZE = 2
SETS_PER_SEASON = 6
SEASONS = ("summer", "winter", "all_season")
MOUNTING_FEES = {  # per set of four, EUR
    "unmounted": Decimal("0.00"),
    "mounted": Decimal("60.00"),
    "mounted_balanced": Decimal("100.00"),
}
# How many of a component one set needs, by its role in the set.
ROLE_COUNT = {"wheel": 4, "tyre": 4, "tpms": 4, "wheel_front": 2, "wheel_rear": 2, "tyre_front": 2, "tyre_rear": 2}
NO_LABEL = "Z"  # an unlabelled tyre ranks after every EU class
KEY_VERSION = "wheel-set/1"
MM_PER_INCH = Decimal("25.4")


@dataclass(frozen=True)
class Variant:
    """What composition reads of a vehicle variant."""

    vehicle_variant_id: int
    make: str
    drive: str
    tpms_type: str
    is_staggered: bool

    @property
    def axles(self) -> tuple[str, ...]:
        return ("front", "rear") if self.is_staggered else ("both",)


@dataclass(frozen=True)
class WheelCandidate:
    """A wheel mapped to the variant: its position (``both``/``front``/``rear``), rim and match score."""

    article_number: str
    position: str
    rim_diameter: int
    rim_width: Decimal
    score: int

    def rank(self) -> tuple[Any, ...]:
        return -self.score, self.article_number


@dataclass(frozen=True)
class TyreCandidate:
    """A tyre that fits one axle of the variant, with its size, season, EU label and match score."""

    article_number: str
    axle: str
    width: int
    aspect: int
    rim_diameter: int
    season: str
    score: int
    eu_wet: str | None = None
    eu_fuel: str | None = None

    def rank(self) -> tuple[Any, ...]:
        return -self.score, self.eu_wet or NO_LABEL, self.eu_fuel or NO_LABEL, self.article_number

    @property
    def rolling_diameter_mm(self) -> Decimal:
        return self.rim_diameter * MM_PER_INCH + Decimal(2 * self.width * self.aspect) / 100


@dataclass(frozen=True)
class Pair:
    wheel: WheelCandidate
    tyre: TyreCandidate

    @property
    def score(self) -> int:
        return (self.wheel.score + self.tyre.score) // 2


@dataclass(frozen=True)
class WheelSet:
    """One set of the projection, before its quantity and price (those follow the components' stock)."""

    set_key: str
    vehicle_variant_id: int
    season: str
    mounting_type: str
    wheel_front_article_number: str
    wheel_rear_article_number: str | None
    tyre_front_article_number: str
    tyre_rear_article_number: str | None
    tpms_article_number: str | None
    is_staggered: bool
    rim_diameter: int
    match_score: int
    mounting_fee: Decimal
    tpms_missing: bool

    def components(self) -> list[tuple[str, str]]:
        """(article number, role) of every component; a SKU used on both axles appears once per role."""
        if self.is_staggered:
            parts = [
                (self.wheel_front_article_number, "wheel_front"), (self.wheel_rear_article_number or "", "wheel_rear"),
                (self.tyre_front_article_number, "tyre_front"), (self.tyre_rear_article_number or "", "tyre_rear"),
            ]  # fmt: skip
        else:
            parts = [(self.wheel_front_article_number, "wheel"), (self.tyre_front_article_number, "tyre")]
        if self.tpms_article_number is not None:
            parts.append((self.tpms_article_number, "tpms"))
        return parts

    def needs(self) -> dict[str, int]:
        """How many of each SKU one set takes (pooled over roles: one wheel SKU on both axles needs 4)."""
        needed: dict[str, int] = defaultdict(int)
        for number, role in self.components():
            needed[number] += ROLE_COUNT[role]
        return dict(needed)

    def row(self) -> dict[str, Any]:
        """The projection row's membership columns."""
        return {name: getattr(self, name) for name in SET_MEMBERSHIP_COLUMNS}


SET_MEMBERSHIP_COLUMNS = (
    "set_key", "vehicle_variant_id", "season", "mounting_type", "wheel_front_article_number",
    "wheel_rear_article_number", "tyre_front_article_number", "tyre_rear_article_number", "tpms_article_number",
    "is_staggered", "rim_diameter", "match_score", "mounting_fee", "tpms_missing",
)  # fmt: skip


def set_key(variant_id: int, season: str, mounting_type: str, components: Iterable[str | None]) -> str:
    """sha256 hex of the set's attributes and its ordered components (wheel front, wheel rear, tyre front,
    tyre rear, sensor; absent ones as null): the same set has the same key on any machine, in any run."""
    payload = json.dumps([KEY_VERSION, variant_id, season, mounting_type, *components], separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def rim_suits(tyre_width_mm: int, rim_width_in: Decimal) -> bool:
    """The rim is 70-95% of the tyre's section width, in inches."""
    section_in = Decimal(tyre_width_mm) / MM_PER_INCH
    return section_in * Decimal("0.70") <= rim_width_in <= section_in * Decimal("0.95")


def best_wheels(wheels: Iterable[WheelCandidate], axle: str) -> list[WheelCandidate]:
    """The axle's wheels, the best few per rim diameter (a wheel mapped to ``both`` serves either axle)."""
    positions = {axle, "both"}
    by_rim: dict[int, dict[str, WheelCandidate]] = defaultdict(dict)
    for wheel in wheels:
        if wheel.position in positions:
            known = by_rim[wheel.rim_diameter].get(wheel.article_number)
            if known is None or wheel.rank() < known.rank():
                by_rim[wheel.rim_diameter][wheel.article_number] = wheel
    return [
        w for rim in sorted(by_rim) for w in sorted(by_rim[rim].values(), key=WheelCandidate.rank)[:WHEELS_PER_DIAMETER]
    ]


def best_tyres(tyres: Iterable[TyreCandidate], axle: str) -> list[TyreCandidate]:
    """The axle's tyres, the best few per size and season (a tyre listed twice counts at its best)."""
    by_group: dict[tuple[int, int, int, str], dict[str, TyreCandidate]] = defaultdict(dict)
    for tyre in tyres:
        if tyre.axle == axle:
            group = by_group[(tyre.width, tyre.aspect, tyre.rim_diameter, tyre.season)]
            known = group.get(tyre.article_number)
            if known is None or tyre.rank() < known.rank():
                group[tyre.article_number] = tyre
    return [
        t for key in sorted(by_group) for t in sorted(by_group[key].values(), key=TyreCandidate.rank)[:TYRES_PER_SIZE]
    ]


def pairs(wheels: list[WheelCandidate], tyres: list[TyreCandidate]) -> list[Pair]:
    """Wheel and tyre on one rim diameter, the tyre's width suiting the rim."""
    return [
        Pair(w, t)
        for w, t in product(wheels, tyres)
        if w.rim_diameter == t.rim_diameter and rim_suits(t.width, w.rim_width)
    ]


def choose_sensor(variant: Variant, sensors: Iterable[tuple[str, list[str]]]) -> str | None:
    """A direct-TPMS variant's sensor: one of those listing the variant's make, picked by the variant id
    (article numbers in order, the id modulo their count).

    Any listed sensor fits; spreading a make's variants over its sensors keeps each sensor in a few
    hundred sets. One sensor per make (the first, say) would put it in a whole make's sets, over 100k
    at full scale, and every stock change of it would refresh them all.
    """
    if variant.tpms_type != "direct":
        return None
    listed = sorted(number for number, makes in sensors if variant.make in makes)
    return listed[variant.vehicle_variant_id % len(listed)] if listed else None


def compose(
    variant: Variant,
    wheels: Iterable[WheelCandidate],
    tyres: Iterable[TyreCandidate],
    sensors: Iterable[tuple[str, list[str]]],
) -> list[WheelSet]:
    """Every set of the variant, in a stable order."""
    wheels, tyres = list(wheels), list(tyres)
    sensor = choose_sensor(variant, sensors)
    by_axle = {axle: pairs(best_wheels(wheels, axle), best_tyres(tyres, axle)) for axle in variant.axles}
    compositions: list[tuple[str, tuple[Pair, ...]]] = []
    for season in SEASONS:
        options: list[tuple[Pair, ...]]
        if variant.is_staggered:
            fronts = [p for p in by_axle["front"] if p.tyre.season == season]
            rears = [p for p in by_axle["rear"] if p.tyre.season == season]
            options = [(f, r) for f, r in product(fronts, rears) if variant.drive != "awd" or _same_rolling(f, r)]
        else:
            options = [(p,) for p in by_axle["both"] if p.tyre.season == season]
        options.sort(key=_composition_rank)
        compositions.extend((season, option) for option in options[:SETS_PER_SEASON])
    return [_wheel_set(variant, season, mounting, option, sensor) for season, option in compositions
            for mounting in MOUNTING_FEES]  # fmt: skip


def _same_rolling(front: Pair, rear: Pair) -> bool:
    a, b = front.tyre.rolling_diameter_mm, rear.tyre.rolling_diameter_mm
    return abs(a - b) <= max(a, b) / 100


def _composition_rank(option: tuple[Pair, ...]) -> tuple[Any, ...]:
    numbers = [n for p in option for n in (p.wheel.article_number, p.tyre.article_number)]
    return -min(p.score for p in option), option[0].wheel.rim_diameter, *numbers


def _wheel_set(variant: Variant, season: str, mounting: str, option: tuple[Pair, ...], sensor: str | None) -> WheelSet:
    front, rear = option[0], (option[1] if len(option) > 1 else None)
    numbers = (
        front.wheel.article_number, rear.wheel.article_number if rear else None,
        front.tyre.article_number, rear.tyre.article_number if rear else None, sensor,
    )  # fmt: skip
    return WheelSet(
        set_key=set_key(variant.vehicle_variant_id, season, mounting, numbers),
        vehicle_variant_id=variant.vehicle_variant_id, season=season, mounting_type=mounting,
        wheel_front_article_number=numbers[0], wheel_rear_article_number=numbers[1],
        tyre_front_article_number=numbers[2], tyre_rear_article_number=numbers[3], tpms_article_number=sensor,
        is_staggered=rear is not None, rim_diameter=front.wheel.rim_diameter, match_score=min(p.score for p in option),
        mounting_fee=MOUNTING_FEES[mounting], tpms_missing=variant.tpms_type == "direct" and sensor is None,
    )  # fmt: skip


def set_quantity(needs: Mapping[str, int], sellable: Mapping[str, int]) -> int:
    """Complete sets the stock allows: for each SKU ``floor(qty / needed)``, the smallest (an unknown SKU: 0).

    Standard: ``floor(min(wheel, tyre) / 4)``; staggered: ``min(floor(min(front) / 2), floor(min(rear) / 2))``;
    one SKU on both axles is pooled (``floor(qty / 4)``), and a sensor limits it like any component.
    """
    return min(max(sellable.get(number, 0), 0) // count for number, count in needs.items())


def set_price(needs: Mapping[str, int], unit_prices: Mapping[str, Decimal], mounting_fee: Decimal) -> Decimal:
    """Components at their unit price times the number needed, plus the mounting fee."""
    return sum((unit_prices.get(number, Decimal(0)) * count for number, count in needs.items()), mounting_fee)
