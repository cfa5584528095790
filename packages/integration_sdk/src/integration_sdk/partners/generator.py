"""``generate(scale, seed, out_dir)``: every partner file of one data set, deterministically.

Each section draws from its own ``random.Random`` derived from the seed, so adding a supplier never
changes the articles; nothing depends on the clock or on hash order. Same scale and seed, same bytes.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from foundation.progress import NO_PROGRESS, Progress
from integration_sdk.partners.catalog import TYRE_BRANDS, generate_articles, write_erp_delta, write_erp_export
from integration_sdk.partners.platforms import PARTNER_URL, generate_platforms
from integration_sdk.partners.suppliers import generate_suppliers, write_feed
from integration_sdk.partners.vehicles import generate_variants, write_variants

Scale = Literal["tiny", "small", "full"]
# Bumped whenever a change makes the same scale and seed produce other data: a data set on disk with an
# older version is stale (``is_current``), and benchmarks regenerate it.
GENERATOR_VERSION = 2


@dataclass(frozen=True)
class ScaleSpec:
    """How much of everything one scale generates."""

    tyres: int
    wheels: int
    tpms: int
    variants: int
    suppliers: int
    feed_rows: tuple[int, int]
    platforms: int


# full: the spec's scale (285k products, 20k variants, 50 suppliers, 60 platforms)
SCALES: dict[str, ScaleSpec] = {
    "tiny": ScaleSpec(tyres=1_200, wheels=270, tpms=30, variants=200, suppliers=6, feed_rows=(100, 400), platforms=6),
    "small": ScaleSpec(tyres=16_000, wheels=3_600, tpms=400, variants=2_000, suppliers=50, feed_rows=(300, 3_000),
                       platforms=60),
    "full": ScaleSpec(tyres=228_000, wheels=51_300, tpms=5_700, variants=20_000, suppliers=50,
                      feed_rows=(5_000, 40_000), platforms=60),
}  # fmt: skip


def _rng(seed: int, section: str) -> random.Random:
    return random.Random(f"{seed}:{section}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_current(out_dir: Path, partner_url: str | None = None) -> bool:
    """Whether ``out_dir`` holds a complete data set of this generator version (and for ``partner_url``)."""
    manifest = out_dir / "manifest.json"
    if not manifest.exists():
        return False
    known = json.loads(manifest.read_text())
    return known.get("generator_version") == GENERATOR_VERSION and partner_url in (None, known.get("partner_url"))


def generate(
    scale: Scale, seed: int, out_dir: Path, progress: Progress = NO_PROGRESS, partner_url: str = PARTNER_URL
) -> dict[str, Any]:
    """Write the data set under ``out_dir`` and its ``manifest.json``; returns the manifest.

    ``partner_url``: where the platforms' APIs are (the platform simulator), written into their configs.
    """
    spec = SCALES[scale]
    out_dir.mkdir(parents=True, exist_ok=True)
    task = progress.task(f"generating {scale} data set", total=4 + spec.suppliers)
    articles = generate_articles(_rng(seed, "articles"), spec.tyres, spec.wheels, spec.tpms)
    counts: dict[str, Any] = {"articles": write_erp_export(out_dir / "erp" / "articles_full.csv", articles)}
    counts["erp_delta"] = write_erp_delta(out_dir / "erp" / "articles_delta_001.csv", articles, _rng(seed, "delta"))
    task.advance()
    counts["variants"] = write_variants(
        out_dir / "vehicles" / "variants.jsonl", generate_variants(_rng(seed, "vehicles"), spec.variants)
    )
    task.advance()
    platforms = generate_platforms(_rng(seed, "platforms"), spec.platforms, sorted(TYRE_BRANDS), partner_url)
    (out_dir / "platforms").mkdir(exist_ok=True)
    (out_dir / "platforms" / "platforms.json").write_text(json.dumps(platforms, indent=1) + "\n")
    counts["platforms"] = len(platforms)
    task.advance()
    suppliers = generate_suppliers(_rng(seed, "suppliers"), spec.suppliers, spec.feed_rows)
    (out_dir / "suppliers" / "feeds").mkdir(parents=True, exist_ok=True)
    (out_dir / "suppliers" / "suppliers.json").write_text(
        json.dumps([s.definition() for s in suppliers], indent=1, ensure_ascii=False) + "\n"
    )
    feeds = {}
    for supplier in suppliers:
        path = out_dir / "suppliers" / "feeds" / f"{supplier.supplier_id}.{supplier.extension}"
        feeds[supplier.supplier_id] = {
            "file": path.relative_to(out_dir).as_posix(),
            **write_feed(path, supplier, articles, _rng(seed, f"feed:{supplier.supplier_id}")),
        }
        task.advance()
    counts["feeds"] = feeds
    files = sorted(p for p in out_dir.rglob("*") if p.is_file() and p.name != "manifest.json")
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "scale": scale,
        "seed": seed,
        "partner_url": partner_url,
        "counts": counts,
        "files": {p.relative_to(out_dir).as_posix(): _sha256(p) for p in files},
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    task.advance()
    return manifest
