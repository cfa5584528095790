"""Order placement against the real MariaDB: one order and one ``order.placed`` per idempotency key, also
when the same key arrives twice at the same moment."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
import sqlalchemy as sa

from foundation.bulk import utc_now
from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk.outbox import OUTBOX
from integration_sdk.testing import serve, truncate_tables
from webshop.app import create_app
from webshop.tables import catalog_article, customer_order, customer_order_line


@pytest.fixture
async def shop(migrated_islands: dict[str, ServiceSettings]) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    settings = migrated_islands["webshop"]
    await truncate_tables(settings)
    db = Database.from_settings(settings)
    async with db.writer.begin() as conn:
        await conn.execute(catalog_article.insert().values(
            article_number="TY-1", article_type="tyre", brand="Nokian", model="WR", description="205/55 R16",
            list_price=Decimal("99.90"), version=1, updated_at=utc_now(), sellable_qty=8))  # fmt: skip
    async with serve(create_app(settings)) as client:  # type: ignore[arg-type]
        yield client, db
    await db.dispose()


async def _count(db: Database, table: sa.Table) -> int:
    async with db.reader.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


async def test_the_same_key_at_the_same_moment_places_one_order(shop: tuple[httpx.AsyncClient, Database]) -> None:
    client, db = shop
    body = {"customer_id": "dealer-7", "lines": [{"article_number": "TY-1", "quantity": 4}]}

    answers = await asyncio.gather(*(client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": "same"})
                                     for _ in range(5)))  # fmt: skip

    assert {answer.status_code for answer in answers} == {201}, [a.text for a in answers]
    assert len({answer.json()["order_id"] for answer in answers}) == 1
    assert sum(1 for answer in answers if "Idempotent-Replayed" not in answer.headers) == 1
    assert await _count(db, customer_order) == 1
    assert await _count(db, customer_order_line) == 1
    assert await _count(db, OUTBOX) == 1
    order = answers[0].json()
    assert order["status"] == "placed"
    assert Decimal(order["total"]) == Decimal("399.60")
