"""The vehicle data provider's sync file: make → model → generation → variant with per-axle fitments.

OE sizes come from the same size table as the tyres, so fitments find products. 5–10% of variants
are staggered (wider rear axle: mostly BMW, Mercedes-Benz, Porsche, Audi, Tesla). TPMS: direct on
most 2014+ variants (EU mandate), indirect on part of the VW group and Renault, none before 2012.
"""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path

from integration_sdk.partners.catalog import MAKES, TYRE_SIZES, load_index

MODELS: dict[str, tuple[str, ...]] = {
    "Volkswagen": ("Golf", "Polo", "Passat", "Tiguan", "T-Roc", "ID.3", "Touran", "Arteon"),
    "Audi": ("A3", "A4", "A6", "Q3", "Q5", "RS 4", "e-tron GT"), "Skoda": ("Octavia", "Fabia", "Superb", "Kodiaq"),
    "Seat": ("Leon", "Ibiza", "Ateca"), "BMW": ("1 Series", "3 Series", "5 Series", "X3", "X5", "M3", "i4"),
    "Mercedes-Benz": ("A-Class", "C-Class", "E-Class", "GLC", "GLE", "AMG GT"),
    "Ford": ("Fiesta", "Focus", "Kuga", "Mondeo", "Puma"), "Volvo": ("XC40", "XC60", "V60", "V90"),
    "Renault": ("Clio", "Megane", "Captur", "Kadjar"), "Peugeot": ("208", "308", "2008", "3008"),
    "Citroen": ("C3", "C4", "C5 Aircross"), "Opel": ("Corsa", "Astra", "Insignia", "Mokka"),
    "Toyota": ("Yaris", "Corolla", "RAV4", "C-HR"), "Hyundai": ("i20", "i30", "Tucson", "Kona"),
    "Kia": ("Ceed", "Sportage", "Niro", "EV6"), "Tesla": ("Model 3", "Model Y", "Model S"),
    "Porsche": ("911", "Cayenne", "Macan", "Taycan"), "Nissan": ("Micra", "Qashqai", "Juke", "Leaf"),
    "Mazda": ("Mazda2", "Mazda3", "CX-5", "MX-5"), "Fiat": ("500", "Panda", "Tipo"),
}  # fmt: skip
STAGGERED_MAKES = {"BMW": 0.30, "Mercedes-Benz": 0.22, "Porsche": 0.6, "Audi": 0.08, "Tesla": 0.25}
RUN_FLAT_MAKES = {"BMW", "Mercedes-Benz"}  # staggered sports models often leave the factory on run-flats
INDIRECT_TPMS_MAKES = {"Volkswagen", "Skoda", "Seat", "Audi", "Renault"}
STAGGERED_PAIRS = (
    ((225, 40, 18), (255, 35, 18)), ((225, 40, 19), (255, 35, 19)), ((245, 40, 19), (275, 35, 19)),
    ((245, 35, 19), (275, 35, 19)), ((285, 30, 20), (305, 30, 20)), ((295, 35, 21), (315, 30, 21)),
    ((255, 40, 19), (275, 35, 19)), ((235, 40, 19), (255, 35, 19)),
)  # fmt: skip
ENGINES = ("1.0 TSI 95", "1.5 TSI 150", "2.0 TDI 150", "2.0 TDI 200", "1.6 Hybrid 141", "2.0 Turbo 245",
           "3.0 Turbo 374", "Electric 204", "Electric 286", "1.2 PureTech 130", "1.4 e-Hybrid 204")  # fmt: skip
BODIES = ("hatchback", "sedan", "estate", "suv", "coupe")
# Share of variants per OE size: flatter than sales (each size is fitted to many low-volume variants).
OE_SIZE_WEIGHTS = tuple(1 / (rank + 1) ** 0.8 for rank in range(len(TYRE_SIZES)))


def _rim_width(tyre_width: int) -> Decimal:
    """Recommended rim width (inch, halves) for a tyre width."""
    return Decimal(round(tyre_width * 0.034 * 2) / 2).quantize(Decimal("0.1"))


