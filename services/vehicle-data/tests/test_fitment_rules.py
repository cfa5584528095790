"""Fitment rules on real-world cases: staggered BMW, hub rings, plus sizes, load and speed limits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from vehicle_data.fitment.rules import (
    Axle,
    AxleMatch,
    AxleSize,
    Fit,
    Tyre,
    Wheel,
    axle_tyre_sizes,
    build_axles,
    combine_axles,
    measuring_rim_inch,
    product_wheel_buckets,
    rolling_diameter_mm,
    tyre_fit,
    tyre_score,
    vehicle_wheel_buckets,
    wheel_fit,
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
        (BMW_FRONT, wheel(bore="87.1"), None),  # 20.5 mm larger: no centring ring bridges that
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
        (BMW_FRONT, tyre((255, 40, 18), li=99), None),  # the rear size on the front: -0.3%, but 30 mm wider
        (BMW_FRONT, tyre((215, 45, 18), li=93), 60),  # one width step narrower, -1.4%, suits the 8" wheel
        (BMW_FRONT, tyre((235, 40, 18), li=95), 50),  # one step wider, -2.0%
        (BMW_FRONT, tyre((265, 45, 18), li=101), None),  # +8%: too far off
        (BMW_FRONT, tyre((225, 45, 17), li=95), None),  # 17" rim not listed
        (BMW_REAR, tyre((255, 40, 18), li=99), 100),
        (BMW_REAR, tyre((225, 45, 18), li=95), None),  # 690 kg x 2 < 1400 kg: the front size cannot carry the rear
        (GOLF, tyre((205, 55, 16), li=91, speed="V", run_flat=False), 100),
        (GOLF, tyre((215, 55, 16), li=93, speed="W", run_flat=False), 50),  # +1.7%
        (GOLF, tyre((205, 60, 16), li=92, speed="V", run_flat=False), None),  # +3.2%: too far off
        (GOLF, tyre((195, 60, 16), li=89, speed="V", run_flat=False), 60),  # +1.3%
        (GOLF, tyre((225, 50, 16), li=92, speed="V", run_flat=False), None),  # -0.1%, but two width steps off
    ],
)
def test_tyre_score(axle: Axle, candidate: Tyre, score: int | None) -> None:
    assert tyre_score(axle, candidate) == score


def test_rolling_diameter_of_a_common_size() -> None:
    assert rolling_diameter_mm(205, 55, 16) == pytest.approx(631.9)


def test_measuring_rim_follows_etrto() -> None:
    assert measuring_rim_inch(205, 55) == D("6.5")
    assert measuring_rim_inch(225, 45) == D("7.5")
    assert measuring_rim_inch(195, 65) == D("6.0")


def test_alternative_sizes_of_the_golf() -> None:
    """Same rim, one width step, within 3% of 205/55 R16 and suited to the 6.5" wheel."""
    sizes = axle_tyre_sizes(GOLF)
    assert sizes[(205, 55, 16)].base_score == 100
    assert {size: fit.base_score for size, fit in sizes.items() if not fit.is_original_equipment} == {
        (195, 55, 16): 50, (195, 60, 16): 60, (215, 50, 16): 50, (215, 55, 16): 50,
    }  # fmt: skip


def test_a_fitting_tyre_is_in_one_of_the_axles_sizes() -> None:
    """Every tyre the score accepts is one of the axle's bucket sizes (buckets only narrow, never decide)."""
    sizes = set(axle_tyre_sizes(BMW_FRONT))
    for width in range(155, 336, 10):
        for aspect in range(25, 81, 5):
            for rim in (17, 18, 19, 20):
                if tyre_score(BMW_FRONT, tyre((width, aspect, rim), li=110)) is not None:
                    assert (width, aspect, rim) in sizes


def test_staggered_rows_combine_to_the_lower_score() -> None:
    front, rear = Fit(100, True), Fit(60, False)
    assert combine_axles({}) is None
    assert combine_axles({"front": front}) == AxleMatch("front", 100, True)
    assert combine_axles({"rear": rear}) == AxleMatch("rear", 60, False)
    assert combine_axles({"front": front, "rear": rear}) == AxleMatch("both", 60, False)
    assert combine_axles({"front": front, "rear": Fit(90, True)}) == AxleMatch("both", 90, True)


def test_axles_of_a_staggered_and_a_square_variant() -> None:
    front_size, rear_size = BMW_FRONT.sizes[0], BMW_REAR.sizes[0]
    staggered = build_axles(5, D("112.0"), D("66.6"), 20, 45, 1080, 1400, [("front", front_size), ("rear", rear_size)])
    assert set(staggered) == {"front", "rear"}
    assert (staggered["front"].axle_load_kg, staggered["rear"].axle_load_kg) == (1080, 1400)
    square = build_axles(5, D("112.0"), D("57.1"), 38, 50, 1000, 1100, [("both", GOLF.sizes[0])])
    assert list(square) == ["both"]
    assert square["both"].axle_load_kg == 1100  # the heavier axle decides
    # a "both" fitment of a staggered variant belongs to each axle
    mixed = build_axles(5, D("112.0"), D("66.6"), 20, 45, 1080, 1400, [("front", front_size), ("both", rear_size)])
    assert mixed["front"].sizes == (front_size, rear_size)
    assert mixed["rear"].sizes == (rear_size,)


def test_oe_flag_of_wheels_and_tyres() -> None:
    assert wheel_fit(BMW_FRONT, wheel()) == Fit(100, True)
    assert wheel_fit(BMW_FRONT, wheel(bore="72.6")) == Fit(72, False)  # OE size, but needs a ring
    assert tyre_fit(BMW_FRONT, tyre()) == Fit(100, True)
    assert tyre_fit(BMW_FRONT, tyre((225, 40, 19), li=93)) == Fit(90, False)


def test_a_fitting_wheel_is_in_one_of_the_vehicles_buckets() -> None:
    """The bucket join finds every wheel the hard checks accept (and buckets only narrow, never decide)."""
    diameters = {size.rim_diameter for size in BMW_FRONT.sizes}
    buckets = set(vehicle_wheel_buckets(5, D("112.0"), diameters, D("66.6"), 20, 45))
    for offset in range(20, 46):
        for bore in ("66.6", "70.1", "72.6", "76.0"):
            candidate = wheel(offset=offset, bore=bore)
            assert wheel_score(BMW_FRONT, candidate) is not None
            assert set(product_wheel_buckets(5, D("112.0"), 18, D(bore), offset)) & buckets, (offset, bore)
    assert not set(product_wheel_buckets(5, D("112.0"), 18, D("57.1"), 30)) & buckets  # too small a bore
    assert not set(product_wheel_buckets(5, D("112.0"), 18, D("66.6"), 55)) & buckets  # offset band above 45
    assert not set(product_wheel_buckets(5, D("112.0"), 18, D("87.1"), 30)) & buckets  # no ring that large
