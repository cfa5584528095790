"""Vehicle selector and vehicle → products against the real MariaDB, on a generated catalogue.

The fitment replica is written through its event handler; every lookup answer is compared with the
same question asked in Python of the catalogue rows and the size rules of ``contracts.TyreSizeFitment``;
the lookups' query plans are checked to read indexes, never a table scan.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from contracts import (
    ArticleUpserted,
    AxleFitment,
    Envelope,
    FitmentMapping,
    FitmentMappingChanged,
    TyreExclusion,
    TyreSizeFitment,
    VehicleVariantUpserted,
)
from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk.consumer import Consumer
from integration_sdk.outbox import Outbox
from integration_sdk.partners.catalog import generate_articles
from integration_sdk.testing import serve, truncate_tables, wait_until_ready
from integration_sdk.topology import BULK
from webshop.app import create_app
from webshop.projections import fitment
from webshop.projections.catalog import catalog_row
from webshop.tables import NO_PRICE_KEY, catalog_article
from webshop.vehicles.queries import (
    SizeFit,
    TyrePage,
    axle_query,
    exclusions_query,
    included_tyres_query,
    merge_tyres,
    operator_tyres_query,
    size_fits_query,
    tyre_page,
    wheel_page,
    wheel_score_counts,
)

SPEEDS = "QRSTHVWY"
Row = dict[str, Any]
SIZES = [  # the Golf's axle: OE, an optional size, an alternative, and an operator's include
    TyreSizeFitment(axle="both", width=205, aspect=55, rim_diameter=16, base_score=100, is_original_equipment=True,
                    min_load_index=88, reference_speed_rating="V", reference_run_flat=False),
    TyreSizeFitment(axle="both", width=225, aspect=45, rim_diameter=17, base_score=90, is_original_equipment=False,
                    min_load_index=88, reference_speed_rating="W", reference_run_flat=True),
    TyreSizeFitment(axle="both", width=195, aspect=60, rim_diameter=16, base_score=60, is_original_equipment=False,
                    min_load_index=90, reference_speed_rating="V", reference_run_flat=False),
]  # fmt: skip


def golf() -> VehicleVariantUpserted:
    size = AxleFitment(axle="both", fitment_kind="oe", tyre_width=205, tyre_aspect=55, rim_diameter=16,
                       wheel_width=Decimal("6.5"), wheel_offset=46, load_index=91, speed_rating="V")  # fmt: skip
    return VehicleVariantUpserted(
        vehicle_variant_id=7, make="Volkswagen", model="Golf", generation="VIII", variant_name="1.5 eTSI",
        year_from=2020, engine="1.5 eTSI", body="hatchback", drive="fwd", bolt_count=5, pcd=Decimal("112.0"),
        hub_bore=Decimal("57.1"), offset_min=38, offset_max=50, fastener="bolt", thread="M14x1.5",
        axle_load_front_kg=1100, axle_load_rear_kg=1000, tpms_type="direct", is_staggered=False, fitments=[size],
        version=1,
    )  # fmt: skip


def expected_tyre_score(fit: TyreSizeFitment, row: Row) -> int | None:
    """The contract's rule, as ``TyreSizeFitment`` documents it."""
    speed, reference = SPEEDS.find(row["speed_rating"]) + 1, SPEEDS.find(fit.reference_speed_rating) + 1
    if not fit.min_load_index <= row["load_index"] <= 120 or (speed < reference and row["season"] != "winter"):
        return None
    return (
        fit.base_score - (5 if speed < reference else 0) - (10 if fit.reference_run_flat and not row["run_flat"] else 0)
    )


def sort_key(item: tuple[str, int, Row]) -> tuple[Any, ...]:
    number, score, row = item
    price = row["best_price"] if row["best_price"] is not None else Decimal("99999999.99")
    return -score, price, number


@pytest.fixture(scope="module")
def settings(migrated_islands: dict[str, ServiceSettings]) -> ServiceSettings:
    return migrated_islands["webshop"]


