"""End to end over the real broker and database: catalogue, vehicles and supplier stock reach the
webshop's wheel sets, and one component's stock change recomputes only its linked sets.

erp-middleware, vehicle-data, stock-import and the webshop run in-process (API and worker each, as
``atraxion up`` runs them as processes) in a test namespace; steps talk to them over HTTP or through
their import entry points, like their users and operators.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from pytest_bdd import given, parsers, scenarios, then, when

from erp_middleware.articles.models import COLUMNS
from erp_middleware.articles.service import import_article_export
from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk.outbox import Outbox
from live_suite import TOKEN, LiveSuite, eventually, islands_running
from stock_import.imports.service import register_suppliers
from vehicle_data.vehicles.service import sync_variants
from webshop.tables import wheel_set_component_index

scenarios("features/wheel_sets.feature")

GOLF, AUDI = 101, 102
TYRES = {  # article: (size, season)
    "TY-S-01": ((205, 55, 16), "summer"), "TY-S-02": ((205, 55, 16), "winter"), "TY-S-03": ((225, 45, 17), "summer"),
}  # fmt: skip
WHEELS = {"WHEEL-123": (16, "6.5", 46, "57.1"), "WHEEL-456": (17, "7.5", 40, "66.6")}  # Golf only / both
SENSOR = "TPMS-S-01"
ARTICLES = [*TYRES, *WHEELS, SENSOR]
FEED_MAPPING = {"format": "csv", "delimiter": ",", "columns": {"article_number": "article", "quantity": "qty",
                                                               "price": "price"}}  # fmt: skip


def _variant(variant_id: int, make: str, model: str, hub: str, sizes: list[tuple[str, tuple[int, int, int], str]],
             ) -> dict[str, Any]:  # fmt: skip
    fitments = [{"axle": "both", "fitment_kind": kind, "tyre_width": w, "tyre_aspect": a, "rim_diameter": r,
                 "wheel_width": width, "wheel_offset": 42, "load_index": 91, "speed_rating": "V"}
                for kind, (w, a, r), width in sizes]  # fmt: skip
    return {"vehicle_variant_id": variant_id, "make": make, "model": model, "generation": "Mk8",
            "variant_name": f"{model} 1.5 TSI", "year_from": 2020, "year_to": None, "engine": "1.5 TSI",
            "body": "hatchback", "drive": "fwd", "bolt_count": 5, "pcd": "112.0", "hub_bore": hub,
            "offset_min": 35, "offset_max": 50, "fastener": "bolt", "thread": "M14x1.5",
            "axle_load_front_kg": 1100, "axle_load_rear_kg": 1000, "tpms_type": "direct", "is_staggered": False,
            "fitments": fitments}  # fmt: skip


@pytest.fixture
def suite(migrated_islands: dict[str, ServiceSettings], tmp_path: Path) -> Iterator[LiveSuite]:
    with islands_running(
        migrated_islands, ("erp-middleware", "vehicle-data", "stock-import", "webshop"), tmp_path
    ) as live:
        yield live


@pytest.fixture
def context() -> dict[str, Any]:
    return {}


def _run_with_db(suite: LiveSuite, island: str, work: Any) -> Any:
    async def run() -> Any:
        db = Database.from_settings(suite.settings[island])
        try:
            return await work(db)
        finally:
            await db.dispose()

    return suite.run(run())


@given(parsers.parse('the ERP catalogue holds wheels "{first}" and "{second}", tyres in 205/55 R16 and 225/45 R17 '
                     "and a sensor"))  # fmt: skip
def erp_catalogue(suite: LiveSuite, tmp_path: Path, first: str, second: str) -> None:
    rows = [
        {"article_number": number, "article_type": "tyre", "brand": "Brand", "model": "Pattern",
         "description": f"{w}/{a} R{r}", "list_price": "100.00", "width": w, "aspect": a, "rim_diameter": r,
         "load_index": 94, "speed_rating": "W" if season == "summer" else "H", "season": season, "run_flat": 0,
         "xl": 0, "three_pmsf": int(season == "winter"), "eu_fuel": "C", "eu_wet": "B", "eu_noise_db": 70}
        for number, ((w, a, r), season) in TYRES.items()
    ] + [
        {"article_number": number, "article_type": "wheel", "brand": "Rim", "model": "Flow",
         "description": f"{width}x{d} ET{offset}", "list_price": "150.00", "bolt_count": 5, "pcd": "112.0",
         "wheel_diameter": d, "wheel_width": width, "offset": offset, "center_bore": bore, "wheel_load_kg": 615,
         "material": "alloy"}
        for number, (d, width, offset, bore) in WHEELS.items()
    ] + [
        {"article_number": SENSOR, "article_type": "tpms", "brand": "Schrader", "model": "EZ", "description": "sensor",
         "list_price": "40.00", "protocol": "direct", "frequency_mhz": 433, "compatible_makes": "Audi|Volkswagen"},
    ]  # fmt: skip
    assert {first, second} == set(WHEELS)
    export = tmp_path / "articles.csv"
    export.write_text(";".join(COLUMNS) + "\n" + "".join(";".join(str(r.get(c, "")) for c in COLUMNS) + "\n"
                                                         for r in rows))  # fmt: skip
    settings = suite.settings["erp-middleware"]

    async def load(db: Database) -> None:
        result = await import_article_export(db, export, "full", outbox=Outbox(settings))
        assert result.rows_rejected == 0, result.errors

    _run_with_db(suite, "erp-middleware", load)


@given("the vehicle data provider lists a Golf on 205/55 R16 (optional 225/45 R17) and an A3 on 225/45 R17")
def vehicle_sync(suite: LiveSuite, tmp_path: Path) -> None:
    records = [
        _variant(GOLF, "Volkswagen", "Golf", "57.1",
                 [("oe", (205, 55, 16), "6.5"), ("optional", (225, 45, 17), "7.5")]),
        _variant(AUDI, "Audi", "A3", "66.6", [("oe", (225, 45, 17), "7.5")]),
    ]  # fmt: skip
    path = tmp_path / "variants.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    settings = suite.settings["vehicle-data"]

    async def sync(db: Database) -> None:
        result = await sync_variants(db, Outbox(settings), path, "full")
        assert result.records_rejected == 0, result.errors

    _run_with_db(suite, "vehicle-data", sync)


@given(parsers.parse('supplier "{supplier}" has {qty:d} pieces of every article'))
def supplier_stock(suite: LiveSuite, tmp_path: Path, context: dict[str, Any], supplier: str, qty: int) -> None:
    definitions = tmp_path / "suppliers.json"
    definitions.write_text(json.dumps([{"supplier_id": supplier, "name": supplier, "min_order_qty": 1,
                                        "mapping": FEED_MAPPING}]))  # fmt: skip
    _run_with_db(suite, "stock-import", lambda db: register_suppliers(db, definitions))
    context["supplier"] = supplier
    # stock-import learns the articles from the catalogue events first; a feed naming unknown ones fails them.
    _upload(suite, supplier, dict.fromkeys(ARTICLES, qty), lambda batch: batch["rows_ok"] == len(ARTICLES))


def _upload(suite: LiveSuite, supplier: str, stock: dict[str, int], done: Any) -> None:
    body = "article,qty,price\n" + "".join(f"{n},{q},50.00\n" for n, q in stock.items())
    client = suite.clients["stock-import"]

    async def upload() -> dict[str, Any]:
        url = f"/api/v1/suppliers/{supplier}/feeds?kind=delta&file_name=correction.csv"
        response = await client.post(url, content=body.encode(), headers=TOKEN)
        assert response.status_code == 202, response.text
        batch_url = f"/api/v1/import-batches/{response.json()['batch_id']}"
        finished = await eventually(lambda: client.get(batch_url, headers=TOKEN),
                                    lambda r: r.json()["status"] in ("succeeded", "failed"), 30)  # fmt: skip
        result: dict[str, Any] = finished.json()
        return result

    for _ in range(20):  # until stock-import's catalogue replica holds every article
        batch = suite.run(upload())
        if done(batch):
            return
        suite.run(asyncio.sleep(0.5))
    raise AssertionError(f"the feed was never applied whole: {batch}")


async def _sets(suite: LiveSuite, variant_id: int) -> httpx.Response:
    return await suite.clients["webshop"].get(f"/api/v1/vehicles/{variant_id}/wheel-sets", params={"limit": 100})


def _items(response: httpx.Response) -> list[dict[str, Any]]:
    return list(response.json()["items"]) if response.status_code == 200 else []


def _all_sets(suite: LiveSuite) -> dict[str, dict[str, Any]]:
    return {s["set_key"]: s for variant in (GOLF, AUDI) for s in _items(suite.run(_sets(suite, variant)))}


@given(parsers.parse("the storefront shows complete wheel sets for the Golf and the A3 within {seconds:d} seconds"))
def sets_reached_the_storefront(suite: LiveSuite, seconds: int) -> None:
    for variant in (GOLF, AUDI):
        in_stock = lambda r: any(s["sellable_quantity"] == 5 for s in _items(r))  # noqa: E731 (20 pieces / 4)
        shown = suite.run(eventually(lambda v=variant: _sets(suite, v), in_stock, seconds))  # type: ignore[misc]
        sets = _items(shown)
        assert sets, shown.text
        assert all(s["components"]["tpms"] == SENSOR for s in sets)
    golf_wheels = {s["components"]["wheel_front"] for s in _items(suite.run(_sets(suite, GOLF)))}
    audi_wheels = {s["components"]["wheel_front"] for s in _items(suite.run(_sets(suite, AUDI)))}
    assert golf_wheels == {"WHEEL-123", "WHEEL-456"}
    assert audi_wheels == {"WHEEL-456"}  # WHEEL-123's bore is smaller than the A3's hub


def _refreshed() -> float:
    labels = {"island": "webshop", "domain": "sets", "kind": "set", "outcome": "refreshed"}
    value = REGISTRY.get_sample_value("projection_recompute_rows_total", labels)
    return value or 0.0


@given(parsers.parse('component article "{article}" is linked in wheel_set_component_index'))
def linked(suite: LiveSuite, context: dict[str, Any], article: str) -> None:
    async def keys(db: Database) -> set[str]:
        i = wheel_set_component_index.c
        async with db.reader.connect() as conn:
            return set(await conn.scalars(sa.select(i.set_key).where(i.component_article_number == article)))

    context["linked"] = _run_with_db(suite, "webshop", keys)
    assert context["linked"]
    context["before"] = _all_sets(suite)
    assert context["linked"] < set(context["before"])  # other sets exist: the A3's, the Golf's on WHEEL-456
    context["refreshed"] = _refreshed()


@when(parsers.parse('stock for "{article}" changes'))
def stock_changes(suite: LiveSuite, context: dict[str, Any], article: str) -> None:
    _upload(suite, context["supplier"], {article: 7}, lambda batch: batch["rows_ok"] == 1)
    suite.run(eventually(lambda: asyncio.sleep(0, _refreshed()), lambda count: count > context["refreshed"], 30))
    suite.run(asyncio.sleep(0.5))  # let any wrongly touched set show up too
    context["after"] = _all_sets(suite)


@then("only linked set_key projections should be recomputed")
def only_linked(context: dict[str, Any]) -> None:
    before, after = context["before"], context["after"]
    recomputed = {key for key in after if after[key]["computed_at"] != before[key]["computed_at"]}
    assert recomputed == context["linked"]
    assert _refreshed() - context["refreshed"] == len(context["linked"])


@then("unrelated sets should not be recalculated")
def unrelated_untouched(context: dict[str, Any]) -> None:
    before, after = context["before"], context["after"]
    unrelated = set(before) - context["linked"]
    assert unrelated
    assert {k: after[k] for k in unrelated} == {k: before[k] for k in unrelated}


@then(parsers.parse("the storefront shows the linked sets with {sets:d} set in stock within {seconds:d} seconds"))
def linked_show_new_quantity(suite: LiveSuite, context: dict[str, Any], sets: int, seconds: int) -> None:
    linked = context["linked"]
    assert all(context["after"][key]["sellable_quantity"] == sets for key in linked)  # floor(min(7, 20) / 4)
