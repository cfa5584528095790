"""Reconcile and rebuild of the stock projection against stock-import's real API and aggregates.

stock-import is reached only through what it publishes: its island descriptor's app factory (served
in-process) and its demo loader, which imports supplier feeds through ``import_feed``. Importing its
package here would break the architecture gate (no island imports another island).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from foundation.bulk import utc_now
from foundation.db import Database
from foundation.island import load
from foundation.progress import NO_PROGRESS
from foundation.settings import ServiceSettings
from integration_sdk.outbox import APPLIED_VERSION
from integration_sdk.testing import ISLANDS, serve, truncate_tables, wait_until_ready
from webshop import cli
from webshop.projections.stock_maintenance import StockSource, StockSourceError, rebuild, reconcile
from webshop.settings import WebshopSettings
from webshop.tables import (
    article_availability_projection,
    catalog_article,
    projection_job_checkpoint,
    wheel_set_component_index,
    wheel_set_projection,
)

STOCK_IMPORT = ISLANDS["stock-import"]
ETA = utc_now().date() + timedelta(days=5)
ARTICLES = [f"ART-{n:03d}" for n in range(1, 26)]  # 25 aggregates: pages of 10 give 10 + 10 + 5
LONG_AGO = datetime(2020, 1, 1)
MAPPING = {"format": "csv", "delimiter": ",", "columns": {"article_number": "article", "quantity": "qty",
                                                          "price": "price", "delivery_date": "eta"}}  # fmt: skip


def feed_line(n: int, number: str) -> str:
    return f"{number},{n % 7},{40 + n}.50,{ETA.isoformat() if n % 3 == 0 else ''}\n"


@pytest.fixture
async def stock_source(migrated_islands: dict[str, ServiceSettings], tmp_path: Path) -> AsyncIterator[StockSource]:
    """stock-import filled from one supplier feed (through its demo loader) and served in-process."""
    base = migrated_islands["stock-import"]
    await truncate_tables(base)
    settings = base.model_copy(update={"feed_store_dir": tmp_path / "store", "feed_drop_dir": tmp_path / "drop"})
    (tmp_path / "partners" / "suppliers" / "feeds").mkdir(parents=True)
    suppliers = [{"supplier_id": "S1", "name": "Any quantity", "min_order_qty": 1, "mapping": MAPPING}]
    (tmp_path / "partners" / "suppliers" / "suppliers.json").write_text(json.dumps(suppliers))
    lines = "".join(feed_line(n, number) for n, number in enumerate(ARTICLES, 1))
    (tmp_path / "partners" / "suppliers" / "feeds" / "S1.csv").write_text("article,qty,price,eta\n" + lines)
    loaded = await load(STOCK_IMPORT.demo_loader or "")(settings, tmp_path / "partners", NO_PROGRESS)
    assert loaded["offers"] == len(ARTICLES)
    async with serve(load(STOCK_IMPORT.app_factory)(settings)) as client:
        # Ready means its broker connection is up: stopping the app while it is still connecting leaks a task.
        assert (await wait_until_ready(client)).status_code == 200
        webshop = migrated_islands["webshop"]
        assert isinstance(webshop, WebshopSettings)
        yield StockSource.from_settings(webshop, client)


@pytest.fixture
async def db(migrated_islands: dict[str, ServiceSettings]) -> AsyncIterator[Database]:
    settings = migrated_islands["webshop"]
    await truncate_tables(settings)
    database = Database.from_settings(settings)
    yield database
    await database.dispose()


async def truth(source: StockSource) -> dict[str, tuple[Any, ...]]:
    """stock-import's aggregates: (qty, price, delivery date) per article."""
    return {a.article_number: a.availability() async for page in source.pages() for a in page.items}


async def projection(db: Database) -> dict[str, tuple[Any, ...]]:
    table = article_availability_projection
    async with db.reader.connect() as conn:
        rows = await conn.execute(sa.select(table.c.article_number, table.c.sellable_qty, table.c.best_price,
                                            table.c.next_delivery_date))  # fmt: skip
        return {row[0]: tuple(row[1:]) for row in rows}


async def execute(db: Database, *statements: Any) -> None:
    async with db.sessions.begin() as session:
        for statement in statements:
            await session.execute(statement)


def catalogue_row(number: str) -> dict[str, Any]:
    return {"article_number": number, "article_type": "tyre", "brand": "Nokian", "model": "WR", "description": "d",
            "list_price": Decimal("99.00"), "version": 1, "updated_at": utc_now()}  # fmt: skip