@pytest.fixture(scope="module")
async def world(settings: ServiceSettings) -> dict[str, Any]:
    """A catalogue with availability, the Golf and its fitment (through the replica's handler)."""
    await truncate_tables(settings)
    rng = random.Random(7)
    rows = {}
    for article in generate_articles(rng, 6_000, 1_500, 0):
        event = ArticleUpserted(article_number=article.article_number, article_type=article.article_type,  # type: ignore[arg-type]
                                brand=article.brand, model=article.model, description=article.description[:255],
                                list_price=article.list_price, version=1, **article.specs)  # fmt: skip
        priced = rng.random() > 0.1
        rows[article.article_number] = {**catalog_row(event), "sellable_qty": rng.choice((0, 0, 2, 8)),
                                        "best_price": Decimal(rng.randint(40, 90)) if priced else None}  # fmt: skip
    db = Database.from_settings(settings)
    async with db.writer.begin() as conn:
        for start in range(0, len(rows), 1000):
            await conn.execute(sa.insert(catalog_article), list(rows.values())[start : start + 1000])
        await conn.exec_driver_sql("ANALYZE TABLE catalog_article")
    tyres = [r for r in rows.values() if r["article_type"] == "tyre"]
    wheels = [r for r in rows.values() if r["article_type"] == "wheel" and r["pcd"] == Decimal("112.0")][:60]
    # Exclusions among the cheapest OE-size tyres (they fall in the first reads); two includes, one of a
    # size that does not fit and one that also fits by size (its mapping row's score holds, once).
    oe_size = sorted((r for r in tyres if (r["width"], r["aspect"], r["rim_diameter"]) == (205, 55, 16)
                      and expected_tyre_score(SIZES[0], r) is not None),
                     key=lambda r: (r["best_price"] is None, r["best_price"] or 0, r["article_number"]))  # fmt: skip
    excluded = {r["article_number"] for r in oe_size[:3]}
    included = {next(r["article_number"] for r in tyres if r["rim_diameter"] == 18), oe_size[5]["article_number"]}
    mappings: list[FitmentMapping] = [
        (w["article_number"], "wheel", "both", False, rng.choice((100, 90, 80, 72))) for w in wheels
    ]
    mappings += [(number, "tyre", "both", False, 75) for number in sorted(included)]
    change = FitmentMappingChanged(vehicle_variant_id=7, version=1, replace=True, tyre_sizes=SIZES,
                                   tyre_exclusions=[TyreExclusion(axle="both", article_number=n) for n in excluded],
                                   mappings_upserted=mappings)  # fmt: skip
    consumer = Consumer(settings=settings, queue_class=BULK, handlers=fitment.HANDLERS, sessions=db.sessions,
                        outbox=Outbox(settings))  # fmt: skip
    envelopes = [Envelope.wrap(event, produced_by="vehicle-data", correlation_id="t") for event in (golf(), change)]
    assert await consumer.apply_batch(envelopes) == [True, True]
    await db.dispose()
    return {"rows": rows, "tyres": tyres, "wheels": {m[0]: m[4] for m in mappings if m[1] == "wheel"},
            "excluded": excluded, "included": included}  # fmt: skip