def _fitment(
    axle: str, kind: str, size: tuple[int, int, int], offset: int, rng: random.Random, run_flat: bool = False
) -> dict[str, object]:
    width, aspect, rim = size
    return {
        "axle": axle, "fitment_kind": kind, "tyre_width": width, "tyre_aspect": aspect, "rim_diameter": rim,
        "wheel_width": str(_rim_width(width)), "wheel_offset": offset,
        "load_index": load_index(width, aspect, rim) - rng.randint(0, 3), "speed_rating": rng.choice("HVWY"),
        "run_flat": run_flat,
    }  # fmt: skip


def generate_variants(rng: random.Random, count: int) -> list[dict[str, object]]:
    """``count`` variants, ids 1..count, evenly over makes, models and generations."""
    makes = sorted(MAKES)
    lineups = [(make, model) for make in makes for model in MODELS[make]]
    variants: list[dict[str, object]] = []
    per_lineup = max(1, count // len(lineups))
    for index in range(count):
        make, model = lineups[(index // per_lineup) % len(lineups)]
        bolts, pcd, hub_bore, fastener, thread, (et_low, et_high) = MAKES[make]
        generation_no = rng.randint(1, 4)
        year_from = rng.randint(2004, 2025)
        year_to = None if year_from >= 2021 and rng.random() < 0.6 else min(2026, year_from + rng.randint(3, 8))
        staggered = rng.random() < STAGGERED_MAKES.get(make, 0.0) * 0.9
        if staggered:
            front, rear = rng.choice(STAGGERED_PAIRS)
            run_flat = make in RUN_FLAT_MAKES and rng.random() < 0.5
            fitments = [_fitment("front", "oe", front, et_low, rng, run_flat),
                        _fitment("rear", "oe", rear, et_high, rng, run_flat)]  # fmt: skip
        else:
            oe = TYRE_SIZES[rng.choices(range(len(TYRE_SIZES)), weights=OE_SIZE_WEIGHTS)[0]]
            fitments = [_fitment("both", "oe", oe, (et_low + et_high) // 2, rng)]
            optional = TYRE_SIZES[rng.choices(range(len(TYRE_SIZES)), weights=OE_SIZE_WEIGHTS)[0]]
            if optional != oe and abs(optional[2] - oe[2]) <= 1 and rng.random() < 0.6:
                fitments.append(_fitment("both", "optional", optional, (et_low + et_high) // 2, rng))
        if year_from >= 2014:
            tpms = "indirect" if make in INDIRECT_TPMS_MAKES and rng.random() < 0.35 else "direct"
        elif year_from >= 2012:
            tpms = rng.choice(("direct", "indirect", "none"))
        else:
            tpms = "direct" if rng.random() < 0.06 else "none"
        drive = "rwd" if make in {"BMW", "Mercedes-Benz", "Porsche"} and rng.random() < 0.6 else rng.choice(
            ("fwd", "fwd", "awd"))  # fmt: skip
        front_load = rng.randrange(850, 1300, 10)
        variants.append({
            "vehicle_variant_id": index + 1, "make": make, "model": model,
            "generation": f"{model} Mk{generation_no} ({year_from}-{year_to or ''})",
            "variant_name": f"{model} {rng.choice(ENGINES)} {rng.choice(('', 'Sport', 'Comfort', 'Line'))}".strip(),
            "year_from": year_from, "year_to": year_to, "engine": rng.choice(ENGINES), "body": rng.choice(BODIES),
            "drive": drive, "bolt_count": bolts, "pcd": str(pcd), "hub_bore": str(hub_bore),
            "offset_min": et_low - 5, "offset_max": et_high + 5, "fastener": fastener, "thread": thread,
            "axle_load_front_kg": front_load, "axle_load_rear_kg": front_load + rng.randrange(-100, 200, 10),
            "tpms_type": tpms, "is_staggered": staggered, "fitments": fitments,
        })  # fmt: skip
    return variants


def write_variants(path: Path, variants: list[dict[str, object]]) -> int:
    """One JSON object per line; returns the count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as file:
        for variant in variants:
            file.write(json.dumps(variant, separators=(",", ":")) + "\n")
    return len(variants)
