"""From source rows to what the recompute writes: axles, bucket memberships, tyre size fits, rule effects.

Pure functions over plain rows (``vehicle_variant``, ``vehicle_axle_fitment``, ``fitment_rule``,
``product_spec``), so the recompute, the reference path and the tests derive exactly the same thing.

Manual rules (``fitment_rule``, operators' decisions with who and why) act on top of the rules:

- exclude a size: the axle loses that tyre size; include a size: the axle gains it at
  ``MANUAL_INCLUDE_SCORE`` unless it fits anyway (then it keeps its own score);
- exclude an article: it leaves the axle (a wheel's mapping row loses that axle; a tyre is listed in
  the variant's tyre exclusions); include an article: a wheel fits the axle with its own fit, or at
  ``MANUAL_INCLUDE_SCORE`` where the rules reject it; a tyre its sizes do not take gets a mapping row
  at ``MANUAL_INCLUDE_SCORE`` (one they take needs none).

A rule for axle ``both`` applies to every axle of the variant; a rule for ``front``/``rear`` on a
variant with one axle ``both`` applies to that axle. An exclusion wins over an inclusion.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from vehicle_data.fitment.rules import (
    MANUAL_INCLUDE_SCORE,
    POSITIONS,
    Axle,
    AxleSize,
    Fit,
    Tyre,
    TyreSizeFit,
    Wheel,
    build_axles,
    min_load_index,
    tyre_bucket,
    tyre_size_fits,
    vehicle_wheel_buckets,
)
from vehicle_data.fitment.rules import (
    product_wheel_buckets as wheel_buckets_of,
)

Size = tuple[int, int, int]
TYRE_SIZE_PATTERN = re.compile(r"^\s*(\d{3})\s*/\s*(\d{2})\s*Z?R\s*(\d{2})\s*$", re.IGNORECASE)


def parse_tyre_size(text: str) -> Size:
    """``"225/45 R17"`` (or ``225/45ZR17``) → ``(225, 45, 17)``; ValueError naming the expected form."""
    match = TYRE_SIZE_PATTERN.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a tyre size like 225/45R17")
    width, aspect, rim = (int(part) for part in match.groups())
    return width, aspect, rim


def format_tyre_size(size: Size) -> str:
    """``(225, 45, 17)`` → ``"225/45R17"``."""
    return f"{size[0]}/{size[1]}R{size[2]}"


def axles_of(variant: Mapping[str, Any], fitments: Iterable[Mapping[str, Any]]) -> dict[str, Axle]:
    """The axles of a ``vehicle_variant`` row with its ``vehicle_axle_fitment`` rows (in id order)."""
    sizes = [
        (row["axle"], AxleSize(row["fitment_kind"], row["tyre_width"], row["tyre_aspect"], row["rim_diameter"],
                               Decimal(row["wheel_width"]), row["wheel_offset"], row["load_index"],
                               row["speed_rating"], bool(row["run_flat"])))
        for row in fitments
    ]  # fmt: skip
    return build_axles(variant["bolt_count"], Decimal(variant["pcd"]), Decimal(variant["hub_bore"]),
                       variant["offset_min"], variant["offset_max"], variant["axle_load_front_kg"],
                       variant["axle_load_rear_kg"], sizes)  # fmt: skip


def applies_to(rule_axle: str, axle: str) -> bool:
    """Whether a rule for ``rule_axle`` concerns the variant's axle ``axle``."""
    return "both" in (rule_axle, axle) or rule_axle == axle


@dataclass(frozen=True)
class Rule:
    """An active manual fitment rule."""

    rule_id: int
    vehicle_variant_id: int
    axle: str
    action: str  # "include" | "exclude"
    article_number: str | None
    tyre_size: Size | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Rule:
        """From a ``fitment_rule`` row."""
        size = parse_tyre_size(row["tyre_size"]) if row["tyre_size"] else None
        return cls(row["rule_id"], row["vehicle_variant_id"], row["axle"], row["action"], row["article_number"], size)


# --- per variant -------------------------------------------------------------------------------------


