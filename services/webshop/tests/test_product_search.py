"""Product search API against the real MariaDB and Redis, on ~21k generated catalogue rows.

Every answer is compared with the same question asked of the generated rows in Python: filters, sort
orders, keyset pages, facet counts. The query plans of the hot search shapes are checked to use the
search indexes (migration webshop_0004) rather than a table scan.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from foundation.cache import create_redis
from foundation.prepared import Prepared
from foundation.settings import ServiceSettings
from integration_sdk.partners.catalog import Article, generate_articles
from integration_sdk.partners.simulators.server import free_port
from integration_sdk.testing import serve, truncate_tables, wait_until_ready
from webshop.app import create_app
from webshop.search.cache import bump_catalog_generation, cached_facets, generation_key
from webshop.search.filters import SearchParams, checked
from webshop.search.queries import (
    SPEC_COLUMNS,
    facet_query,
    lookup_query,
    page_segments,
    sort_key,
)
from webshop.settings import WebshopSettings
from webshop.tables import catalog_article

Row = dict[str, Any]
TYRES, WHEELS, TPMS = 16_000, 4_600, 650
SPEEDS = "QRSTHVWY"
ALL_SPEC_COLUMNS = [name for names in SPEC_COLUMNS.values() for name in names]
SEARCH_INDEXES = {index.name for index in catalog_article.indexes}


def catalog_row(article: Article, rng: random.Random) -> Row:
    """The projection row of a generated article, with availability chosen here (ties on purpose)."""
    row: Row = dict.fromkeys(ALL_SPEC_COLUMNS)
    row.update(article.specs)
    priced = rng.random() > 0.12
    row.update(
        article_number=article.article_number, article_type=article.article_type, ean=article.ean,
        brand=article.brand, model=article.model, description=article.description, list_price=article.list_price,
        version=1, updated_at=datetime(2026, 11, 25),
        sellable_qty=0 if rng.random() < 0.35 else rng.randint(1, 40),
        # whole euros: many equal prices, so the tie-break on article_number is exercised
        best_price=(article.list_price * Decimal(rng.choice(("0.6", "0.7", "0.8")))).quantize(Decimal(1))
        if priced else None,
        next_delivery_date=date(2026, 12, 1) + timedelta(days=rng.randint(0, 20)) if rng.random() < 0.5 else None,
    )  # fmt: skip
    return row


@pytest.fixture(scope="module")
def settings(migrated_islands: dict[str, ServiceSettings]) -> WebshopSettings:
    webshop = migrated_islands["webshop"]
    assert isinstance(webshop, WebshopSettings)
    return webshop


@pytest.fixture(scope="module")
async def engine(settings: WebshopSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(settings.db_url, poolclass=sa.NullPool)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
async def redis(settings: WebshopSettings) -> AsyncIterator[Redis]:
    client = create_redis(settings)
    yield client
    await client.delete(generation_key(settings))
    await client.aclose()


@pytest.fixture(scope="module")
async def catalog(settings: WebshopSettings, engine: AsyncEngine, redis: Redis) -> list[Row]:
    """catalog_article filled from the deterministic generator (multi-row inserts), analysed for the optimiser."""
    rng = random.Random(20261125)
    rows = [catalog_row(article, rng) for article in generate_articles(rng, TYRES, WHEELS, TPMS)]
    await truncate_tables(settings, "catalog_article")
    async with engine.begin() as conn:
        for start in range(0, len(rows), 1000):
            await conn.execute(sa.insert(catalog_article).values(rows[start : start + 1000]))
    async with engine.connect() as conn:
        await conn.exec_driver_sql("ANALYZE TABLE catalog_article")
    await bump_catalog_generation(redis, settings)  # answers cached from earlier rows are gone
    return rows


@pytest.fixture(scope="module")
async def client(settings: WebshopSettings, catalog: list[Row]) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(create_app(settings)) as client:
        assert (await wait_until_ready(client)).status_code == 200
        yield client


# --- the same questions in Python ---------------------------------------------------------------


def q_matches(row: Row, q: str) -> bool:
    text = " ".join(q.split()).casefold()
    brand, model = row["brand"].casefold(), row["model"].casefold()
    return brand.startswith(text) or any(
        brand == text[:i] and model.startswith(text[i + 1 :]) for i, char in enumerate(text) if char == " "
    )


PREDICATES: dict[str, Callable[[Row, Any], bool]] = {
    "type": lambda r, v: r["article_type"] == v,
    "q": q_matches,
    "brand": lambda r, v: r["brand"] in v,
    "in_stock": lambda r, v: (r["sellable_qty"] > 0) == v,
    "diameter": lambda r, v: (r["rim_diameter"] if r["article_type"] == "tyre" else r["wheel_diameter"]) == v,
    "width": lambda r, v: r["width"] == v,
    "aspect": lambda r, v: r["aspect"] == v,
    "season": lambda r, v: r["season"] in v,
    "min_load_index": lambda r, v: r["load_index"] >= v,
    "min_speed_rating": lambda r, v: SPEEDS.index(r["speed_rating"]) >= SPEEDS.index(v),
    "run_flat": lambda r, v: r["run_flat"] == v,
    "xl": lambda r, v: r["xl"] == v,
    "three_pmsf": lambda r, v: r["three_pmsf"] == v,
    "max_eu_fuel": lambda r, v: r["eu_fuel"] <= v,
    "max_eu_wet": lambda r, v: r["eu_wet"] <= v,
    "max_noise_db": lambda r, v: r["eu_noise_db"] <= v,
    "bolt_count": lambda r, v: r["bolt_count"] == v,
    "pcd": lambda r, v: r["pcd"] == Decimal(v),
    "wheel_width": lambda r, v: r["wheel_width"] == Decimal(v),
    "min_offset": lambda r, v: r["offset"] >= v,
    "max_offset": lambda r, v: r["offset"] <= v,
    "min_center_bore": lambda r, v: r["center_bore"] >= Decimal(v),
    "material": lambda r, v: r["material"] == v,
    "make": lambda r, v: v in r["compatible_makes"],
}


def expected(rows: list[Row], filters: dict[str, Any]) -> list[Row]:
    return [row for row in rows if all(PREDICATES[name](row, value) for name, value in filters.items())]


def expected_order(rows: list[Row], sort: str) -> list[str]:
    if sort == "availability":
        ordered = sorted(rows, key=lambda r: (r["sellable_qty"], r["article_number"]), reverse=True)
    elif sort == "brand":
        ordered = sorted(rows, key=lambda r: (r["brand"].casefold(), r["model"].casefold(), r["article_number"]))
    else:
        priced = sorted((r for r in rows if r["best_price"] is not None),
                        key=lambda r: (r["best_price"], r["article_number"]), reverse=sort == "-price")  # fmt: skip
        unpriced = sorted((r for r in rows if r["best_price"] is None),
                          key=lambda r: r["article_number"], reverse=sort == "-price")  # fmt: skip
        ordered = priced + unpriced
    return [r["article_number"] for r in ordered]


def query(filters: dict[str, Any], **paging: Any) -> dict[str, Any]:
    """HTTP query parameters (lists repeat the parameter; booleans as true/false)."""
    return {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in {**filters, **paging}.items()}


async def walk(client: httpx.AsyncClient, filters: dict[str, Any], sort: str, limit: int) -> list[str]:
    """Every page of a search, following next_cursor; article numbers in the order served."""
    served: list[str] = []
    cursor: str | None = None
    for _ in range(10_000):
        params = query(filters, sort=sort, limit=limit, facets=False, **({"cursor": cursor} if cursor else {}))
        response = await client.get("/api/v1/products", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= limit
        served += [item["article_number"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return served
        assert len(body["items"]) == limit  # only the last page may be short
    raise AssertionError("pagination did not end")


# --- filters, sorts, pages ----------------------------------------------------------------------

FILTER_SETS: list[dict[str, Any]] = [
    {"type": "tyre", "width": 205},
    {"type": "tyre", "width": 205, "aspect": 55, "diameter": 16},
    {"type": "tyre", "season": ["winter"]},
    {"type": "tyre", "diameter": 17, "season": ["summer", "all_season"]},
    {"type": "tyre", "brand": ["Michelin", "Pirelli"]},
    {"type": "tyre", "min_load_index": 95},
    {"type": "tyre", "min_speed_rating": "W"},
    {"type": "tyre", "run_flat": True},
    {"type": "tyre", "xl": False, "diameter": 18},
    {"type": "tyre", "three_pmsf": True, "season": ["all_season"]},
    {"type": "tyre", "max_eu_fuel": "B"},
    {"type": "tyre", "max_eu_wet": "A"},
    {"type": "tyre", "max_noise_db": 68},
    {"type": "tyre", "in_stock": True, "width": 225},
    {"type": "tyre", "in_stock": False, "width": 225},
    {"type": "tyre", "width": 225, "aspect": 45, "diameter": 17, "season": ["summer"], "brand": ["Hankook", "Toyo"],
     "in_stock": True, "max_eu_wet": "B"},
    {"type": "wheel", "bolt_count": 4},
    {"type": "wheel", "pcd": "114.3"},
    {"type": "wheel", "diameter": 18},
    {"type": "wheel", "wheel_width": "7.5"},
    {"type": "wheel", "min_offset": 40, "max_offset": 45},
    {"type": "wheel", "min_center_bore": "66.6"},
    {"type": "wheel", "material": "steel"},
    {"type": "wheel", "pcd": "112.0", "diameter": 18, "in_stock": True},
    {"type": "tpms", "make": "Tesla"},
    {"q": "Mich"},
    {"q": "michelin  pil"},
    {"q": "OZ R"},
    {"type": "wheel", "q": "b"},
    {"type": "tyre", "q": "Bridgestone Blizzak", "diameter": 16},
]  # fmt: skip


@pytest.mark.parametrize("filters", FILTER_SETS, ids=lambda f: "&".join(f"{k}={v}" for k, v in f.items()))
async def test_each_filter_narrows_to_exactly_the_matching_articles(
    client: httpx.AsyncClient, catalog: list[Row], filters: dict[str, Any]
) -> None:
    matching = expected(catalog, filters)
    broader = expected(catalog, {k: v for k, v in filters.items() if k in ("type",)}) if "type" in filters else catalog
    assert 0 < len(matching) < len(broader), "the test data must make this filter narrow something"
    served = await walk(client, filters, "availability", 100)
    assert sorted(served) == sorted(r["article_number"] for r in matching)


SORTED_SETS: list[dict[str, Any]] = [
    {"type": "wheel", "pcd": "112.0"},
    {"type": "tyre", "width": 225, "aspect": 45, "diameter": 17, "season": ["summer", "winter"]},
    {"type": "tyre", "q": "Du", "in_stock": True},
]


@pytest.mark.parametrize("sort", ["availability", "price", "-price", "brand"])
@pytest.mark.parametrize("filters", SORTED_SETS, ids=["wheel-pcd", "tyre-size", "tyre-prefix"])
async def test_keyset_pages_walk_every_result_once_in_sort_order(
    client: httpx.AsyncClient, catalog: list[Row], filters: dict[str, Any], sort: str
) -> None:
    matching = expected(catalog, filters)
    assert len(matching) > 40
    if sort in ("price", "-price"):
        assert any(r["best_price"] is None for r in matching), "pages must cross from priced to unpriced rows"
    served = await walk(client, filters, sort, 13)
    assert len(served) == len(set(served))
    assert served == expected_order(matching, sort)


async def test_default_sort_is_availability_and_items_carry_their_type_specs(
    client: httpx.AsyncClient, catalog: list[Row]
) -> None:
    response = await client.get("/api/v1/products", params={"type": "wheel", "diameter": 19, "limit": 5})
    body = response.json()
    wheels = expected(catalog, {"type": "wheel", "diameter": 19})
    assert [i["article_number"] for i in body["items"]] == expected_order(wheels, "availability")[:5]
    item = body["items"][0]
    row = next(r for r in catalog if r["article_number"] == item["article_number"])
    assert set(item["specs"]) == set(SPEC_COLUMNS["wheel"])
    assert Decimal(item["specs"]["pcd"]) == row["pcd"]
    assert item["availability"] == {
        "sellable_qty": row["sellable_qty"],
        "in_stock": row["sellable_qty"] > 0,
        "best_price": None if row["best_price"] is None else f"{row['best_price']:.2f}",
        "next_delivery_date": None if row["next_delivery_date"] is None else row["next_delivery_date"].isoformat(),
    }
    assert (item["brand"], item["model"], item["ean"], Decimal(item["list_price"])) == (
        row["brand"], row["model"], row["ean"], row["list_price"],
    )  # fmt: skip


# --- facets -------------------------------------------------------------------------------------


def expected_facets(rows: list[Row], with_season: bool) -> dict[str, Any]:
    brands = Counter(r["brand"] for r in rows)
    top = sorted(brands.items(), key=lambda item: (-item[1], item[0].casefold()))[:30]
    in_stock = sum(1 for r in rows if r["sellable_qty"] > 0)
    seasons = Counter(r["season"] for r in rows if r["season"] is not None)
    return {
        "total": len(rows),
        "brand": [{"value": b, "count": n} for b, n in top],
        "season": [{"value": s, "count": n} for s, n in sorted(seasons.items())] if with_season else None,
        "availability": {"in_stock": in_stock, "out_of_stock": len(rows) - in_stock},
    }


@pytest.mark.parametrize(
    "filters",
    [
        {"type": "tyre"},
        {"type": "tyre", "width": 205, "aspect": 55, "diameter": 16, "in_stock": True},
        {"type": "wheel", "pcd": "108.0"},
        {"q": "B"},
    ],
    ids=["tyres", "tyre-size-in-stock", "wheel-pcd", "prefix"],
)
async def test_facets_count_the_whole_filter_set(
    client: httpx.AsyncClient, catalog: list[Row], filters: dict[str, Any]
) -> None:
    matching = expected(catalog, filters)
    first = (await client.get("/api/v1/products", params=query(filters, limit=5))).json()
    with_season = filters.get("type") != "wheel"
    assert first["facets"] == expected_facets(matching, with_season)
    second = (await client.get("/api/v1/products", params=query(filters, limit=5, cursor=first["next_cursor"]))).json()
    assert second["facets"] is None  # by default only on the first page
    asked = query(filters, limit=5, cursor=first["next_cursor"], facets=True)
    assert (await client.get("/api/v1/products", params=asked)).json()["facets"] == first["facets"]
    assert (await client.get("/api/v1/products", params=query(filters, facets=False))).json()["facets"] is None


async def test_cached_facets_follow_the_catalogue_generation(
    client: httpx.AsyncClient, catalog: list[Row], engine: AsyncEngine, redis: Redis, settings: WebshopSettings
) -> None:
    filters = {"type": "tpms", "brand": ["Huf"]}
    huf = expected(catalog, filters)
    in_stock = [r["article_number"] for r in huf if r["sellable_qty"] > 0]
    assert in_stock

    async def facets() -> dict[str, Any]:
        response = await client.get("/api/v1/products", params=query(filters, limit=1))
        result: dict[str, Any] = response.json()["facets"]
        return result

    before = await facets()
    assert before["availability"] == {"in_stock": len(in_stock), "out_of_stock": len(huf) - len(in_stock)}
    update = sa.update(catalog_article).where(catalog_article.c.article_number.in_(in_stock))
    try:
        async with engine.begin() as conn:  # what a stock event does, without its bump yet
            await conn.execute(update.values(sellable_qty=0))
        assert await facets() == before  # served from the cache
        await bump_catalog_generation(redis, settings)
        assert (await facets())["availability"] == {"in_stock": 0, "out_of_stock": len(huf)}
        assert int(await redis.get(f"{settings.redis_key_prefix}webshop:catalog-generation") or 0) >= 2
    finally:
        async with engine.begin() as conn:
            for number in in_stock:
                qty = next(r["sellable_qty"] for r in huf if r["article_number"] == number)
                await conn.execute(update.where(catalog_article.c.article_number == number).values(sellable_qty=qty))
        await bump_catalog_generation(redis, settings)
    assert await facets() == before


async def test_facets_are_counted_while_redis_is_down(settings: WebshopSettings, redis: Redis) -> None:
    counted: list[int] = []

    async def count() -> dict[str, Any]:
        counted.append(1)
        return {"total": 1}

    nobody = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1)  # a Redis that is down
    try:
        assert orjson.loads(await cached_facets(nobody, settings, "down", count)) == {"total": 1}
    finally:
        await nobody.aclose()
    assert counted == [1]
    # with Redis back, a miss is counted and stored under the current generation, then served as stored
    await bump_catalog_generation(redis, settings)
    first = await cached_facets(redis, settings, "back", count)
    assert await cached_facets(redis, settings, "back", count) == first
    assert counted == [1, 1]


# --- lookup and detail --------------------------------------------------------------------------


async def test_lookup_by_ean_or_article_number_and_detail(client: httpx.AsyncClient, catalog: list[Row]) -> None:
    tyre = catalog[123]
    by_ean = await client.get("/api/v1/products/lookup", params={"code": tyre["ean"]})
    by_number = await client.get("/api/v1/products/lookup", params={"code": f" {tyre['article_number']} "})
    detail = await client.get(f"/api/v1/products/{tyre['article_number']}")
    assert by_ean.status_code == by_number.status_code == detail.status_code == 200
    assert by_ean.json() == by_number.json() == detail.json()
    body = detail.json()
    assert body["article_number"] == tyre["article_number"]
    assert body["type"] == "tyre"
    assert body["description"] == tyre["description"]
    assert body["specs"] == {name: tyre[name] for name in SPEC_COLUMNS["tyre"]}
    tpms = next(r for r in catalog if r["article_type"] == "tpms")
    sensor = (await client.get(f"/api/v1/products/{tpms['article_number']}")).json()
    assert sensor["specs"]["compatible_makes"] == tpms["compatible_makes"]


async def test_unknown_products_are_404_with_a_clear_message(client: httpx.AsyncClient, catalog: list[Row]) -> None:
    detail = await client.get("/api/v1/products/NOPE0001")
    assert detail.status_code == 404
    assert detail.json()["error"]["code"] == "not_found"
    assert "NOPE0001" in detail.json()["error"]["message"]
    lookup = await client.get("/api/v1/products/lookup", params={"code": "5400000000000"})
    assert lookup.status_code == 404
    assert "5400000000000" in lookup.json()["error"]["message"]
    assert (await client.get("/api/v1/products/lookup")).status_code == 422


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"width": 205}, "type"),
        ({"type": "wheel", "width": 205}, "width"),
        ({"type": "tyre", "pcd": "112"}, "pcd"),
        ({"type": "tpms", "diameter": 16}, "diameter"),
        ({"q": "Mich", "season": "winter"}, "season"),
        ({"type": "wheel", "min_offset": 50, "max_offset": 40}, "min_offset"),
        ({"type": "tyre", "sort": "cheapest"}, "sort"),
        ({"type": "tyre", "cursor": "not-a-cursor"}, "cursor"),
        ({"type": "tyre", "cursor": "eyJmIjoxfQ"}, "cursor"),
    ],
)
async def test_filters_that_make_no_sense_are_400_naming_the_field(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    response = await client.get("/api/v1/products", params=params)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_filter"
    assert field in error["message"]
    assert error["details"][0]["field"] == field
    assert error["details"][0]["problem"]


async def test_a_cursor_only_continues_its_own_search(client: httpx.AsyncClient, catalog: list[Row]) -> None:
    first = (await client.get("/api/v1/products", params={"type": "tyre", "width": 205, "limit": 2})).json()
    other_filter = {"type": "tyre", "width": 225, "limit": 2, "cursor": first["next_cursor"]}
    other_sort = {"type": "tyre", "width": 205, "limit": 2, "sort": "price", "cursor": first["next_cursor"]}
    for params in (other_filter, other_sort):
        response = await client.get("/api/v1/products", params=params)
        assert response.status_code == 400
        assert response.json()["error"]["details"][0]["field"] == "cursor"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"type": "tyre", "width": "wide"}, "width"),
        ({"type": "tyre", "limit": 0}, "limit"),
        ({"type": "tyre", "limit": 101}, "limit"),
        ({"type": "tyre", "season": "spring"}, "season"),
        ({"type": "boat"}, "type"),
        ({"type": "tyre", "min_speed_rating": "Z"}, "min_speed_rating"),
        ({"type": "wheel", "pcd": "112.05"}, "pcd"),
        ({"type": "tyre", "colour": "red"}, "colour"),
    ],
)
async def test_badly_typed_parameters_are_422(client: httpx.AsyncClient, params: dict[str, Any], field: str) -> None:
    response = await client.get("/api/v1/products", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert any(d["field"].startswith(field) for d in response.json()["error"]["details"]), response.text


# --- query plans --------------------------------------------------------------------------------

SIZE = {"type": "tyre", "width": 205, "aspect": 55, "diameter": 16}
PLANS: list[tuple[str, dict[str, Any], str, str | None, bool]] = [
    # (what, filters, sort, index expected, read in index order: no filesort). Facets of these use an index too.
    ("tyre size+season by availability", {**SIZE, "season": ["summer"]}, "availability", "tyre_size_qty", True),
    ("tyre size, any season, in stock", {**SIZE, "in_stock": True}, "availability", "tyre_size_qty", True),
    ("tyre size+seasons by price", {**SIZE, "season": ["winter", "all_season"]}, "price", "tyre_size_price", True),
    ("tyre size+season by -price", {**SIZE, "season": ["summer"]}, "-price", "tyre_size_price", True),
    ("wheel pcd+diameter", {"type": "wheel", "pcd": "112.0", "diameter": 18}, "availability", "wheel_size_qty", True),
    ("wheel size by price", {"type": "wheel", "pcd": "112.0", "diameter": 18}, "price", "wheel_size_price", True),
    # pcd alone: a range of either wheel index (both lead with pcd), then a sort whichever it is
    ("wheel pcd by availability", {"type": "wheel", "pcd": "114.3"}, "availability", None, False),
    ("tpms by make", {"type": "tpms", "make": "Tesla"}, "availability", "type_qty", True),
    ("brand prefix", {"q": "Mich"}, "brand", "brand_model", True),
    ("brand and model prefix", {"type": "tyre", "q": "Michelin Pilot"}, "brand", "brand_model", True),
]
# Whole-type browsing: the page reads the type index in order; its facets count most of the table (a
# scan is right there, and the facet cache is what keeps it off the hot path).
BROWSE: list[tuple[str, dict[str, Any], str, str | None, bool]] = [
    ("browse wheels", {"type": "wheel"}, "availability", "type_qty", True),
    ("browse tyres", {"type": "tyre"}, "availability", "type_qty", True),
    ("browse tyres by price", {"type": "tyre"}, "price", "type_price", True),
    ("brand filter by brand", {"type": "tyre", "brand": ["Michelin", "Pirelli"]}, "brand", "brand_model", True),
]  # fmt: skip


async def explain(engine: AsyncEngine, read: Prepared) -> list[Row]:
    """Plain EXPLAIN rows of a read, with the parameters the API sends."""
    sql, parameters = read
    async with engine.connect() as conn:
        result = await conn.exec_driver_sql("EXPLAIN " + sql, parameters)
        return [dict(row._mapping) for row in result]


def assert_uses_search_index(plan: list[Row], index: str | None, ordered: bool, what: str) -> None:
    accesses = [step for step in plan if step["table"] == "catalog_article"]
    assert accesses, (what, plan)
    for step in accesses:
        assert step["type"] != "ALL", (what, plan)
        used = set((step["key"] or "").split(","))
        assert used != {""}, (what, plan)
        assert used <= SEARCH_INDEXES | {"PRIMARY"}, (what, plan)
        if index is not None:
            assert f"idx_catalog_article_{index}" in used, (what, plan)
        if ordered:
            assert "filesort" not in (step["Extra"] or ""), (what, plan)


@pytest.mark.parametrize(
    ("what", "filters", "sort", "index", "ordered"), PLANS + BROWSE, ids=[p[0] for p in PLANS + BROWSE]
)
async def test_search_queries_read_a_search_index_not_the_table(
    engine: AsyncEngine,
    catalog: list[Row],
    what: str,
    filters: dict[str, Any],
    sort: str,
    index: str | None,
    ordered: bool,
) -> None:
    assert len(catalog) >= 20_000
    params = checked(SearchParams.model_validate({**filters, "sort": sort}))
    first_page = page_segments(params, None)
    for segment in first_page:
        assert_uses_search_index(await explain(engine, segment.read(25)), index, ordered, what)
    # a later page: the keyset position is a range on the same index
    async with engine.connect() as conn:
        rows = (await conn.exec_driver_sql(*first_page[0].read(25))).all()
    for segment in page_segments(params, sort_key(params, rows[-1])):
        assert_uses_search_index(await explain(engine, segment.read(25)), index, ordered, what + ", page 2")
    if what in {plan[0] for plan in PLANS}:  # facets of a narrow search count through an index too
        assert_uses_search_index(await explain(engine, facet_query(params)), None, False, what + ", facets")


async def test_lookups_use_the_primary_key_or_the_ean_index(engine: AsyncEngine, catalog: list[Row]) -> None:
    for code in (catalog[5]["ean"], catalog[5]["article_number"]):
        plan = await explain(engine, lookup_query(code))
        assert all(step["type"] not in ("ALL", "index") for step in plan), plan
    assert "idx_catalog_article_ean" in (await explain(engine, lookup_query(catalog[5]["ean"])))[0]["key"]


def test_openapi_documents_every_search_parameter() -> None:
    operation = create_app(WebshopSettings()).openapi()["paths"]["/api/v1/products"]["get"]
    documented = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert set(documented) == set(SearchParams.model_fields)
    assert documented["season"]["schema"]["type"] == "array"  # repeatable: ?season=winter&season=all_season