async def test_reconcile_fixes_an_empty_projection_then_finds_nothing(db: Database, stock_source: StockSource) -> None:
    expected = await truth(stock_source)
    assert expected["ART-003"] == (3, Decimal("43.50"), ETA)
    assert expected["ART-001"] == (1, Decimal("41.50"), None)

    first = await reconcile(db, stock_source, page_size=10)
    assert (first.checked, first.missing, first.differing, first.fixed, first.pages) == (25, 25, 0, 25, 3)
    assert await projection(db) == expected
    async with db.reader.connect() as conn:
        versions = dict((await conn.execute(sa.select(APPLIED_VERSION.c.aggregate_id, APPLIED_VERSION.c.version)
                                            .where(APPLIED_VERSION.c.stream == "stock"))).all())  # fmt: skip
        stored = (await conn.execute(sa.select(projection_job_checkpoint)
                                     .where(projection_job_checkpoint.c.job_name == first.job_name))).one()  # fmt: skip
    assert versions == dict.fromkeys(ARTICLES, 1)
    assert stored.scope_key == "all"
    assert stored.last_success_batch_id == "reconcile"
    assert json.loads(stored.last_success_cursor) == first.counts()

    second = await reconcile(db, stock_source, since=datetime(2000, 1, 1))
    assert (second.checked, second.missing, second.differing, second.fixed) == (25, 0, 0, 0)


async def test_reconcile_finds_exactly_the_drift_and_the_catalogue_follows(
    db: Database, stock_source: StockSource
) -> None:
    table, catalogue = article_availability_projection, catalog_article
    await execute(db, sa.insert(catalogue).values([catalogue_row("ART-004"), catalogue_row("ART-005")]))
    await reconcile(db, stock_source)
    expected = await truth(stock_source)

    await execute(
        db,
        sa.update(table).where(table.c.article_number == "ART-004").values(sellable_qty=999),
        sa.update(catalogue).where(catalogue.c.article_number == "ART-004").values(sellable_qty=999),
        sa.delete(table).where(table.c.article_number == "ART-005"),
        sa.update(catalogue).where(catalogue.c.article_number == "ART-005").values(sellable_qty=0, best_price=None),
    )
    report = await reconcile(db, stock_source)
    assert (report.checked, report.missing, report.differing, report.fixed) == (25, 1, 1, 2)
    assert await projection(db) == expected
    async with db.reader.connect() as conn:
        copies = await conn.execute(sa.select(catalogue.c.article_number, catalogue.c.sellable_qty,
                                              catalogue.c.best_price, catalogue.c.next_delivery_date))  # fmt: skip
        assert {row[0]: tuple(row[1:]) for row in copies} == {n: expected[n] for n in ("ART-004", "ART-005")}
        marker = await conn.scalar(sa.select(table.c.source_batch_id).where(table.c.article_number == "ART-005"))
    assert marker == "reconcile"


async def test_reconcile_never_overwrites_a_newer_applied_version(db: Database, stock_source: StockSource) -> None:
    table = article_availability_projection
    await reconcile(db, stock_source)
    # A newer event (version 5; stock-import's snapshot is at 1) already set ART-007 to 70 pieces.
    await execute(
        db,
        sa.update(APPLIED_VERSION)
        .where(APPLIED_VERSION.c.stream == "stock", APPLIED_VERSION.c.aggregate_id == "ART-007")
        .values(version=5),
        sa.update(table).where(table.c.article_number == "ART-007").values(sellable_qty=70),
    )
    report = await reconcile(db, stock_source)
    assert (report.differing, report.fixed, report.newer_applied) == (1, 0, 1)
    assert (await projection(db))["ART-007"][0] == 70
    async with db.reader.connect() as conn:
        version = await conn.scalar(sa.select(APPLIED_VERSION.c.version).where(
            APPLIED_VERSION.c.stream == "stock", APPLIED_VERSION.c.aggregate_id == "ART-007"))  # fmt: skip
    assert version == 5