@pytest.fixture(scope="module")
async def client(settings: ServiceSettings, world: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(create_app(settings)) as client:
        assert (await wait_until_ready(client)).status_code == 200
        yield client


async def all_pages(client: httpx.AsyncClient, path: str, limit: int = 7, **params: Any) -> list[Row]:
    items, cursor = [], None
    while True:
        response = await client.get(path, params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        if (cursor := body["next_cursor"]) is None:
            return items


def expected_tyres(world: dict[str, Any], seasons: set[str] | None = None, in_stock: bool = False) -> list[str]:
    found = []
    for row in world["tyres"]:
        if (seasons and row["season"] not in seasons) or (in_stock and row["sellable_qty"] <= 0):
            continue
        if row["article_number"] in world["included"]:
            found.append((row["article_number"], 75, row))
            continue
        for fit in SIZES:
            size = (fit.width, fit.aspect, fit.rim_diameter)
            if (
                size == (row["width"], row["aspect"], row["rim_diameter"])
                and row["article_number"] not in world["excluded"]
            ):
                if (score := expected_tyre_score(fit, row)) is not None:
                    found.append((row["article_number"], score, row))
    return [number for number, _, _ in sorted(found, key=sort_key)]


@pytest.mark.parametrize(
    ("seasons", "in_stock", "limit"),
    [(None, False, 7), (None, False, 2), ({"winter"}, False, 7), ({"summer", "all_season"}, True, 3)],
)
async def test_tyres_that_fit_in_score_then_price_order_over_pages(
    client: httpx.AsyncClient, world: dict[str, Any], seasons: set[str] | None, in_stock: bool, limit: int
) -> None:
    """Pages of 2 put a cursor on nearly every row: inside a score class, among its unpriced tyres, on
    the boundary between classes and sizes."""
    params: dict[str, Any] = {"in_stock": in_stock, **({"season": sorted(seasons)} if seasons else {})}
    items = await all_pages(client, "/api/v1/vehicles/7/tyres", limit, **params)
    expected = expected_tyres(world, seasons, in_stock)
    assert len(expected) > 3 * limit  # several pages
    assert [item["article_number"] for item in items] == expected
    assert not world["excluded"] & set(expected)
    assert len({item["fitment"]["match_score"] for item in items}) >= 3  # several classes and sizes
    assert any(item["availability"]["best_price"] is None for item in items)
    assert all(item["fitment"]["axle"] == "both" and "availability" in item for item in items)


async def test_wheels_of_the_mapping_in_score_then_price_order(
    client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    rows = world["rows"]
    expected = sorted(((n, s, rows[n]) for n, s in world["wheels"].items()), key=sort_key)
    for limit in (7, 2, 100):
        items = await all_pages(client, "/api/v1/vehicles/7/wheels", limit)
        assert [(i["article_number"], i["fitment"]["match_score"]) for i in items] == [(n, s) for n, s, _ in expected]
        # in stock: fewer rows than the scores' counts promise, so more scores are read to fill a page
        in_stock = await all_pages(client, "/api/v1/vehicles/7/wheels", limit, in_stock=True)
        assert [i["article_number"] for i in in_stock] == [n for n, _, r in expected if r["sellable_qty"] > 0]
    assert any(rows[n]["best_price"] is None for n, _, _ in expected)


async def test_the_selector_walks_make_model_year_variant(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/vehicles/makes")).json()["items"] == [{"make": "Volkswagen", "variants": 1}]
    assert (await client.get("/api/v1/vehicles/models", params={"make": "Volkswagen"})).json()["items"] == [
        {"model": "Golf", "variants": 1}
    ]
    years = (await client.get("/api/v1/vehicles/years", params={"make": "Volkswagen", "model": "Golf"})).json()
    assert years["items"][-1] == 2020
    found = await client.get("/api/v1/vehicles", params={"make": "Volkswagen", "model": "Golf", "year": 2021})
    assert [v["vehicle_variant_id"] for v in found.json()["items"]] == [7]
    assert (await client.get("/api/v1/vehicles", params={"q": "golf etsi"})).json()["items"][0]["variant_name"] == (
        "1.5 eTSI"
    )
    assert (await client.get("/api/v1/vehicles", params={"make": "Volkswagen", "year": 2019})).json()["items"] == []
    detail = (await client.get("/api/v1/vehicles/7")).json()
    assert (detail["axles"], detail["fitments"][0]["tyre_width"]) == (["both"], 205)


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/v1/vehicles/99/tyres", 404, "unknown_vehicle"),
        ("/api/v1/vehicles/7/tyres?axle=front", 400, "invalid_filter"),
        ("/api/v1/vehicles/7/wheels?cursor=bm90LWEtY3Vyc29y", 400, "invalid_filter"),
        ("/api/v1/vehicles/7/tyres?season=monsoon", 422, "invalid_request"),
        ("/api/v1/vehicles/7/tyres?limit=500", 422, "invalid_request"),
        ("/api/v1/vehicles/7/wheels?season=winter", 422, "invalid_request"),  # wheels have no season
        ("/api/v1/vehicles/7/tyres?axel=front", 422, "invalid_request"),  # a misspelt filter is not ignored
        ("/api/v1/vehicles/models?make=Lada", 404, "unknown_make"),
        ("/api/v1/vehicles", 400, "invalid_filter"),
    ],
)
async def test_clear_errors(client: httpx.AsyncClient, path: str, status: int, code: str) -> None:
    response = await client.get(path)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text


async def test_a_cursor_of_another_lookup_is_refused(client: httpx.AsyncClient) -> None:
    cursor = (await client.get("/api/v1/vehicles/7/tyres", params={"limit": 2})).json()["next_cursor"]
    response = await client.get("/api/v1/vehicles/7/tyres", params={"limit": 2, "cursor": cursor, "season": "winter"})
    assert response.status_code == 400, response.text


@pytest.fixture(scope="module")
async def engine(settings: ServiceSettings, world: dict[str, Any]) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(settings.db_url, poolclass=sa.NullPool)
    yield engine
    await engine.dispose()


def test_a_page_that_exclusions_left_unproven_is_read_again() -> None:
    """A read cut at its limit may hold more: when dropped rows leave fewer proven rows than wanted, the
    merge says so (and the lookup reads deeper) instead of returning a short or wrong page."""
    price = Decimal("50.00")
    rows = [(0, "A", price), (0, "B", price + 1), (1, "C", price)]

    def page(per_class: int) -> TyrePage:
        return TyrePage([], [(100, True), (95, False)], per_class)

    assert merge_tyres([(page(2), rows)], [], set(), None, 2) == [("A", 100, price, True), ("B", 100, price + 1, True)]
    assert merge_tyres([(page(2), rows)], [], {"A"}, None, 2) is None  # read 0 may have a third row before C
    assert merge_tyres([(page(3), rows)], [], {"A"}, None, 2) == [("B", 100, price + 1, True), ("C", 95, price, False)]
    included = [("C", 75, NO_PRICE_KEY, False)]  # an include's own score replaces its size's score
    assert merge_tyres([(page(3), rows)], included, set(), None, 3)[-1] == ("C", 75, NO_PRICE_KEY, False)  # type: ignore[index]
    # classes of score 95 and below not read yet: only the rows above 95 are known
    assert merge_tyres([(page(3), rows)], [], set(), None, 2, unread=95) == [("A", 100, price, True),
                                                                             ("B", 100, price + 1, True)]  # fmt: skip
    assert merge_tyres([(page(3), rows)], [], set(), None, 3, unread=95) is None


async def plan(engine: AsyncEngine, statement: Any, params: Sequence[Any] | None = None) -> list[Row]:
    """EXPLAIN of a statement (compiled with its literal values) or of SQL text with its parameters."""
    if not isinstance(statement, str):
        sql = str(statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
        statement, params = sql.replace("%", "%%"), None
    async with engine.connect() as conn:
        return [dict(row._mapping) for row in await conn.exec_driver_sql("EXPLAIN " + statement, params)]


def assert_indexed(
    plan: list[Row],
    keys: dict[str, set[str]],
    covered: set[str] = frozenset(),
    sorts: bool = False,  # type: ignore[assignment]
) -> int:
    """Every table access a range/ref/eq_ref of one of the expected indexes, never a scan (nor a sort
    unless ``sorts``); the number of accesses (0 when the range dive found the index range empty)."""
    steps = [step for step in plan if step["table"] and not step["table"].startswith("<")]
    if not steps:
        assert [step["Extra"] for step in plan] == ["Impossible WHERE noticed after reading const tables"], plan
    for step in steps:
        assert step["type"] in ("range", "ref", "eq_ref", "const"), steps
        assert step["key"] in keys[step["table"]], steps
        assert sorts or "filesort" not in (step["Extra"] or ""), steps
        if step["table"] in covered:
            assert "Using index" in (step["Extra"] or ""), steps  # covered: no table row read
    return len(steps)


async def test_lookups_read_a_page_from_indexes(engine: AsyncEngine, world: dict[str, Any]) -> None:
    """The size rows, exclusions and includes by primary key; each score class of each size one range of
    the tyre lookup index in price key order (priced, then unpriced), covered; wheels: score counts and
    the chosen scores' rows from the mapping's vehicle index, prices by primary key."""
    async with engine.connect() as conn:
        sizes = [SizeFit(*row) for row in await conn.execute(size_fits_query(7, "both"))]
    assert len(sizes) == len(SIZES)
    lookup_index = {"catalog_article": {"idx_catalog_article_tyre_lookup"}}
    for statement in (size_fits_query(7, "both"), exclusions_query(7, "both")):
        assert assert_indexed(await plan(engine, statement), {"vehicle_tyre_fitment": {"PRIMARY"},
                                                              "vehicle_tyre_exclusion": {"PRIMARY"}})  # fmt: skip
    mapping_keys = {"product_vehicle_mappings": {"idx_pvm_vehicle_type_score"},
                    "catalog_article": {"PRIMARY"}}  # fmt: skip
    assert assert_indexed(await plan(engine, included_tyres_query(7, "both", [], False)), mapping_keys) == 2
    decided = {**mapping_keys, "vehicle_tyre_exclusion": {"PRIMARY"}}
    assert assert_indexed(await plan(engine, operator_tyres_query(7, "both", ["winter"], True)), decided) == 3
    axle = {**decided, "vehicle_tyre_fitment": {"PRIMARY"}}  # the size rows and the decisions in one read
    assert assert_indexed(await plan(engine, *axle_query(7, "both", ["winter"], True)), axle) == 4
    cursors = [None, (95, Decimal("60.00"), "0"), (90, NO_PRICE_KEY, "0")]
    for after, seasons, in_stock in zip(
        cursors, ([], ["winter"], ["summer", "all_season"]), (False, True, True), strict=True
    ):
        page = tyre_page(sizes, seasons, in_stock, after, 25, (0, 100))
        assert page is not None
        assert len(page.reads) >= 3
        accesses = [assert_indexed(await plan(engine, sql, tuple(params)), lookup_index, {"catalog_article"})
                    for sql, params in page.parts]  # fmt: skip
        assert sum(accesses) >= 2  # reads that find rows (some classes are empty in the test catalogue)
        assert assert_indexed(await plan(engine, page.sql, page.params), lookup_index, {"catalog_article"})
    assert assert_indexed(await plan(engine, *wheel_score_counts(7, "both", 90)), mapping_keys) == 1
    for after in (None, (90, Decimal("60.00"), "0")):  # the rows of just the chosen scores, sorted by price
        wheels = wheel_page(7, "both", [90, 80], True, after, 25)
        assert assert_indexed(await plan(engine, *wheels), mapping_keys, sorts=True) == 2