def axle_size_rows(vehicle_variant_id: int, axles: Mapping[str, Axle]) -> list[dict[str, Any]]:
    """``vehicle_axle_size`` rows: the (diameter, width, kind) wheel sizes each axle lists, once each."""
    rows = {
        (name, size.rim_diameter, size.wheel_width, size.kind): None
        for name, axle in axles.items()
        for size in axle.sizes
    }
    return [
        {
            "vehicle_variant_id": vehicle_variant_id,
            "axle": name,
            "rim_diameter": rim,
            "wheel_width": width,
            "kind": kind,
        }
        for name, rim, width, kind in rows
    ]


def wheel_bucket_rows(vehicle_variant_id: int, axles: Mapping[str, Axle]) -> list[dict[str, Any]]:
    """``vehicle_wheel_bucket`` rows: each axle's memberships with the limits the wheel checks read."""
    rows = []
    for name, axle in axles.items():
        limits = {"hub_bore": axle.hub_bore, "offset_min": axle.offset_min, "offset_max": axle.offset_max,
                  "axle_load_kg": axle.axle_load_kg, "oe_wheel_offset": axle.oe.wheel_offset}  # fmt: skip
        for rim in sorted({size.rim_diameter for size in axle.sizes}):
            buckets = vehicle_wheel_buckets(axle.bolt_count, axle.pcd, {rim}, axle.hub_bore, axle.offset_min,
                                            axle.offset_max)  # fmt: skip
            rows += [{"wheel_bucket": b, "vehicle_variant_id": vehicle_variant_id, "axle": name, "rim_diameter": rim,
                      **limits} for b in buckets]  # fmt: skip
    return rows


def tyre_bucket_key(bucket: str) -> tuple[str, Size] | None:
    """``"225:45:17:both"`` → ``("both", (225, 45, 17))``, the (axle, size) of a tyre bucket; None if malformed."""
    parts = bucket.split(":")
    if len(parts) != 4 or not all(part.isdigit() for part in parts[:3]):
        return None
    return parts[3], (int(parts[0]), int(parts[1]), int(parts[2]))


def tyre_fits(
    axles: Mapping[str, Axle], rules: Sequence[Rule], only: Collection[tuple[str, Size]] | None = None
) -> dict[tuple[str, Size], tuple[TyreSizeFit, str]]:
    """Every (axle, size) a tyre may fit, with its fit and origin ("rules" or "rule:<id>"), rules applied;
    ``only``: just these (axle, size) keys (a recompute of some tyre buckets)."""
    fits: dict[tuple[str, Size], tuple[TyreSizeFit, str]] = {}
    for name, axle in axles.items():
        sizes = None if only is None else [size for axle_name, size in only if axle_name == name]
        for size, fit in tyre_size_fits(axle, sizes).items():
            fits[(name, size)] = (fit, "rules")
        size_rules = [rule for rule in rules if rule.tyre_size is not None and applies_to(rule.axle, name)]
        for rule in sorted(size_rules, key=lambda r: r.action == "exclude"):  # exclusions last: they win
            assert rule.tyre_size is not None
            key = (name, rule.tyre_size)
            if only is not None and key not in only:
                continue
            if rule.action == "exclude":
                fits.pop(key, None)
            elif key not in fits:
                oe = axle.oe
                included = TyreSizeFit(rule.tyre_size, MANUAL_INCLUDE_SCORE, False, min_load_index(axle.axle_load_kg),
                                       oe.speed_rating, oe.run_flat)  # fmt: skip
                fits[key] = (included, f"rule:{rule.rule_id}")
    return fits


def tyre_bucket_row(vehicle_variant_id: int, axle: str, fit: TyreSizeFit, origin: str) -> dict[str, Any]:
    """A ``vehicle_tyre_bucket`` row (without ``computed_at``)."""
    width, aspect, rim = fit.size
    return {
        "tyre_bucket": tyre_bucket(width, aspect, rim, axle), "vehicle_variant_id": vehicle_variant_id, "axle": axle,
        "width": width, "aspect": aspect, "rim_diameter": rim, "base_score": fit.base_score,
        "is_original_equipment": fit.is_original_equipment, "min_load_index": fit.min_load_index,
        "reference_speed_rating": fit.reference_speed_rating, "reference_run_flat": fit.reference_run_flat,
        "origin": origin,
    }  # fmt: skip


