"""End to end over the real broker and database: vehicles and the catalogue reach the storefront's
vehicle lookups through vehicle-data's fitment, and a rule change recomputes only its bucket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from pytest_bdd import given, parsers, scenarios, then, when

from contracts import Envelope, FitmentMappingChanged, open_envelope
from erp_middleware.articles.models import COLUMNS
from erp_middleware.articles.service import import_article_export
from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk.outbox import OUTBOX, Outbox
from live_suite import TOKEN, LiveSuite, eventually, islands_running
from vehicle_data.tables import (
    fitment_pending,
    product_spec,
    product_tyre_bucket,
    product_vehicle_mappings,
    vehicle_tyre_bucket,
)
from vehicle_data.vehicles.service import sync_variants

scenarios("features/fitment_by_bucket.feature")

GOLF, AUDI = 101, 102
TYRES = {  # article: (size, season, load index, speed rating)
    "TY-F-01": ((205, 55, 16), "summer", 91, "V"), "TY-F-02": ((205, 55, 16), "winter", 91, "H"),
    "TY-F-03": ((205, 55, 16), "summer", 94, "W"), "TY-F-04": ((225, 45, 17), "summer", 94, "W"),
    "TY-F-05": ((225, 45, 17), "all_season", 94, "V"),
}  # fmt: skip
WHEELS = {  # article: (diameter, width, offset, centre bore)
    "WH-F-01": (16, "6.5", 46, "57.1"), "WH-F-02": (17, "7.5", 45, "57.1"),
    "WH-F-03": (17, "7.5", 40, "66.6"), "WH-F-04": (16, "6.5", 46, "72.6"),
}  # fmt: skip


def fitment(kind: str, size: tuple[int, int, int], width: str, offset: int, li: int) -> dict[str, Any]:
    return {"axle": "both", "fitment_kind": kind, "tyre_width": size[0], "tyre_aspect": size[1],
            "rim_diameter": size[2], "wheel_width": width, "wheel_offset": offset, "load_index": li,
            "speed_rating": "V"}  # fmt: skip


def variant(variant_id: int, make: str, model: str, hub: str, offsets: tuple[int, int],
            fitments: list[dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    return {"vehicle_variant_id": variant_id, "make": make, "model": model, "generation": "Mk8",
            "variant_name": f"{model} 1.5 TSI", "year_from": 2020, "year_to": None, "engine": "1.5 TSI",
            "body": "hatchback", "drive": "fwd", "bolt_count": 5, "pcd": "112.0", "hub_bore": hub,
            "offset_min": offsets[0], "offset_max": offsets[1], "fastener": "bolt", "thread": "M14x1.5",
            "axle_load_front_kg": 1100, "axle_load_rear_kg": 1000, "tpms_type": "direct", "is_staggered": False,
            "fitments": fitments}  # fmt: skip


@pytest.fixture
def suite(migrated_islands: dict[str, ServiceSettings], tmp_path: Path) -> Iterator[LiveSuite]:
    with islands_running(migrated_islands, ("erp-middleware", "vehicle-data", "webshop"), tmp_path) as live:
        yield live


@pytest.fixture
def context() -> dict[str, Any]:
    return {}


@given("the ERP catalogue holds tyres in 205/55 R16 and 225/45 R17 and wheels for 5x112")
def erp_catalogue(suite: LiveSuite, tmp_path: Path) -> None:
    rows = [
        {"article_number": number, "article_type": "tyre", "brand": "Brand", "model": "Pattern",
         "description": f"{w}/{a} R{r}", "list_price": "100.00", "width": w, "aspect": a, "rim_diameter": r,
         "load_index": li, "speed_rating": speed, "season": season, "run_flat": 0, "xl": 0,
         "three_pmsf": int(season == "winter"), "eu_fuel": "C", "eu_wet": "B", "eu_noise_db": 70}
        for number, ((w, a, r), season, li, speed) in TYRES.items()
    ] + [
        {"article_number": number, "article_type": "wheel", "brand": "Rim", "model": "Flow",
         "description": f"{width}x{d} ET{offset}", "list_price": "150.00", "bolt_count": 5, "pcd": "112.0",
         "wheel_diameter": d, "wheel_width": width, "offset": offset, "center_bore": bore, "wheel_load_kg": 615,
         "material": "alloy"}
        for number, (d, width, offset, bore) in WHEELS.items()
    ]  # fmt: skip
    export = tmp_path / "articles.csv"
    export.write_text(";".join(COLUMNS) + "\n" + "".join(";".join(str(r.get(c, "")) for c in COLUMNS) + "\n"
                                                         for r in rows))  # fmt: skip
    settings = suite.settings["erp-middleware"]

    async def load() -> None:
        db = Database.from_settings(settings)
        try:
            result = await import_article_export(db, export, "full", outbox=Outbox(settings))
            assert result.rows_rejected == 0, result.errors
        finally:
            await db.dispose()

    suite.run(load())


@given("the vehicle data provider lists a Golf on 205/55 R16 (optional 225/45 R17) and an A3 on 225/45 R17")
def vehicle_sync(suite: LiveSuite, tmp_path: Path) -> None:
    records = [
        variant(GOLF, "Volkswagen", "Golf", "57.1", (38, 50),
                [fitment("oe", (205, 55, 16), "6.5", 46, 91), fitment("optional", (225, 45, 17), "7.5", 45, 94)]),
        variant(AUDI, "Audi", "A3", "66.6", (30, 45), [fitment("oe", (225, 45, 17), "7.5", 40, 94)]),
    ]  # fmt: skip
    path = tmp_path / "variants.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    settings = suite.settings["vehicle-data"]

    async def sync() -> None:
        db = Database.from_settings(settings)
        try:
            result = await sync_variants(db, Outbox(settings), path, "full")
            assert result.records_rejected == 0, result.errors
        finally:
            await db.dispose()

    suite.run(sync())


async def _tyres(suite: LiveSuite, variant_id: int) -> httpx.Response:
    return await suite.clients["webshop"].get(f"/api/v1/vehicles/{variant_id}/tyres", params={"limit": 100})


def _sizes(response: httpx.Response) -> set[tuple[int, int, int]]:
    if response.status_code != 200:
        return set()
    return {(i["specs"]["width"], i["specs"]["aspect"], i["specs"]["rim_diameter"]) for i in response.json()["items"]}


@given(parsers.parse("the storefront shows fitting tyres for both within {seconds:d} seconds"))
def fitment_reached_the_storefront(suite: LiveSuite, seconds: int) -> None:
    golf = suite.run(eventually(lambda: _tyres(suite, GOLF), lambda r: len(_sizes(r)) == 2, seconds))
    assert _sizes(golf) == {(205, 55, 16), (225, 45, 17)}, golf.text
    audi = suite.run(eventually(lambda: _tyres(suite, AUDI), lambda r: len(_sizes(r)) == 1, seconds))
    assert _sizes(audi) == {(225, 45, 17)}, audi.text
    # The tyres can show before the wheels' specs arrive: the scenarios start once vehicle-data holds every
    # article and has nothing left to recompute, so a late recompute never counts as theirs.
    settled = suite.run(eventually(lambda: _fitment_backlog(suite), lambda b: b == (len(TYRES) + len(WHEELS), 0),
                                   seconds))  # fmt: skip
    assert settled == (len(TYRES) + len(WHEELS), 0), settled


async def _fitment_backlog(suite: LiveSuite) -> tuple[int, int]:
    """(article specs vehicle-data holds, recompute work it still lists)."""
    db = Database.from_settings(suite.settings["vehicle-data"])
    try:
        async with db.reader.connect() as conn:
            specs = await conn.scalar(sa.select(sa.func.count()).select_from(product_spec))
            pending = await conn.scalar(sa.select(sa.func.count()).select_from(fitment_pending))
            return int(specs or 0), int(pending or 0)
    finally:
        await db.dispose()


@when(parsers.parse('the dealer picks make "{make}", model "{model}", year {year:d} and the first variant'))
def dealer_picks(suite: LiveSuite, context: dict[str, Any], make: str, model: str, year: int) -> None:
    client = suite.clients["webshop"]
    makes = suite.run(client.get("/api/v1/vehicles/makes")).json()["items"]
    assert make in [m["make"] for m in makes]
    models = suite.run(client.get("/api/v1/vehicles/models", params={"make": make})).json()["items"]
    assert model in [m["model"] for m in models]
    years = suite.run(client.get("/api/v1/vehicles/years", params={"make": make, "model": model})).json()["items"]
    assert year in years
    variants = suite.run(client.get("/api/v1/vehicles", params={"make": make, "model": model, "year": year}))
    context["variant"] = variants.json()["items"][0]["vehicle_variant_id"]
    context["tyres"] = suite.run(_tyres(suite, context["variant"])).json()
    context["wheels"] = suite.run(client.get(f"/api/v1/vehicles/{context['variant']}/wheels")).json()


@then("the storefront lists its 205/55 R16 tyres with match score 100 before its 225/45 R17 tyres with 90")
def tyres_ranked(context: dict[str, Any]) -> None:
    items = context["tyres"]["items"]
    ranked = [(i["specs"]["rim_diameter"], i["fitment"]["match_score"]) for i in items]
    assert ranked == [(16, 100), (16, 100), (16, 95), (17, 90), (17, 90)], ranked  # the winter H: 95 (exception)
    assert [i["fitment"]["is_original_equipment"] for i in items] == [True, True, True, False, False]


@then("the storefront lists the hub-centric OE-size wheel with match score 100 first")
def wheels_ranked(context: dict[str, Any]) -> None:
    ranked = [(i["article_number"], i["fitment"]["match_score"]) for i in context["wheels"]["items"]]
    assert ranked == [("WH-F-01", 100), ("WH-F-02", 90), ("WH-F-04", 72), ("WH-F-03", 71)], ranked


@then("every listed article carries its availability")
def with_availability(context: dict[str, Any]) -> None:
    for item in context["tyres"]["items"] + context["wheels"]["items"]:
        assert set(item["availability"]) == {"sellable_qty", "in_stock", "best_price", "next_delivery_date"}


def recompute_counts() -> dict[tuple[str, str], float]:
    """vehicle-data's recompute counters (the apps run in this process: one metrics registry)."""
    counts = {}
    for kind in ("variant", "tyre_size", "mapping"):
        for outcome in ("evaluated", "written", "removed"):
            labels = {"island": "vehicle-data", "domain": "fitment", "kind": kind, "outcome": outcome}
            counts[(kind, outcome)] = REGISTRY.get_sample_value("projection_recompute_rows_total", labels) or 0.0
    return counts


