"""End to end over the real broker and database: ERP catalogue and supplier feeds reach the storefront.

The islands' API and worker apps run in-process (as ``atraxion up`` runs them as processes) on an
event loop of their own, in a test namespace; steps talk to them over HTTP, like their users.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa
from pytest_bdd import given, parsers, scenarios, then, when

from erp_middleware.articles.models import COLUMNS
from erp_middleware.articles.service import import_article_export
from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk.outbox import OUTBOX, Outbox
from live_suite import TOKEN, LiveSuite, eventually, islands_running
from stock_import.imports.service import register_suppliers

scenarios("features/stock_to_storefront.feature")

T = TypeVar("T")
FEED_MAPPING = {"format": "csv", "delimiter": ",", "columns": {"article_number": "article", "quantity": "qty",
                                                               "price": "price"}}  # fmt: skip


@pytest.fixture
def suite(migrated_islands: dict[str, ServiceSettings], tmp_path: Path) -> Iterator[LiveSuite]:
    with islands_running(migrated_islands, ("erp-middleware", "stock-import", "webshop"), tmp_path) as live:
        yield live


@pytest.fixture
def context() -> dict[str, Any]:
    return {}


@given(parsers.parse('the ERP catalogue holds the winter tyre "{article}" in size {width:d}/{aspect:d} R{rim:d}'))
def erp_catalogue(suite: LiveSuite, tmp_path: Path, article: str, width: int, aspect: int, rim: int) -> None:
    row = {"article_number": article, "article_type": "tyre", "ean": "", "brand": "Nokian", "model": "WR Snowproof",
           "description": f"{width}/{aspect} R{rim} 91H", "list_price": "99.00", "width": width, "aspect": aspect,
           "rim_diameter": rim, "load_index": 91, "speed_rating": "H", "season": "winter", "run_flat": 0, "xl": 0,
           "three_pmsf": 1, "eu_fuel": "C", "eu_wet": "B", "eu_noise_db": 70}  # fmt: skip
    export = tmp_path / "articles.csv"
    export.write_text(";".join(COLUMNS) + "\n" + ";".join(str(row.get(c, "")) for c in COLUMNS) + "\n")
    settings = suite.settings["erp-middleware"]

    async def load() -> None:
        db = Database.from_settings(settings)
        try:
            await import_article_export(db, export, "full", outbox=Outbox(settings))
        finally:
            await db.dispose()
        # The relay in the erp-middleware worker publishes; the webshop's catalogue projection applies it.
        await eventually(lambda: _product(suite, article), lambda response: response.status_code == 200, 5)

    suite.run(load())


@given(parsers.parse('supplier "{supplier}" is registered with a minimum order quantity of {minimum:d}'))
def supplier_registered(suite: LiveSuite, tmp_path: Path, supplier: str, minimum: int) -> None:
    definitions = tmp_path / "suppliers.json"
    definitions.write_text(json.dumps([{"supplier_id": supplier, "name": supplier, "min_order_qty": minimum,
                                        "mapping": FEED_MAPPING}]))  # fmt: skip

    async def register() -> None:
        db = Database.from_settings(suite.settings["stock-import"])
        try:
            await register_suppliers(db, definitions)
        finally:
            await db.dispose()

    suite.run(register())


def _upload(suite: LiveSuite, context: dict[str, Any], supplier: str, body: bytes) -> None:
    client = suite.clients["stock-import"]
    url = f"/api/v1/suppliers/{supplier}/feeds?kind=delta&file_name=correction.csv"
    response = suite.run(client.post(url, content=body, headers=TOKEN))
    assert response.status_code == 202, response.text
    context.update(supplier=supplier, body=body, batch_id=response.json()["batch_id"])


@when(parsers.parse('supplier "{supplier}" uploads a correction feed with {qty:d} pieces of "{article}" at {price}'))
def upload_correction(suite: LiveSuite, context: dict[str, Any], supplier: str, qty: int, article: str,
                      price: str) -> None:  # fmt: skip
    _upload(suite, context, supplier, f"article,qty,price\n{article},{qty},{price}\n".encode())


@when(parsers.parse('supplier "{supplier}" uploads the same feed again'))
def upload_again(suite: LiveSuite, context: dict[str, Any], supplier: str) -> None:
    _upload(suite, context, supplier, context["body"])


async def _product(suite: LiveSuite, article: str) -> httpx.Response:
    return await suite.clients["webshop"].get(f"/api/v1/products/{article}")


def _shows(qty: int, price: str) -> Any:
    def check(response: httpx.Response) -> bool:
        if response.status_code != 200:
            return False
        availability = response.json()["availability"]
        return availability["sellable_qty"] == qty and Decimal(str(availability["best_price"])) == Decimal(price)

    return check


@then(
    parsers.parse('the storefront shows "{article}" in stock with {qty:d} pieces at {price} within {seconds:d} seconds')
)
def storefront_shows(suite: LiveSuite, seconds: int, article: str, qty: int, price: str) -> None:
    response = suite.run(eventually(lambda: _product(suite, article), _shows(qty, price), seconds))
    assert _shows(qty, price)(response), response.text
    assert response.json()["availability"]["in_stock"] is True


@then(parsers.parse('a search for winter tyres {width:d}/{aspect:d} R{rim:d} in stock lists "{article}"'))
def search_lists(suite: LiveSuite, width: int, aspect: int, rim: int, article: str) -> None:
    query = {"type": "tyre", "width": width, "aspect": aspect, "diameter": rim, "season": "winter", "in_stock": "true"}
    response = suite.run(suite.clients["webshop"].get("/api/v1/products", params=query))
    assert response.status_code == 200, response.text
    assert [item["article_number"] for item in response.json()["items"]] == [article]


@then(parsers.parse("the import batch succeeded with {rows:d} row applied and {changed:d} aggregate changed"))
def batch_report(suite: LiveSuite, context: dict[str, Any], rows: int, changed: int) -> None:
    client = suite.clients["stock-import"]

    async def report() -> httpx.Response:
        return await client.get(f"/api/v1/import-batches/{context['batch_id']}", headers=TOKEN)

    response = suite.run(eventually(report, lambda r: r.json()["status"] != "queued", 5))
    body = response.json()
    assert (body["status"], body["rows_ok"], body["aggregates_changed"]) == ("succeeded", rows, changed), body


@then(parsers.parse('stock-import emitted exactly {count:d} stock event for "{article}"'))
def stock_events(suite: LiveSuite, count: int, article: str) -> None:
    async def emitted() -> int:
        db = Database.from_settings(suite.settings["stock-import"])
        try:
            async with db.reader.connect() as conn:
                query = (
                    sa.select(sa.func.count())
                    .select_from(OUTBOX)
                    .where(OUTBOX.c.message_type == "stock.availability.changed", OUTBOX.c.aggregate_id == article)
                )
                return int((await conn.execute(query)).scalar_one())
        finally:
            await db.dispose()

    assert suite.run(emitted()) == count