def tyre_exclusions(axles: Mapping[str, Axle], rules: Sequence[Rule], tyres: set[str]) -> set[tuple[str, str]]:
    """(axle, article) of the variant's excluded tyres (articles known as tyres, or not known at all)."""
    return {
        (name, rule.article_number)
        for rule in rules
        if rule.action == "exclude" and rule.article_number is not None and rule.article_number in tyres
        for name in axles
        if applies_to(rule.axle, name)
    }


# --- per article -------------------------------------------------------------------------------------


def tyre_of(spec: Mapping[str, Any]) -> Tyre | None:
    """The rules' view of a ``product_spec`` tyre row (None when a field the rules read is missing)."""
    fields = ("width", "aspect", "rim_diameter", "load_index", "speed_rating", "season")
    if spec["product_type"] != "tyre" or any(spec[name] is None for name in fields):
        return None
    return Tyre(spec["width"], spec["aspect"], spec["rim_diameter"], spec["load_index"], spec["speed_rating"],
                spec["season"], bool(spec["run_flat"]))  # fmt: skip


def wheel_of(spec: Mapping[str, Any]) -> Wheel | None:
    """The rules' view of a ``product_spec`` wheel row (None when a field the rules read is missing)."""
    fields = ("bolt_count", "pcd", "wheel_diameter", "wheel_width", "offset", "center_bore", "wheel_load_kg")
    if spec["product_type"] != "wheel" or any(spec[name] is None for name in fields):
        return None
    return Wheel(spec["bolt_count"], Decimal(spec["pcd"]), spec["wheel_diameter"], Decimal(spec["wheel_width"]),
                 spec["offset"], Decimal(spec["center_bore"]), spec["wheel_load_kg"])  # fmt: skip


def product_tyre_buckets(spec: Mapping[str, Any]) -> list[str]:
    """A tyre's bucket for each position."""
    tyre = tyre_of(spec)
    return [] if tyre is None else [tyre_bucket(tyre.width, tyre.aspect, tyre.rim_diameter, p) for p in POSITIONS]


def product_wheel_bucket_rows(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``product_wheel_bucket`` rows of a wheel (one per hub bore floor it can serve), with its sizes."""
    wheel = wheel_of(spec)
    if wheel is None:
        return []
    sizes = {"wheel_width": wheel.width, "offset": wheel.offset, "center_bore": wheel.center_bore,
             "wheel_load_kg": wheel.load_kg}  # fmt: skip
    buckets = wheel_buckets_of(wheel.bolt_count, wheel.pcd, wheel.diameter, wheel.center_bore, wheel.offset)
    return [{"wheel_bucket": b, "article_number": spec["article_number"], **sizes} for b in buckets]


def apply_article_rules(
    fits: dict[str, Fit],
    axles: Mapping[str, Axle],
    rules: Sequence[Rule],
    spec: Mapping[str, Any],
    size_fits: Mapping[tuple[str, Size], tuple[TyreSizeFit, str]],
) -> dict[str, Fit]:
    """An article's mapping row fits per axle once the variant's article rules are applied.

    ``fits`` is the rules' own result for a wheel (a tyre has none: tyres fit by size). An included wheel
    keeps its fit or gets ``MANUAL_INCLUDE_SCORE``; an included tyre gets a row only on an axle whose
    sizes (``size_fits``, size rules applied) do not already take it. An excluded tyre gets no row.
    """
    mine = [rule for rule in rules if rule.article_number == spec["article_number"]]
    result = dict(fits)
    tyre = tyre_of(spec)
    for name in axles:
        axle_rules = [rule for rule in mine if applies_to(rule.axle, name)]
        if any(rule.action == "exclude" for rule in axle_rules):
            result.pop(name, None)
        elif any(rule.action == "include" for rule in axle_rules) and name not in result:
            if tyre is not None:
                size_fit = size_fits.get((name, (tyre.width, tyre.aspect, tyre.rim_diameter)))
                if size_fit is not None and size_fit[0].fit(tyre) is not None:
                    continue  # it fits by its size already
            result[name] = Fit(MANUAL_INCLUDE_SCORE, False)
    return result