async def test_a_killed_rebuild_resumes_after_its_last_committed_page(db: Database, stock_source: StockSource) -> None:
    table, checkpoint = article_availability_projection, projection_job_checkpoint
    expected = await truth(stock_source)
    # Articles stock-import has no aggregate for, in the first page's range, the second's and past the end.
    orphans = ["AAA-1", "ART-0105", "ZZZ-1"]
    await execute(db, sa.insert(table).values([
        {"article_number": n, "sellable_qty": 5, "best_price": Decimal("9.99"), "updated_at": LONG_AGO} for n in orphans
    ]))  # fmt: skip
    requested: list[str] = []

    async def record(request: httpx.Request) -> None:
        requested.append(request.url.params.get("after", ""))

    stock_source.client.event_hooks["request"].append(record)

    killed = await rebuild(db, stock_source, "all", page_size=10, max_pages=1)
    assert (killed.finished, killed.pages, killed.cursor, killed.zeroed) == (False, 1, "ART-010", 1)
    async with db.reader.connect() as conn:
        saved = (await conn.execute(sa.select(checkpoint).where(checkpoint.c.job_name == "rebuild:stock"))).one()
    assert (saved.last_success_cursor, saved.last_success_batch_id) == ("ART-010", "running")
    halfway = await projection(db)
    assert {n: halfway[n] for n in ARTICLES[:10]} == {n: expected[n] for n in ARTICLES[:10]}
    assert set(ARTICLES[10:]).isdisjoint(halfway)

    requested.clear()
    resumed = await rebuild(db, stock_source, "all", page_size=10)
    assert (resumed.resumed_after, resumed.finished, resumed.pages, resumed.aggregates) == ("ART-010", True, 2, 15)
    assert requested == ["ART-010", "ART-020"]  # continued from the cursor, never re-read the first page
    assert resumed.zeroed == 2
    final = await projection(db)
    assert {n: final[n] for n in ARTICLES} == expected
    assert {n: final[n][0] for n in orphans} == dict.fromkeys(orphans, 0)
    async with db.reader.connect() as conn:
        saved = (await conn.execute(sa.select(checkpoint).where(checkpoint.c.job_name == "rebuild:stock"))).one()
    assert (saved.last_success_cursor, saved.last_success_batch_id) == (None, "done")

    requested.clear()
    again = await rebuild(db, stock_source, "all", page_size=10)  # a finished job starts over
    assert (again.resumed_after, again.pages, again.written, again.zeroed) == (None, 3, 25, 0)
    assert requested == ["", "ART-010", "ART-020"]


async def test_rebuild_of_one_article(db: Database, stock_source: StockSource) -> None:
    table = article_availability_projection
    await execute(db, sa.insert(table).values([
        {"article_number": "ART-002", "sellable_qty": 50, "best_price": Decimal("1.00"), "updated_at": LONG_AGO},
        {"article_number": "GONE-1", "sellable_qty": 5, "best_price": Decimal("9.99"), "updated_at": LONG_AGO},
    ]))  # fmt: skip
    fixed = await rebuild(db, stock_source, "ART-002")
    assert (fixed.written, fixed.not_found) == (1, [])
    gone = await rebuild(db, stock_source, "GONE-1")
    assert (gone.written, gone.zeroed, gone.not_found) == (0, 1, ["GONE-1"])
    assert await projection(db) == {"ART-002": (2, Decimal("42.50"), None), "GONE-1": (0, Decimal("9.99"), None)}


async def test_clear_errors_for_a_refused_token_or_an_unreachable_stock_import(stock_source: StockSource) -> None:
    wrong = StockSource("unused", "not-the-token", stock_source.client)
    with pytest.raises(StockSourceError, match="refused the operator token"):
        await wrong.page()
    async with StockSource("http://127.0.0.1:9", "t", timeout_s=2) as nowhere:
        with pytest.raises(StockSourceError, match="unreachable at http://127.0.0.1:9"):
            await nowhere.page()


def test_cli_is_plugged_in_and_refuses_other_domains() -> None:
    plugged = {entry_point.name: entry_point for entry_point in entry_points(group="atraxion.commands")}
    assert plugged["projection"].load() is cli.app
    for command in (["reconcile", "--domain", "orders"], ["rebuild", "--domain", "prices", "--scope", "all"]):
        result = CliRunner().invoke(cli.app, command)
        assert result.exit_code == 2
        message = " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())  # unwrap rich's error box
        assert "is not a domain; choose one of stock, fitment" in message


async def test_a_repaired_article_refreshes_the_wheel_sets_holding_it(db: Database, stock_source: StockSource) -> None:
    key = "a" * 64
    await execute(db, sa.insert(catalog_article).values([catalogue_row("ART-002"), catalogue_row("ART-005")]),
                  sa.insert(wheel_set_projection).values(
                      set_key=key, vehicle_variant_id=1, season="winter", mounting_type="mounted",
                      wheel_front_article_number="ART-005", tyre_front_article_number="ART-002",
                      sellable_quantity=99, set_price=Decimal("1.00"), computed_at=LONG_AGO, is_staggered=False,
                      rim_diameter=16, match_score=100, mounting_fee=Decimal("60.00"), tpms_missing=False),
                  sa.insert(wheel_set_component_index).values([
                      {"component_article_number": "ART-005", "component_role": "wheel", "set_key": key},
                      {"component_article_number": "ART-002", "component_role": "tyre", "set_key": key}]))  # fmt: skip
    await rebuild(db, stock_source, "all", page_size=10)
    async with db.reader.connect() as conn:
        row = (await conn.execute(sa.select(wheel_set_projection).where(wheel_set_projection.c.set_key == key))).one()
    # ART-002: 2 at 42.50, ART-005: 5 at 45.50 (the feed): floor(min(2, 5) / 4) sets at 4 x (42.50 + 45.50) + fee
    assert (row.sellable_quantity, row.set_price) == (0, Decimal("412.00"))
    assert row.computed_at > LONG_AGO
