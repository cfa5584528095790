"""The fitment rules: buckets, hard checks and the match score, as pure functions.

**Buckets** turn "could this fit?" into an equality join:

- ``tyre_bucket = width:aspect:diameter:position``. A vehicle is a member for each OE and optional tyre
  size of each axle; a tyre for each position (``both``, ``front``, ``rear``) of its size, so front and
  rear sizes of a staggered car meet their tyres without a range query.
- ``wheel_bucket = pcd:diameter:center_bore_floor:offset_range``. PCD and diameter are equalities.
  Centre bore and offset are ranges, so the vehicle side expands: a wheel fits when its bore is at least
  the hub bore (larger needs a centring ring) and its offset lies in the variant's range. A wheel is a
  member of one bucket (its bore floored to whole mm, its offset's 5 mm band); a vehicle of every bucket
  whose bore floor is at or above its hub bore floor (up to ``MAX_BORE_MM``) and whose offset band
  overlaps its offset range. Bucket candidates are then confirmed by the hard checks (exact bore and
  offset), so a band that only overlaps the range never lets a wheel through.

**Hard checks** (all must hold): PCD and bolt count equal; bore not smaller than the hub; wheel
diameter one the axle lists (OE or optional) and width that size's or within half an inch of it; offset
within the variant's range; tyre rim diameter one the axle lists; tyre load index and wheel load rating
at least what half the axle load needs; a tyre below the OE speed rating only as a winter tyre; a tyre
size off the OE rolling diameter by at most 3%.

**Score** (higher is better). Wheels: OE size and hub-centric 100; optional size, hub-centric 90;
another allowed width, hub-centric (aftermarket) 80; any wheel that needs a centring ring 72; minus 1
point per 5 mm of offset away from the OE offset (at most 10). Tyres: OE size 100; optional size 90;
plus/minus size within 1.5% of the OE rolling diameter 60, within 3% 50; minus 5 for a winter tyre
below the OE speed rating (the winter exception), minus 10 for a tyre that is not run-flat on a
run-flat OE axle.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

OFFSET_BAND_MM = 5
MAX_BORE_MM = 80  # largest centre bore the catalogue carries; vehicle bore memberships stop here
SPEED_ORDER = "QRSTHVWY"
WIDTH_TOLERANCE_INCH = Decimal("0.5")  # a wheel this much wider or narrower than a listed size still fits

# ETRTO load index → kg per tyre (the range passenger and SUV tyres use).
LOAD_INDEX_KG = {
    70: 335, 71: 345, 72: 355, 73: 365, 74: 375, 75: 387, 76: 400, 77: 412, 78: 425, 79: 437, 80: 450,
    81: 462, 82: 475, 83: 487, 84: 500, 85: 515, 86: 530, 87: 545, 88: 560, 89: 580, 90: 600, 91: 615,
    92: 630, 93: 650, 94: 670, 95: 690, 96: 710, 97: 730, 98: 750, 99: 775, 100: 800, 101: 825, 102: 850,
    103: 875, 104: 900, 105: 925, 106: 950, 107: 975, 108: 1000, 109: 1030, 110: 1060, 111: 1090,
    112: 1120, 113: 1150, 114: 1180, 115: 1215, 116: 1250, 117: 1285, 118: 1320, 119: 1360, 120: 1400,
}  # fmt: skip


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
    """``5x112.0:17:66:35-40``: bolt pattern, diameter, bore floor, offset band."""
    return f"{bolt_count}x{pcd:.1f}:{diameter}:{bore_floor}:{band}-{band + OFFSET_BAND_MM}"


def product_wheel_bucket(bolt_count: int, pcd: Decimal, diameter: int, center_bore: Decimal, offset: int) -> str:
    """The one bucket a wheel is a member of."""
    return wheel_bucket(bolt_count, pcd, diameter, math.floor(center_bore), offset_band(offset))


def vehicle_wheel_buckets(
    bolt_count: int, pcd: Decimal, diameters: set[int], hub_bore: Decimal, offset_min: int, offset_max: int
) -> Iterator[str]:
    """Every bucket a wheel that may fit this axle can be in (confirmed afterwards by ``wheel_fits``)."""
    for diameter in sorted(diameters):
        for bore_floor in range(math.floor(hub_bore), MAX_BORE_MM + 1):
            for band in range(offset_band(offset_min), offset_max + 1, OFFSET_BAND_MM):
                yield wheel_bucket(bolt_count, pcd, diameter, bore_floor, band)


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


def wheel_score(axle: Axle, wheel: Wheel) -> int | None:
    """Score of a wheel on this axle, or None when a hard check fails."""
    if (wheel.bolt_count, wheel.pcd) != (axle.bolt_count, axle.pcd) or wheel.center_bore < axle.hub_bore:
        return None
    if not axle.offset_min <= wheel.offset <= axle.offset_max or wheel.load_kg * 2 < axle.axle_load_kg:
        return None
    same_size = [s for s in axle.sizes if (s.rim_diameter, s.wheel_width) == (wheel.diameter, wheel.width)]
    near_size = any(s.rim_diameter == wheel.diameter and abs(s.wheel_width - wheel.width) <= WIDTH_TOLERANCE_INCH
                    for s in axle.sizes)  # fmt: skip
    if not same_size and not near_size:
        return None
    if wheel.center_bore > axle.hub_bore:
        score = 72  # fits with a centring ring
    elif any(s.kind == "oe" for s in same_size):
        score = 100
    else:
        score = 90 if same_size else 80  # optional size; or another allowed width (aftermarket)
    return score - min(abs(wheel.offset - axle.oe.wheel_offset) // OFFSET_BAND_MM, 10)


def tyre_score(axle: Axle, tyre: Tyre) -> int | None:
    """Score of a tyre on this axle, or None when a hard check fails."""
    if tyre.load_index not in LOAD_INDEX_KG or LOAD_INDEX_KG[tyre.load_index] * 2 < axle.axle_load_kg:
        return None
    exact = next((s for s in axle.sizes if (s.tyre_width, s.tyre_aspect, s.rim_diameter)
                  == (tyre.width, tyre.aspect, tyre.rim_diameter)), None)  # fmt: skip
    reference = exact or axle.oe
    if exact is not None:
        score = 100 if exact.kind == "oe" else 90
    else:
        if tyre.rim_diameter not in {s.rim_diameter for s in axle.sizes}:
            return None  # a tyre needs a rim the axle allows
        oe = rolling_diameter_mm(reference.tyre_width, reference.tyre_aspect, reference.rim_diameter)
        deviation = abs(rolling_diameter_mm(tyre.width, tyre.aspect, tyre.rim_diameter) - oe) / oe
        if deviation > 0.03:
            return None
        score = 60 if deviation <= 0.015 else 50
    if SPEED_ORDER.index(tyre.speed_rating) < SPEED_ORDER.index(reference.speed_rating):
        if tyre.season != "winter":
            return None  # below the OE speed rating only as a winter tyre
        score -= 5
    if reference.run_flat and not tyre.run_flat:
        score -= 10
    return score
