"""The partner data generator: deterministic, and realistic in the ways the islands depend on."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from integration_sdk.partners.catalog import ERP_COLUMNS, ean13
from integration_sdk.partners.generator import generate
from integration_sdk.partners.suppliers import MALFORMED_KINDS


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("small")
    return out, generate("small", 7, out)


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    first = generate("tiny", 42, tmp_path / "a")
    second = generate("tiny", 42, tmp_path / "b")
    other = generate("tiny", 43, tmp_path / "c")
    assert first == second
    for name in first["files"]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert other["files"] != first["files"]


def read_erp(folder: Path) -> list[dict[str, str]]:
    with (folder / "erp" / "articles_full.csv").open(encoding="utf-8") as file:
        return list(csv.DictReader(file, delimiter=";"))


def test_catalogue_is_realistic(small: tuple[Path, dict[str, Any]]) -> None:
    folder, manifest = small
    rows = read_erp(folder)
    assert len(rows) == manifest["counts"]["articles"] == 20_000
    assert list(rows[0]) == list(ERP_COLUMNS)
    tyres = [r for r in rows if r["article_type"] == "tyre"]
    sizes = Counter((r["width"], r["aspect"], r["rim_diameter"]) for r in tyres)
    assert sizes.most_common(1)[0][0] == ("205", "55", "16")
    seasons = Counter(r["season"] for r in tyres)
    for season, share in (("summer", 0.5), ("winter", 0.3), ("all_season", 0.2)):
        assert abs(seasons[season] / len(tyres) - share) < 0.05, seasons
    assert all(r["three_pmsf"] == "1" for r in tyres if r["season"] == "winter")
    eans = [r["ean"] for r in rows]
    assert len(set(eans)) == len(eans)
    assert all(ean13(int(ean[2:12])) == ean for ean in eans)
    assert len({r["article_number"] for r in rows}) == len(rows)
    wheels = [r for r in rows if r["article_type"] == "wheel"]
    vw_wheels = {(r["bolt_count"], r["pcd"]) for r in wheels if r["brand"] and r["pcd"] == "112.0"}
    assert ("5", "112.0") in vw_wheels
    assert any(float(r["center_bore"]) > 66.6 for r in wheels)  # some need a centring ring


def test_vehicles_are_realistic(small: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = small
    variants = [json.loads(line) for line in (folder / "vehicles" / "variants.jsonl").read_text().splitlines()]
    assert len(variants) == 2_000
    staggered = sum(v["is_staggered"] for v in variants) / len(variants)
    assert 0.05 <= staggered <= 0.10, staggered
    recent = [v for v in variants if v["year_from"] >= 2014]
    old = [v for v in variants if v["year_from"] < 2012]
    assert sum(v["tpms_type"] == "direct" for v in recent) / len(recent) > 0.7
    assert sum(v["tpms_type"] == "direct" for v in old) / len(old) < 0.15
    tyre_sizes = {(r["width"], r["aspect"], r["rim_diameter"]) for r in read_erp(folder) if r["article_type"] == "tyre"}
    oe_sizes = {(str(f["tyre_width"]), str(f["tyre_aspect"]), str(f["rim_diameter"]))
                for v in variants for f in v["fitments"]}  # fmt: skip
    assert oe_sizes <= tyre_sizes, oe_sizes - tyre_sizes
    bmw = {(v["bolt_count"], v["pcd"], v["hub_bore"]) for v in variants if v["make"] == "BMW"}
    assert bmw == {(5, "112.0", "66.6")}


def count_malformed(folder: Path, supplier: dict[str, Any], feed: str) -> int:
    """An independent count of the broken rows in a feed."""
    mapping = supplier["mapping"]
    cols = mapping["columns"]
    records: list[dict[str, str]] = []
    path = folder / feed
    if mapping["format"] == "csv":
        with path.open(encoding=mapping["encoding"], newline="") as file:
            for row in csv.DictReader(file, delimiter=mapping["delimiter"]):
                records.append({field: row[column] for field, column in cols.items()})
    elif mapping["format"] == "xml":
        for element in ET.parse(path).getroot():
            records.append({field: element.findtext(tag) or "" for field, tag in cols.items()})
    else:
        for line in path.read_text(encoding=mapping["encoding"]).splitlines():
            records.append({field: line[start:end].strip() for field, (start, end) in cols.items()})
    broken = 0
    for record in records:
        quantity, price, when = record["quantity"], record["price"], record["delivery_date"]
        bad = not quantity.lstrip("-").isdigit() or quantity.startswith("-") or not price
        bad = bad or (when not in ("",) and ("-13-" in when or when.startswith("2026-13")))
        bad = bad or record["article_number"].removeprefix(mapping["article_number_prefix"]).startswith("ZZ")
        broken += bad
    return broken


def test_supplier_feeds_cover_every_format_and_record_their_malformed_rows(small: tuple[Path, dict[str, Any]]) -> None:
    folder, manifest = small
    suppliers = json.loads((folder / "suppliers" / "suppliers.json").read_text())
    assert len(suppliers) == 50
    assert {s["mapping"]["format"] for s in suppliers} == {"csv", "xml", "fixed_width"}
    assert {s["mapping"]["decimal_separator"] for s in suppliers} == {",", "."}
    total_malformed = Counter()
    for supplier in suppliers:
        feed = manifest["counts"]["feeds"][supplier["supplier_id"]]
        recorded = sum(len(rows) for rows in feed["malformed_rows"].values())
        assert count_malformed(folder, supplier, feed["file"]) == recorded, supplier["supplier_id"]
        total_malformed.update({kind: len(rows) for kind, rows in feed["malformed_rows"].items()})
        assert 300 <= feed["rows"] <= 3_000
    assert set(total_malformed) == set(MALFORMED_KINDS)


def test_platforms_and_erp_delta(small: tuple[Path, dict[str, Any]]) -> None:
    folder, manifest = small
    platforms = json.loads((folder / "platforms" / "platforms.json").read_text())
    assert len(platforms) == 60
    assert len({p["platform_id"] for p in platforms}) == 60
    assert {p["format"] for p in platforms} == {"csv", "xml", "json"}
    delta = manifest["counts"]["erp_delta"]
    assert delta["changed"] == 200
    assert sorted(delta["malformed_lines"]) == ["bad_ean", "bad_price", "bad_season", "missing_width", "unknown_type"]