async def stored_rows(suite: LiveSuite) -> dict[str, set[tuple[Any, ...]]]:
    """vehicle-data's fitment rows with their computed_at: a rewritten row shows a new time."""
    db = Database.from_settings(suite.settings["vehicle-data"])
    try:
        async with db.reader.connect() as conn:
            tables = {"tyre": vehicle_tyre_bucket, "mapping": product_vehicle_mappings, "product": product_tyre_bucket}
            return {
                name: {tuple(row) for row in await conn.execute(sa.select(table))} for name, table in tables.items()
            }
    finally:
        await db.dispose()


async def fitment_events(suite: LiveSuite) -> list[FitmentMappingChanged]:
    db = Database.from_settings(suite.settings["vehicle-data"])
    try:
        async with db.reader.connect() as conn:
            bodies = await conn.scalars(sa.select(OUTBOX.c.body).where(
                OUTBOX.c.message_type == "fitment.mapping.changed").order_by(OUTBOX.c.id))  # fmt: skip
            return [open_envelope(Envelope.from_bytes(body)) for body in bodies]  # type: ignore[misc]
    finally:
        await db.dispose()


def _remember(suite: LiveSuite, context: dict[str, Any]) -> None:
    context["counts"] = recompute_counts()
    context["rows"] = suite.run(stored_rows(suite))
    context["events"] = len(suite.run(fitment_events(suite)))


