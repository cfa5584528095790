"""Wheel sets against the real MariaDB: composition rules, keys, quantities and prices through the SQL
refresh, incremental recompute through the worker's consumer, and the set APIs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY
from wheel_set_world import BMW, CLIO, FITMENT, GOLF, Shop, open_shop, tyre

from contracts import ArticleDiscontinued
from foundation.settings import ServiceSettings
from integration_sdk.testing import serve, wait_until_ready
from webshop.app import create_app
from webshop.tables import wheel_set_pending
from webshop.wheel_sets import recompute
from webshop.wheel_sets.compose import (
    SEASONS,
    SETS_PER_SEASON,
    TyreCandidate,
    Variant,
    WheelCandidate,
    choose_sensor,
    compose,
    rim_suits,
    set_key,
    set_price,
    set_quantity,
)
from webshop.wheel_sets.queries import SORTS, SetListing, list_query
from webshop.wheel_sets.reference import reference_page, reference_sets


@pytest.fixture
async def shop(migrated_islands: dict[str, ServiceSettings]) -> AsyncIterator[Shop]:
    world = await open_shop(migrated_islands["webshop"])
    yield world
    await world.db.dispose()


@pytest.fixture
async def api(shop: Shop) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(create_app(shop.settings)) as client:  # type: ignore[arg-type]
        await wait_until_ready(client)
        yield client


def test_set_key_is_the_same_on_every_machine_and_run() -> None:
    key = set_key(7, "summer", "mounted", ["W-16-65", None, "T-205-S1", None, "S-1"])
    # sha256 of ["wheel-set/1",7,"summer","mounted","W-16-65",null,"T-205-S1",null,"S-1"] as compact JSON
    assert key == "63616a0fefdb57d00a7e0d547c3355cf271cb28643679df7644a301316df909e"
    assert key == set_key(7, "summer", "mounted", ["W-16-65", None, "T-205-S1", None, "S-1"])
    assert key != set_key(7, "summer", "unmounted", ["W-16-65", None, "T-205-S1", None, "S-1"])
    assert key != set_key(8, "summer", "mounted", ["W-16-65", None, "T-205-S1", None, "S-1"])


def test_quantity_rules() -> None:
    standard = {"W": 4, "T": 4}
    assert set_quantity(standard, {"W": 9, "T": 6}) == 1  # floor(min(9, 6) / 4)
    assert set_quantity(standard, {"W": 8, "T": 17}) == 2
    staggered = {"WF": 2, "WR": 2, "TF": 2, "TR": 2}
    assert set_quantity(staggered, {"WF": 7, "WR": 4, "TF": 9, "TR": 5}) == 2  # min(floor(7/2), floor(4/2))
    pooled = {"W": 4, "TF": 2, "TR": 2}  # one wheel SKU on both axles: floor(qty / 4), not counted twice
    assert set_quantity(pooled, {"W": 7, "TF": 10, "TR": 10}) == 1
    with_sensor = {"W": 4, "T": 4, "S": 4}
    assert set_quantity(with_sensor, {"W": 40, "T": 40, "S": 7}) == 1
    assert set_quantity(with_sensor, {"W": 40, "T": 40}) == 0  # an unknown component: none
    assert set_price(with_sensor, {"W": Decimal("100"), "T": Decimal("80"), "S": Decimal("30")}, Decimal("60")) == 900


def test_a_makes_sensors_are_spread_over_its_variants() -> None:
    sensors = [("S-3", ["VW", "Audi"]), ("S-1", ["VW"]), ("S-2", ["Audi"]), ("S-4", ["VW"])]
    chosen = {choose_sensor(Variant(n, "VW", "fwd", "direct", False), sensors) for n in range(1, 10)}
    assert chosen == {"S-1", "S-3", "S-4"}  # each listing VW, none other
    assert choose_sensor(Variant(4, "VW", "fwd", "direct", False), sensors) == "S-3"  # sorted, 4 mod 3 = 1
    assert choose_sensor(Variant(4, "VW", "fwd", "indirect", False), sensors) is None
    assert choose_sensor(Variant(4, "Fiat", "fwd", "direct", False), sensors) is None


def test_rim_width_rule() -> None:
    assert rim_suits(205, Decimal("6.5"))
    assert rim_suits(225, Decimal("8.0"))
    assert not rim_suits(205, Decimal("8.0"))
    assert not rim_suits(275, Decimal("7.0"))


def test_composition_bounds_seasons_and_rolling_diameter() -> None:
    golf = Variant(1, "VW", "fwd", "none", False)
    wheels = [WheelCandidate(f"W{n}", "both", 16, Decimal("6.5"), 100 - n) for n in range(5)]
    tyres = [TyreCandidate(f"T{n}{s}", "both", 205, 55, 16, s, 100) for n in range(4) for s in SEASONS]
    sets = compose(golf, wheels, tyres, [])
    per_season = {s: {(x.wheel_front_article_number, x.tyre_front_article_number) for x in sets if x.season == s}
                  for s in SEASONS}  # fmt: skip
    assert all(len(pairs) == SETS_PER_SEASON for pairs in per_season.values())
    assert {w for pairs in per_season.values() for w, _ in pairs} <= {"W0", "W1", "W2"}  # 3 best wheels
    assert all(t.endswith(s) for s, pairs in per_season.items() for _, t in pairs)  # the season's tyres
    assert len(sets) == 3 * SETS_PER_SEASON * 3  # every mounting type

    awd = Variant(2, "BMW", "awd", "none", True)
    wheels = [
        WheelCandidate("WF", "front", 19, Decimal("8.5"), 100),
        WheelCandidate("WR", "rear", 19, Decimal("10"), 100),
    ]
    near = [
        TyreCandidate("TF", "front", 245, 35, 19, "summer", 100),
        TyreCandidate("TR", "rear", 275, 30, 19, "summer", 100),
    ]
    far = [near[0], TyreCandidate("TR2", "rear", 275, 40, 19, "summer", 100)]  # 3% larger rolling diameter
    assert {s.tyre_rear_article_number for s in compose(awd, wheels, near, [])} == {"TR"}
    assert compose(awd, wheels, far, []) == []
    rwd = Variant(2, "BMW", "rwd", "none", True)
    assert {s.tyre_rear_article_number for s in compose(rwd, wheels, far, [])} == {"TR2"}  # only awd checks


async def test_sets_follow_the_rules_and_their_keys(shop: Shop) -> None:
    sets = await shop.sets()
    by_variant: dict[int, list[dict[str, Any]]] = {}
    for row in sets.values():
        by_variant.setdefault(row["vehicle_variant_id"], []).append(row)
    golf = by_variant[GOLF]
    assert {r["tpms_article_number"] for r in golf} == {"S-1"}
    assert not any(r["tpms_missing"] for r in golf)
    assert {r["mounting_type"] for r in golf} == {"unmounted", "mounted", "mounted_balanced"}
    summer = {
        (r["wheel_front_article_number"], r["tyre_front_article_number"]) for r in golf if r["season"] == "summer"
    }
    # 205/55 R16 summer: the two best-labelled (S1 wet A, S2 wet B) on both 16" wheels; 225/45 R17 on 17".
    assert summer == {("W-16-65", "T-205-S1"), ("W-16-65", "T-205-S2"), ("W-16-70", "T-205-S1"),
                      ("W-16-70", "T-205-S2"), ("W-17-75", "T-225-S1")}  # fmt: skip
    assert {r["tyre_front_article_number"] for r in golf if r["season"] == "winter"} == {"T-205-W1"}
    bmw = by_variant[BMW]
    assert all(r["is_staggered"] and r["tyre_front_article_number"] == "T-245-S1"
               and r["tyre_rear_article_number"] == "T-275-S1" for r in bmw)  # fmt: skip
    assert {(r["wheel_front_article_number"], r["wheel_rear_article_number"]) for r in bmw} == {
        ("W-19-85", "W-19-100"),
        ("W-19-85", "W-19-90"),
        ("W-19-90", "W-19-100"),
        ("W-19-90", "W-19-90"),
    }
    clio = by_variant[CLIO]
    assert {r["tpms_article_number"] for r in clio} == {None}
    assert {r["season"] for r in clio} == {"all_season"}
    links = await shop.links()
    for row in sets.values():
        numbers = [row[f"{p}_article_number"] for p in ("wheel_front", "wheel_rear", "tyre_front", "tyre_rear", "tpms")]
        assert row["set_key"] == set_key(row["vehicle_variant_id"], row["season"], row["mounting_type"], numbers)
        assert {n for n, _, k in links if k == row["set_key"]} == {n for n in numbers if n}


async def test_quantities_and_prices_from_the_sql_refresh(shop: Shop) -> None:
    await shop.stock("W-16-65", 9, "100.00")
    await shop.stock("T-205-S1", 6, "80.00")
    await shop.stock("S-1", 20, "30.00")
    await shop.stock("W-19-90", 7, "150.00")  # the BMW's wheel on both axles: pooled
    await shop.stock("T-245-S1", 5, "90.00")
    await shop.stock("T-275-S1", 4, "110.00")
    await shop.drain()
    sets = await shop.sets()

    def one(variant: int, mounting: str, **components: str | None) -> dict[str, Any]:
        matches = [r for r in sets.values() if r["vehicle_variant_id"] == variant and r["mounting_type"] == mounting
                   and all(r[f"{k}_article_number"] == v for k, v in components.items())]  # fmt: skip
        assert len(matches) == 1, components
        return matches[0]

    golf = one(GOLF, "mounted", wheel_front="W-16-65", tyre_front="T-205-S1")
    assert golf["sellable_quantity"] == 1  # floor(min(9, 6) / 4); the sensor's 20 allow 5
    assert golf["set_price"] == Decimal("4") * (100 + 80 + 30) + 60
    pooled = one(BMW, "unmounted", wheel_front="W-19-90", wheel_rear="W-19-90")
    assert pooled["sellable_quantity"] == 1  # floor(7 / 4): one SKU on both axles, not floor(7/2)
    assert pooled["set_price"] == 4 * 150 + 2 * 90 + 2 * 110 + 4 * 30
    await shop.stock("S-1", 3)
    await shop.drain()
    assert (await shop.sets())[golf["set_key"]]["sellable_quantity"] == 0  # a required sensor limits it too


async def test_a_component_stock_change_recomputes_only_its_linked_sets(shop: Shop) -> None:
    before = await shop.sets()
    await asyncio.sleep(0.01)
    await shop.stock("T-205-W1", 13)
    assert await shop.drain() == 1
    after = await shop.sets()
    linked = {k for n, _, k in await shop.links() if n == "T-205-W1"}
    changed = {k for k in before if after[k]["computed_at"] != before[k]["computed_at"]}
    assert linked
    assert changed == linked
    assert all(after[k]["sellable_quantity"] == 3 for k in linked)  # floor(min(20, 13) / 4)
    await shop.stock("T-NOT-IN-A-SET", 5)
    assert await shop.drain() == 0  # nothing asked for an article no set holds


async def test_a_fitment_change_recomposes_that_variant_only(shop: Shop) -> None:
    before = await shop.sets()
    sizes, mappings = FITMENT[GOLF]
    await shop.fitment(GOLF, sizes, [m for m in mappings if m[0] != "W-16-70"])
    await shop.drain()
    after = await shop.sets()
    assert not any(r["wheel_front_article_number"] == "W-16-70" for r in after.values())
    untouched = {k: v for k, v in before.items() if v["vehicle_variant_id"] != GOLF}
    assert {k: after[k] for k in untouched} == untouched


changes = st.lists(
    st.one_of(
        st.tuples(st.just("stock"), st.sampled_from(["W-16-65", "W-16-70", "T-205-S1", "T-205-S2", "S-1", "W-19-90",
                                                     "T-245-S1", "T-275-S1", "T-195-A1"]),
                  st.integers(0, 30), st.sampled_from(["45.00", "50.00", "61.50"])),
        st.tuples(st.just("fitment"), st.sampled_from([GOLF, BMW]), st.integers(0, 2), st.integers(60, 100)),
    ),
    min_size=1, max_size=8,
)  # fmt: skip


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=changes)
def test_incremental_equals_a_full_rebuild(migrated_islands: dict[str, ServiceSettings], history: list[Any]) -> None:
    """Any sequence of stock, price and fitment changes applied incrementally gives the projection (and
    reverse index) a full rebuild gives."""

    async def run() -> None:
        shop = await open_shop(migrated_islands["webshop"])
        try:
            for change in history:
                if change[0] == "stock":
                    await shop.stock(change[1], change[2], change[3])
                else:
                    _, variant_id, dropped, score = change
                    sizes, mappings = FITMENT[variant_id]
                    rescored = [(*m[:4], score) if i == 0 else m for i, m in enumerate(mappings) if i != dropped]
                    await shop.fitment(variant_id, sizes, rescored)  # type: ignore[arg-type]
                if len(history) % 2:  # sometimes drain after every change, sometimes once at the end
                    await shop.drain()
            await shop.drain()
            incremental, links = await shop.sets(), await shop.links()
            await shop.rebuild_all()
            rebuilt = await shop.sets()
            strip = lambda rows: {k: {c: v for c, v in r.items() if c != "computed_at"} for k, r in rows.items()}  # noqa: E731
            assert strip(incremental) == strip(rebuilt)
            assert links == await shop.links()
        finally:
            await shop.db.dispose()

    asyncio.run(run())


async def test_set_list_filters_sorts_and_pages(shop: Shop, api: httpx.AsyncClient) -> None:
    await shop.stock("T-205-S2", 0)
    await shop.drain()
    everything = (await api.get(f"/api/v1/vehicles/{GOLF}/wheel-sets", params={"limit": 100})).json()["items"]
    assert len(everything) == len([s for s in (await shop.sets()).values() if s["vehicle_variant_id"] == GOLF])
    prices = [Decimal(s["set_price"]) for s in everything]
    assert prices == sorted(prices)
    pages, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 4, "sort": "-quantity", "season": "summer", "in_stock": "true",
                                  "mounting_type": "mounted", **({"cursor": cursor} if cursor else {})}  # fmt: skip
        body = (await api.get(f"/api/v1/vehicles/{GOLF}/wheel-sets", params=params)).json()
        pages.extend(body["items"])
        if not (cursor := body["next_cursor"]):
            break
    wanted = {"season": "summer", "mounting_type": "mounted"}
    chosen = [s for s in everything if s.items() >= wanted.items() and s["sellable_quantity"] > 0]
    expected = sorted(chosen, key=lambda s: (-s["sellable_quantity"], s["set_key"]))
    assert [s["set_key"] for s in pages] == [s["set_key"] for s in expected]
    assert expected
    assert all(s["components"]["tyre_front"] != "T-205-S2" for s in pages)  # out of stock
    staggered = (await api.get(f"/api/v1/vehicles/{BMW}/wheel-sets", params={"staggered": "false"})).json()
    assert staggered["items"] == []
    ranged = (await api.get(f"/api/v1/vehicles/{GOLF}/wheel-sets", params={"price_min": 900, "price_max": 1000})).json()
    assert all(900 <= Decimal(s["set_price"]) <= 1000 for s in ranged["items"])


async def test_set_detail_and_errors(shop: Shop, api: httpx.AsyncClient) -> None:
    first = (await api.get(f"/api/v1/vehicles/{BMW}/wheel-sets", params={"limit": 1})).json()["items"][0]
    detail = (await api.get(f"/api/v1/wheel-sets/{first['set_key']}")).json()
    roles = {line["role"]: line for line in detail["components"]}
    assert set(roles) == {"wheel_front", "wheel_rear", "tyre_front", "tyre_rear", "tpms"}
    assert roles["tpms"]["quantity"] == 4
    assert roles["tyre_rear"]["quantity"] == 2
    assert roles["tyre_front"]["product"]["availability"]["sellable_qty"] == 20
    breakdown = detail["price_breakdown"]
    assert Decimal(breakdown["components"]) + Decimal(breakdown["mounting_fee"]) == Decimal(breakdown["total"])
    assert (await api.get("/api/v1/wheel-sets/" + "0" * 64)).status_code == 404
    assert (await api.get("/api/v1/wheel-sets/not-a-key")).status_code == 422
    assert (await api.get("/api/v1/vehicles/999999/wheel-sets")).status_code == 404
    bad = await api.get(f"/api/v1/vehicles/{GOLF}/wheel-sets", params={"cursor": "bm9wZQ"})
    assert bad.status_code == 400
    assert bad.json()["error"]["details"][0]["field"] == "cursor"
    wrong = await api.get(f"/api/v1/vehicles/{GOLF}/wheel-sets", params={"price_min": 10, "price_max": 5})
    assert wrong.status_code == 400
    for params, named in (({"season": "monsoon"}, "season"), ({"limit": 0}, "limit"), ({"seasn": "winter"}, "seasn")):
        refused = await api.get(f"/api/v1/vehicles/{GOLF}/wheel-sets", params=params)
        assert refused.status_code == 422, (params, refused.text)
        assert named in refused.text, refused.text


async def test_a_set_list_is_one_index_range_read(shop: Shop) -> None:
    sql, params = list_query(SetListing(GOLF, ("summer",), "mounted", None, True, None, None, "price"), None, 25)
    async with shop.db.reader.connect() as conn:
        plan = (await conn.exec_driver_sql(f"EXPLAIN {sql}", params)).mappings().all()
    assert len(plan) == 1, plan
    assert plan[0]["key"] == "idx_wsp_vehicle_season_qty_price", plan
    assert plan[0]["type"] in ("ref", "range"), plan


async def test_the_reference_path_answers_what_the_projection_holds(shop: Shop, api: httpx.AsyncClient) -> None:
    """Dual-read: the request-time composition (every candidate, quantities in Python) equals the projection
    row for row, and the set list's pages equal the reference's."""
    await shop.stock("W-16-65", 9, "100.00")
    await shop.stock("W-19-90", 3, "150.00")
    await shop.drain()
    projection = await shop.sets()
    async with shop.db.reader.connect() as conn:
        for variant_id in (GOLF, BMW, CLIO):
            reference = {p.wheel_set.set_key: p for p in await reference_sets(conn, variant_id)}
            stored = {k: {c: v for c, v in r.items() if c != "computed_at"} for k, r in projection.items()
                      if r["vehicle_variant_id"] == variant_id}  # fmt: skip
            assert {k: p.row() for k, p in reference.items()} == stored
            for sort in SORTS:
                listing = SetListing(variant_id, ("summer",), None, None, False, None, Decimal("2000"), sort)
                params = {"season": "summer", "price_max": 2000, "sort": sort, "limit": 5}
                answer = await api.get(f"/api/v1/vehicles/{variant_id}/wheel-sets", params=params)
                expected = reference_page(list(reference.values()), listing, None, 5)
                assert [s["set_key"] for s in answer.json()["items"]] == [p.wheel_set.set_key for p in expected]


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_repeated_changes_of_a_component_are_refreshed_once_and_freshness_is_recorded(shop: Shop) -> None:
    linked = {k for n, _, k in await shop.links() if n == "T-205-S1"}
    refreshed = _sample("projection_recompute_rows_total", island="webshop", domain="sets", kind="set",
                        outcome="refreshed")  # fmt: skip
    fresh = _sample("projection_freshness_seconds_count", island="webshop", projection="wheel_sets")
    for qty in (3, 9, 14):
        await shop.stock("T-205-S1", qty)
    assert await shop.drain() == 3  # three requests, one batch
    assert _sample("projection_recompute_rows_total", island="webshop", domain="sets", kind="set",
                   outcome="refreshed") - refreshed == len(linked)  # fmt: skip
    assert _sample("projection_freshness_seconds_count", island="webshop", projection="wheel_sets") - fresh == 3
    sets = await shop.sets()
    assert {sets[k]["sellable_quantity"] for k in linked} == {3}  # floor(min(20, 14) / 4)


async def test_a_discontinued_component_leaves_its_variants_sets(shop: Shop) -> None:
    assert any(r["wheel_front_article_number"] == "W-16-70" for r in (await shop.sets()).values())
    await shop.apply(ArticleDiscontinued(article_number="W-16-70", version=2))
    assert await shop.drain() == 1
    sets = await shop.sets()
    assert not any(r["wheel_front_article_number"] == "W-16-70" for r in sets.values())
    assert any(r["vehicle_variant_id"] == GOLF for r in sets.values())  # the Golf keeps its other sets


async def test_a_batch_naming_many_variants_composes_a_chunk_and_asks_again_for_the_rest(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A full fitment rebuild names every variant: RECOMPOSE_CHUNK of them per transaction, none lost.
    monkeypatch.setattr(recompute, "RECOMPOSE_CHUNK", 1)
    before = await shop.sets()
    await asyncio.sleep(0.01)
    for variant_id, (sizes, mappings) in FITMENT.items():
        await shop.fitment(variant_id, sizes, mappings)  # the same fitment again: each variant asked for

    async def composed_again() -> set[int]:
        return {row["vehicle_variant_id"] for key, row in (await shop.sets()).items()
                if key in before and row["computed_at"] > before[key]["computed_at"]}  # fmt: skip

    handled = []
    for step in range(1, len(FITMENT) + 1):
        handled.append(await shop.drain())
        assert len(await composed_again()) == step
    assert handled == [len(FITMENT), 1, 1]  # the three requests in one batch, then one follow-up at a time
    assert await shop.drain() == 0
    assert await composed_again() == set(FITMENT)
    assert set(await shop.sets()) == set(before)


async def pending_variants(shop: Shop) -> list[int]:
    async with shop.db.reader.connect() as conn:
        return sorted(await conn.scalars(sa.select(wheel_set_pending.c.vehicle_variant_id)))


async def test_a_tyre_new_to_the_catalogue_joins_the_sets_of_the_variants_taking_its_size(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tyres fit by size, so no fitment change names a new one: the catalogue lists the variants that take
    its size (each once, however many batches name it) and they are composed again, a chunk at a time;
    the other variants' sets stay as they were, and a price change of a tyre lists nothing."""
    monkeypatch.setattr(recompute, "RECOMPOSE_CHUNK", 1)
    before = await shop.sets()
    await shop.apply(tyre("T-205-S4", (205, 55, 16), "summer", wet="A"))
    await shop.apply(tyre("T-205-S5", (205, 55, 16), "summer", wet="A"), tyre("T-195-A2", (195, 65, 15), "all_season"))
    assert await pending_variants(shop) == [GOLF, CLIO]  # the BMW takes neither size
    assert await shop.drain() == 2  # the two batches' pending requests, together: one variant composed
    assert len(await pending_variants(shop)) == 1
    assert await shop.drain() == 1  # the follow-up: the other one
    assert await pending_variants(shop) == []
    assert await shop.drain() == 1  # the chunk was full, so it asked once more: nothing was left
    assert await shop.drain() == 0
    after = await shop.sets()
    golf = {row["tyre_front_article_number"] for row in after.values() if row["vehicle_variant_id"] == GOLF}
    clio = {row["tyre_front_article_number"] for row in after.values() if row["vehicle_variant_id"] == CLIO}
    assert "T-205-S4" in golf, golf  # the best wet grip of the size (T-205-S5 ties, and ranks after it)
    assert "T-195-A2" in clio, clio
    assert {key: row for key, row in after.items() if row["vehicle_variant_id"] == BMW} == {
        key: row for key, row in before.items() if row["vehicle_variant_id"] == BMW
    }
    async with shop.db.reader.connect() as conn:
        for variant_id in (GOLF, CLIO):
            reference = {priced.wheel_set.set_key for priced in await reference_sets(conn, variant_id)}
            assert reference == {key for key, row in after.items() if row["vehicle_variant_id"] == variant_id}
    repriced = tyre("T-205-S4", (205, 55, 16), "summer", wet="A").model_copy(
        update={"version": 2, "list_price": Decimal("120.00")}
    )
    await shop.apply(repriced)
    assert await pending_variants(shop) == []  # a price decides no membership (its sets are recomposed as a component)
