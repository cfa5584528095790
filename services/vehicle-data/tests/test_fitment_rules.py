"""Fitment rules on real-world cases: staggered BMW, hub rings, plus sizes, load and speed limits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from vehicle_data.fitment.rules import (
    Axle,
    AxleSize,
    Tyre,
    Wheel,
    product_wheel_bucket,
    rolling_diameter_mm,
    tyre_score,
    vehicle_wheel_buckets,
    wheel_score,
)

D = Decimal
# Axle loads are per axle (two wheels). BMW 3 Series (G20) M Sport, staggered:
# 225/45 R18 on 8x18 ET30 front, 255/40 R18 on 8.5x18 ET40 rear.
BMW_FRONT = Axle(5, D("112.0"), D("66.6"), 20, 45, 1080, (
    AxleSize("oe", 225, 45, 18, D("8.0"), 30, 95, "Y", run_flat=True),
    AxleSize("optional", 225, 40, 19, D("8.0"), 27, 93, "Y", run_flat=True),
))  # fmt: skip
BMW_REAR = Axle(5, D("112.0"), D("66.6"), 20, 45, 1400, (
    AxleSize("oe", 255, 40, 18, D("8.5"), 40, 99, "Y", run_flat=True),
))  # fmt: skip
# VW Golf 8: 205/55 R16 on 6.5x16 ET46, hub 57.1.
GOLF = Axle(5, D("112.0"), D("57.1"), 38, 50, 1100, (AxleSize("oe", 205, 55, 16, D("6.5"), 46, 91, "V"),))


def wheel(diameter: int = 18, width: str = "8.0", offset: int = 30, bore: str = "66.6", load: int = 700) -> Wheel:
    return Wheel(5, D("112.0"), diameter, D(width), offset, D(bore), load)


def tyre(size: tuple[int, int, int] = (225, 45, 18), li: int = 95, speed: str = "Y", season: str = "summer",
         run_flat: bool = True) -> Tyre:  # fmt: skip
    return Tyre(*size, li, speed, season, run_flat)


@pytest.mark.parametrize(
    ("axle", "candidate", "score"),
    [
        (BMW_FRONT, wheel(), 100),  # OE size, hub-centric, OE offset
        (BMW_FRONT, wheel(19, "8.0", 27), 90),  # optional 19", hub-centric; 3 mm off the OE offset costs nothing
        (BMW_FRONT, wheel(18, "8.5", 35), 79),  # another width at 18": aftermarket 80, 5 mm off: -1
        (BMW_FRONT, wheel(bore="72.6"), 72),  # bigger bore: fits with a centring ring
        (BMW_FRONT, wheel(bore="57.1"), None),  # bore smaller than the hub
        (BMW_FRONT, wheel(offset=50), None),  # offset outside 20-45
        (BMW_FRONT, wheel(17, "8.0"), None),  # 17" is not listed for this axle
        (BMW_FRONT, wheel(18, "9.5"), None),  # 1.5" wider than any listed 18" size
        (BMW_FRONT, wheel(load=900), 100),
        (BMW_FRONT, wheel(load=500), None),  # 500 kg per wheel < 1080 kg axle / 2
        (BMW_REAR, wheel(18, "8.5", 40), 100),
        (BMW_REAR, wheel(18, "8.0", 30), 78),  # the front's size on the rear: aftermarket width, 10 mm off
        (GOLF, wheel(16, "6.5", 46, "57.1", 600), 100),
        (GOLF, Wheel(4, D("100.0"), 16, D("6.5"), 46, D("57.1"), 600), None),  # other bolt pattern
        (GOLF, Wheel(5, D("108.0"), 16, D("6.5"), 46, D("63.4"), 600), None),  # other PCD
    ],
)
def test_wheel_score(axle: Axle, candidate: Wheel, score: int | None) -> None:
    assert wheel_score(axle, candidate) == score


@pytest.mark.parametrize(
    ("axle", "candidate", "score"),
    [
        (BMW_FRONT, tyre(), 100),
        (BMW_FRONT, tyre((225, 40, 19), li=93), 90),  # optional size
        (BMW_FRONT, tyre(run_flat=False), 90),  # OE was run-flat
        (BMW_FRONT, tyre(speed="H", season="winter"), 95),  # winter exception below the OE rating
        (BMW_FRONT, tyre(speed="H"), None),  # the same in summer: not allowed
        (BMW_FRONT, tyre(li=82), None),  # 475 kg x 2 < 1080 kg
        (BMW_FRONT, tyre((235, 45, 18), li=98), 60),  # +1.4% rolling diameter
        (BMW_FRONT, tyre((255, 40, 18), li=99), 60),  # the rear size on the front: -0.3%
        (BMW_FRONT, tyre((265, 45, 18), li=101), None),  # +8%: too far off
        (BMW_FRONT, tyre((225, 45, 17), li=95), None),  # 17" rim not listed
        (BMW_REAR, tyre((255, 40, 18), li=99), 100),
        (BMW_REAR, tyre((225, 45, 18), li=95), None),  # 690 kg x 2 < 1400 kg: the front size cannot carry the rear
        (GOLF, tyre((205, 55, 16), li=91, speed="V", run_flat=False), 100),
        (GOLF, tyre((215, 55, 16), li=93, speed="W", run_flat=False), 50),  # +1.7%
        (GOLF, tyre((205, 60, 16), li=92, speed="V", run_flat=False), None),  # +3.2%: too far off
    ],
)
def test_tyre_score(axle: Axle, candidate: Tyre, score: int | None) -> None:
    assert tyre_score(axle, candidate) == score


def test_rolling_diameter_of_a_common_size() -> None:
    assert rolling_diameter_mm(205, 55, 16) == pytest.approx(631.9)


def test_a_fitting_wheel_is_in_one_of_the_vehicles_buckets() -> None:
    """The bucket join finds every wheel the hard checks accept (and buckets only narrow, never decide)."""
    diameters = {size.rim_diameter for size in BMW_FRONT.sizes}
    buckets = set(vehicle_wheel_buckets(5, D("112.0"), diameters, D("66.6"), 20, 45))
    for offset in range(20, 46):
        for bore in ("66.6", "70.1", "72.6", "76.0"):
            candidate = wheel(offset=offset, bore=bore)
            assert wheel_score(BMW_FRONT, candidate) is not None
            assert product_wheel_bucket(5, D("112.0"), 18, D(bore), offset) in buckets, (offset, bore)
    assert product_wheel_bucket(5, D("112.0"), 18, D("57.1"), 30) not in buckets  # too small a bore
    assert product_wheel_bucket(5, D("112.0"), 18, D("66.6"), 55) not in buckets  # offset band above 45