def _counted(context: dict[str, Any]) -> dict[tuple[str, str], float]:
    now = recompute_counts()
    return {key: value - context["counts"][key] for key, value in now.items() if value != context["counts"][key]}


async def _version(suite: LiveSuite, variant_id: int) -> int:
    response = await suite.clients["vehicle-data"].get(f"/api/v1/vehicles/{variant_id}/fitment", headers=TOKEN)
    return int(response.json()["version"])


@given(parsers.parse('a fitment rule change only affects tyre bucket "{bucket}"'))
def rule_change(suite: LiveSuite, context: dict[str, Any], bucket: str) -> None:
    width, aspect, rim, axle = bucket.split(":")
    _remember(suite, context)
    context["version"] = suite.run(_version(suite, GOLF))
    rule = {"vehicle_variant_id": GOLF, "axle": axle, "action": "exclude", "tyre_size": f"{width}/{aspect}R{rim}",
            "reason": "customer complaint: rubs the arch", "created_by": "operator@example.com"}  # fmt: skip
    response = suite.run(suite.clients["vehicle-data"].post("/api/v1/fitment-rules", json=rule, headers=TOKEN))
    assert response.status_code == 201, response.text
    context["bucket"] = bucket


@when("fitment recompute is triggered")
def recompute_triggered(suite: LiveSuite, context: dict[str, Any]) -> None:
    # The rule's command is on vehicle-data.high-priority: wait for the worker's recompute to commit.
    version = suite.run(eventually(lambda: _version(suite, GOLF), lambda v: v > context["version"], 30))
    assert version == context["version"] + 1


