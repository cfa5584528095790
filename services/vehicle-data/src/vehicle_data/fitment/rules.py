"""The fitment rules: buckets, hard checks and the match score, as pure functions.

**Buckets** turn "could this fit?" into an equality join:

- ``tyre_bucket = width:aspect:diameter:position``. A vehicle axle is a member for every size that may
  go on it (``axle_tyre_sizes``): its OE and optional sizes, and their alternatives (same rim, width at
  most one 10 mm step from a listed size and suited to that size's wheel width, rolling diameter within
  3% of the OE size). A tyre is a member for each position (``both``, ``front``, ``rear``) of its size,
  so front and rear sizes of a staggered car meet their tyres without a range query.
- ``wheel_bucket = pcd:diameter:center_bore_floor:offset_range``. PCD and diameter are equalities.
  Centre bore and offset are ranges (a wheel fits when its bore is at least the hub bore, a larger one
  needing a centring ring, made for up to ``MAX_RING_STEP_MM`` of difference, and its offset lies in the
  variant's range), so each range is expanded on one side. The bore on the wheel's: a wheel is a member
  of the bucket of every hub bore floor it can serve, its own bore floored to whole mm and each of the
  ``MAX_RING_STEP_MM`` below (21 memberships). The offset on the vehicle's: a vehicle axle is a member
  of the bucket of its hub bore floor for every 5 mm offset band that overlaps its offset range (about
  seven per diameter). Bucket candidates are then confirmed by the hard checks (exact bore and offset),
  so a band that only overlaps the range never lets a wheel through. (Expanding the bore on the vehicle
  side instead would make 5M memberships at full scale rather than 1.3M.)

**Hard checks** (all must hold): PCD and bolt count equal; bore not smaller than the hub and at most
``MAX_RING_STEP_MM`` larger; wheel diameter one the axle lists and width that size's or within half an
inch of it; offset within the variant's range; tyre size one of ``axle_tyre_sizes``; tyre load index
and wheel load rating at least what half the axle load needs; a tyre below the reference speed rating
only as a winter tyre.

**Score** (higher is better). Wheels: OE size and hub-centric 100; optional size, hub-centric 90;
another allowed width, hub-centric (aftermarket) 80; any wheel that needs a centring ring 72; minus 1
point per 5 mm of offset away from the OE offset (at most 10). Tyres: OE size 100; optional size 90;
an alternative size within 1.5% of the OE rolling diameter 60, within 3% 50; minus 5 for a winter tyre
below the reference speed rating (the winter exception), minus 10 for a tyre that is not run-flat
where the reference size is. The reference of a listed size is itself; of an alternative, the OE size.

**Staggered variants**: one mapping row per (variant, article). An article that fits only one axle
maps to that axle; one that fits both gets position ``both``, the lower of its two scores, and the OE
flag only if it is OE on both (``combine_axles``).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

OFFSET_BAND_MM = 5
MAX_RING_STEP_MM = 20  # centring rings bridge at most this much between wheel bore and hub
SPEED_ORDER = "QRSTHVWY"
SPEED_RANK = {rating: rank for rank, rating in enumerate(SPEED_ORDER, start=1)}  # unknown ratings rank 0
MANUAL_INCLUDE_SCORE = 75  # an article or size an operator included where the rules would not
WIDTH_TOLERANCE_INCH = Decimal("0.5")  # a wheel this much wider or narrower than a listed size still fits
ALTERNATIVE_WIDTH_STEP_MM = 10  # an alternative tyre size is at most one width step off a listed size
MAX_ROLLING_DEVIATION = 0.03
CLOSE_ROLLING_DEVIATION = 0.015
RIM_WIDTH_TOLERANCE_INCH = Decimal("1.0")  # around the tyre's measuring rim (ETRTO's approved range)
TYRE_ASPECTS = range(20, 90, 5)
POSITIONS = ("both", "front", "rear")

# ETRTO load index → kg per tyre (the range passenger and SUV tyres use).
LOAD_INDEX_KG = {
    70: 335, 71: 345, 72: 355, 73: 365, 74: 375, 75: 387, 76: 400, 77: 412, 78: 425, 79: 437, 80: 450,
    81: 462, 82: 475, 83: 487, 84: 500, 85: 515, 86: 530, 87: 545, 88: 560, 89: 580, 90: 600, 91: 615,
    92: 630, 93: 650, 94: 670, 95: 690, 96: 710, 97: 730, 98: 750, 99: 775, 100: 800, 101: 825, 102: 850,
    103: 875, 104: 900, 105: 925, 106: 950, 107: 975, 108: 1000, 109: 1030, 110: 1060, 111: 1090,
    112: 1120, 113: 1150, 114: 1180, 115: 1215, 116: 1250, 117: 1285, 118: 1320, 119: 1360, 120: 1400,
}  # fmt: skip


def speed_rank(rating: str) -> int:
    """Position in ``QRSTHVWY`` from 1; 0 for a rating outside it (it ranks below all, SQL's FIELD agrees)."""
    return SPEED_RANK.get(rating, 0)


def rolling_diameter_mm(width: int, aspect: int, rim_inch: int) -> float:
    """Outer diameter of a tyre: rim plus twice the sidewall."""
    return rim_inch * 25.4 + 2 * width * aspect / 100


def tyre_bucket(width: int, aspect: int, diameter: int, position: str) -> str:
    """``225:45:17:both``."""
    return f"{width}:{aspect}:{diameter}:{position}"


def offset_band(offset: int) -> int:
    """Lower bound of the 5 mm band an offset falls in (floor, also for negative offsets)."""
    return math.floor(offset / OFFSET_BAND_MM) * OFFSET_BAND_MM


def wheel_bucket(bolt_count: int, pcd: Decimal, diameter: int, bore_floor: int, band: int) -> str:
    """``5x112.0:17:66:35-40``: bolt pattern, diameter, (hub) bore floor, offset band."""
    return f"{bolt_count}x{pcd:.1f}:{diameter}:{bore_floor}:{band}-{band + OFFSET_BAND_MM}"


def product_wheel_buckets(
    bolt_count: int, pcd: Decimal, diameter: int, center_bore: Decimal, offset: int
) -> Iterator[str]:
    """The buckets of a wheel: one per hub bore floor it can serve (its own floor and the ring steps below)."""
    floor = math.floor(center_bore)
    for hub_floor in range(floor, floor - MAX_RING_STEP_MM - 1, -1):
        yield wheel_bucket(bolt_count, pcd, diameter, hub_floor, offset_band(offset))


def vehicle_wheel_buckets(
    bolt_count: int, pcd: Decimal, diameters: set[int], hub_bore: Decimal, offset_min: int, offset_max: int
) -> Iterator[str]:
    """Every bucket a wheel that may fit this axle can be in (confirmed afterwards by ``wheel_fit``)."""
    for diameter in sorted(diameters):
        for band in range(offset_band(offset_min), offset_max + 1, OFFSET_BAND_MM):
            yield wheel_bucket(bolt_count, pcd, diameter, math.floor(hub_bore), band)


@dataclass(frozen=True)
class AxleSize:
    """An OE or optional size of one axle."""

    kind: str  # "oe" | "optional"
    tyre_width: int
    tyre_aspect: int
    rim_diameter: int
    wheel_width: Decimal
    wheel_offset: int
    load_index: int
    speed_rating: str
    run_flat: bool = False


@dataclass(frozen=True)
class Axle:
    """What the hard checks need of one axle of a variant."""

    bolt_count: int
    pcd: Decimal
    hub_bore: Decimal
    offset_min: int
    offset_max: int
    axle_load_kg: int
    sizes: tuple[AxleSize, ...]

    @property
    def oe(self) -> AxleSize:
        """The axle's first OE size (the reference for plus/minus sizes and offset)."""
        return next((size for size in self.sizes if size.kind == "oe"), self.sizes[0])


@dataclass(frozen=True)
class Wheel:
    """The wheel specs the rules read."""

    bolt_count: int
    pcd: Decimal
    diameter: int
    width: Decimal
    offset: int
    center_bore: Decimal
    load_kg: int


@dataclass(frozen=True)
class Tyre:
    """The tyre specs the rules read."""

    width: int
    aspect: int
    rim_diameter: int
    load_index: int
    speed_rating: str
    season: str
    run_flat: bool


@dataclass(frozen=True)
class Fit:
    """An article's fit on one axle: its score and whether it is the factory fitment."""

    score: int
    is_original_equipment: bool


def wheel_fit(axle: Axle, wheel: Wheel) -> Fit | None:
    """How a wheel fits this axle, or None when a hard check fails."""
    if (wheel.bolt_count, wheel.pcd) != (axle.bolt_count, axle.pcd) or wheel.center_bore < axle.hub_bore:
        return None
    if wheel.center_bore - axle.hub_bore > MAX_RING_STEP_MM:
        return None  # no centring ring bridges that
    if not axle.offset_min <= wheel.offset <= axle.offset_max or wheel.load_kg * 2 < axle.axle_load_kg:
        return None
    same_size = [s for s in axle.sizes if (s.rim_diameter, s.wheel_width) == (wheel.diameter, wheel.width)]
    near_size = any(s.rim_diameter == wheel.diameter and abs(s.wheel_width - wheel.width) <= WIDTH_TOLERANCE_INCH
                    for s in axle.sizes)  # fmt: skip
    if not same_size and not near_size:
        return None
    oe_size = any(s.kind == "oe" for s in same_size)
    if wheel.center_bore > axle.hub_bore:
        score = 72  # fits with a centring ring
    elif oe_size:
        score = 100
    else:
        score = 90 if same_size else 80  # optional size; or another allowed width (aftermarket)
    penalty = min(abs(wheel.offset - axle.oe.wheel_offset) // OFFSET_BAND_MM, 10)
    return Fit(score - penalty, oe_size and wheel.center_bore == axle.hub_bore)


def wheel_score(axle: Axle, wheel: Wheel) -> int | None:
    """Score of a wheel on this axle, or None when a hard check fails."""
    fit = wheel_fit(axle, wheel)
    return None if fit is None else fit.score


def measuring_rim_inch(width: int, aspect: int) -> Decimal:
    """The rim width a tyre is measured on (ETRTO, to the half inch): about 75-85% of its width."""
    ratio = 0.75 if aspect >= 60 else 0.80 if aspect >= 55 else 0.85
    return Decimal(round(width * ratio / 25.4 * 2)) / 2


@dataclass(frozen=True)
class SizeFit:
    """How a tyre size relates to an axle: its base score and the listed size it is judged against."""

    base_score: int
    is_original_equipment: bool
    reference: AxleSize


@lru_cache(maxsize=65_536)
def axle_tyre_sizes(axle: Axle) -> dict[tuple[int, int, int], SizeFit]:
    """Every tyre size (width, aspect, rim) that may go on the axle: listed sizes and their alternatives."""
    sizes: dict[tuple[int, int, int], SizeFit] = {}
    for size in sorted(axle.sizes, key=lambda s: s.kind != "oe"):  # OE wins over an optional duplicate
        key = (size.tyre_width, size.tyre_aspect, size.rim_diameter)
        sizes.setdefault(key, SizeFit(100 if size.kind == "oe" else 90, size.kind == "oe", size))
    oe = axle.oe
    oe_rolling = rolling_diameter_mm(oe.tyre_width, oe.tyre_aspect, oe.rim_diameter)
    for size in axle.sizes:
        for width, aspect in _rim_suited(size.tyre_width, size.wheel_width):
            key = (width, aspect, size.rim_diameter)
            if key in sizes:
                continue
            deviation = abs(rolling_diameter_mm(*key) - oe_rolling) / oe_rolling
            if deviation <= MAX_ROLLING_DEVIATION:
                sizes[key] = SizeFit(60 if deviation <= CLOSE_ROLLING_DEVIATION else 50, False, oe)
    return sizes


@lru_cache(maxsize=4096)
def _rim_suited(tyre_width: int, wheel_width: Decimal) -> tuple[tuple[int, int], ...]:
    """(width, aspect) of the alternatives to a listed tyre width, in order, whose measuring rim suits its
    wheel width: one width step either side, every aspect."""
    step = ALTERNATIVE_WIDTH_STEP_MM
    return tuple(
        (width, aspect)
        for width in range(tyre_width - step, tyre_width + step + 1, step)
        for aspect in TYRE_ASPECTS
        if abs(measuring_rim_inch(width, aspect) - wheel_width) <= RIM_WIDTH_TOLERANCE_INCH
    )


@lru_cache(maxsize=4096)
def min_load_index(axle_load_kg: int) -> int:
    """The lowest load index that carries half the axle load (one above the table: none does)."""
    return next((index for index, kg in LOAD_INDEX_KG.items() if kg * 2 >= axle_load_kg), max(LOAD_INDEX_KG) + 1)


@dataclass(frozen=True)
class TyreSizeFit:
    """Everything a tyre of one size needs to fit an axle: the size's fit plus the axle's limits.

    This is what ``vehicle_tyre_bucket`` stores and the webshop's tyre lookup evaluates per article.
    """

    size: tuple[int, int, int]
    base_score: int
    is_original_equipment: bool
    min_load_index: int
    reference_speed_rating: str
    reference_run_flat: bool

    def fit(self, tyre: Tyre) -> Fit | None:
        """How a tyre of this size fits: load index, the speed rating (winter exception) and run-flat."""
        if not self.min_load_index <= tyre.load_index <= max(LOAD_INDEX_KG):
            return None
        score = self.base_score
        if speed_rank(tyre.speed_rating) < speed_rank(self.reference_speed_rating):
            if tyre.season != "winter":
                return None  # below the reference speed rating only as a winter tyre
            score -= 5
        if self.reference_run_flat and not tyre.run_flat:
            score -= 10
        return Fit(score, self.is_original_equipment)


def tyre_size_fits(
    axle: Axle, only: Collection[tuple[int, int, int]] | None = None
) -> dict[tuple[int, int, int], TyreSizeFit]:
    """The axle's tyre sizes with their fit and limits (its tyre bucket memberships); ``only``: of these sizes."""
    least = min_load_index(axle.axle_load_kg)
    sizes = axle_tyre_sizes(axle)
    fits = sizes.items() if only is None else ((size, sizes[size]) for size in only if size in sizes)
    return {
        size: TyreSizeFit(size, fit.base_score, fit.is_original_equipment, least, fit.reference.speed_rating,
                          fit.reference.run_flat)
        for size, fit in fits
    }  # fmt: skip


def tyre_fit(axle: Axle, tyre: Tyre) -> Fit | None:
    """How a tyre fits this axle, or None when a hard check fails."""
    size_fit = tyre_size_fits(axle).get((tyre.width, tyre.aspect, tyre.rim_diameter))
    return None if size_fit is None else size_fit.fit(tyre)


def tyre_score(axle: Axle, tyre: Tyre) -> int | None:
    """Score of a tyre on this axle, or None when a hard check fails."""
    fit = tyre_fit(axle, tyre)
    return None if fit is None else fit.score


@dataclass(frozen=True)
class AxleMatch:
    """An article's mapping row for a variant: position, score, OE flag."""

    position: str  # "front" | "rear" | "both"
    score: int
    is_original_equipment: bool


def combine_axles(fits: dict[str, Fit]) -> AxleMatch | None:
    """One mapping row from an article's fit per axle: a staggered variant's article that fits both
    axles is ``both`` with the lower score, and OE only if it is OE on both."""
    if not fits:
        return None
    if len(fits) == 1:
        ((axle, fit),) = fits.items()
        return AxleMatch(axle, fit.score, fit.is_original_equipment)
    return AxleMatch("both", min(f.score for f in fits.values()), all(f.is_original_equipment for f in fits.values()))


def build_axles(
    bolt_count: int,
    pcd: Decimal,
    hub_bore: Decimal,
    offset_min: int,
    offset_max: int,
    axle_load_front_kg: int,
    axle_load_rear_kg: int,
    fitments: list[tuple[str, AxleSize]],
) -> dict[str, Axle]:
    """A variant's axles: ``front`` and ``rear`` when any fitment names one (a ``both`` fitment then
    belongs to each), else one axle ``both`` carrying the heavier axle load; sizes in source order."""
    staggered = any(axle != "both" for axle, _ in fitments)
    loads = {"front": axle_load_front_kg, "rear": axle_load_rear_kg,
             "both": max(axle_load_front_kg, axle_load_rear_kg)}  # fmt: skip
    axles = {}
    for name in ("front", "rear") if staggered else ("both",):
        sizes = tuple(size for axle, size in fitments if axle in (name, "both"))
        if sizes:
            axles[name] = Axle(bolt_count, pcd, hub_bore, offset_min, offset_max, loads[name], sizes)
    return axles