@then("only product and vehicle records in that bucket are recomputed")
def only_the_bucket(suite: LiveSuite, context: dict[str, Any]) -> None:
    assert _counted(context) == {("variant", "evaluated"): 1, ("tyre_size", "evaluated"): 1,
                                 ("tyre_size", "removed"): 1}  # fmt: skip
    before, after = context["rows"], suite.run(stored_rows(suite))
    removed = before["tyre"] - after["tyre"]
    assert {(row[0], row[1], row[2]) for row in removed} == {(context["bucket"], GOLF, "both")}
    assert after["tyre"] < before["tyre"]  # nothing else rewritten: every other row keeps its computed_at
    assert after["mapping"] == before["mapping"]
    assert after["product"] == before["product"]
    events = suite.run(fitment_events(suite))[context["events"] :]
    assert [(e.vehicle_variant_id, e.replace, e.mappings_upserted, e.mappings_removed) for e in events] == [
        (GOLF, False, [], [])
    ]
    announced = {(s.width, s.aspect, s.rim_diameter) for s in events[0].tyre_sizes or []}
    assert (205, 55, 16) in announced  # with its alternative sizes
    assert (225, 45, 17) not in announced


@then(parsers.parse("the storefront no longer lists 225/45 R17 tyres for the Golf within {seconds:d} seconds"))
def golf_without_the_size(suite: LiveSuite, seconds: int) -> None:
    response = suite.run(eventually(lambda: _tyres(suite, GOLF), lambda r: (225, 45, 17) not in _sizes(r), seconds))
    assert _sizes(response) == {(205, 55, 16)}, response.text


@then("the storefront still lists 225/45 R17 tyres for the Audi")
def audi_unchanged(suite: LiveSuite) -> None:
    assert _sizes(suite.run(_tyres(suite, AUDI))) == {(225, 45, 17)}


@when(parsers.parse('an operator recomputes tyre bucket "{bucket}"'))
def bucket_recompute(suite: LiveSuite, context: dict[str, Any], bucket: str) -> None:
    _remember(suite, context)
    body = {"scope": f"bucket:{bucket}"}
    response = suite.run(suite.clients["vehicle-data"].post("/api/v1/fitment/recompute", json=body, headers=TOKEN))
    assert response.status_code == 202, response.text
    assert response.json()["vehicles"] == 2

    async def counted() -> dict[tuple[str, str], float]:
        return _counted(context)

    suite.run(eventually(counted, lambda c: c.get(("variant", "evaluated"), 0) >= 2, 30))


@then(
    parsers.parse(
        'only the tyre rows of bucket "{bucket}" were recomputed, {count:d} of them, and nothing was rewritten'
    )
)
def bucket_only(suite: LiveSuite, context: dict[str, Any], bucket: str, count: int) -> None:
    assert _counted(context) == {("variant", "evaluated"): 2, ("tyre_size", "evaluated"): count}
    assert suite.run(stored_rows(suite)) == context["rows"]
    assert len(suite.run(fitment_events(suite))) == context["events"]
