"""Import of platform orders: each platform's order API read page by page after its stored cursor.

- Paged (``orders_page_size``) and rate-limited: at most one request per ``orders_min_interval_s`` and
  platform, and a 429's Retry-After is honoured by the connector.
- Deduplicated by (platform, platform order id): ``INSERT IGNORE`` into ``platform_order``, and only
  orders inserted now get a ``platform.order.imported`` (whose ``order_key`` is the ERP's idempotency
  key). A platform delivering an order twice, or a page read again after a crash, changes nothing.
- Each page's orders, events and the new cursor commit together.
- An order that cannot be read (missing field, bad quantity) is kept with status ``invalid`` and the
  problem in ``error``, not handed on and not lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy.dialects.mysql import insert as mysql_insert

from contracts import PlatformOrderImported
from contracts.platform import platform_order_key
from contracts.registry import ContractValidationError
from foundation.bulk import LockBusyError, named_lock, utc_now
from foundation.db import Database
from integration_sdk.connectors import Connector
from integration_sdk.errors import PermanentError, TransientError
from integration_sdk.outbox import Outbox
from platform_export.settings import PlatformExportSettings
from platform_export.tables import platform, platform_order, platform_order_import

log = logging.getLogger(__name__)
IMPORTED, INVALID = "imported", "invalid"


def read_order(platform_id: str, raw: dict[str, Any]) -> tuple[PlatformOrderImported | None, str | None]:
    """The order as a contract, or None and what is wrong with it."""
    order_id = str(raw.get("order_id", ""))
    try:
        return PlatformOrderImported(
            platform_id=platform_id, platform_order_id=order_id,
            order_key=platform_order_key(platform_id, order_id),
            customer_reference=raw.get("customer_reference") or order_id, currency=raw.get("currency", "EUR"),
            lines=[{"article_number": line.get("sku"), "quantity": line.get("quantity"),
                    "unit_price": line.get("unit_price")} for line in raw.get("lines") or []],
        ), None  # fmt: skip
    except ValidationError as exc:
        return None, str(ContractValidationError.from_pydantic(f"order {order_id!r} of {platform_id}", exc))


class OrderImporter:
    """Reads every active platform's order API (the periodic job of the worker)."""

    def __init__(self, settings: PlatformExportSettings, connector: Connector) -> None:
        self.settings = settings
        self.connector = connector
        self._last_call: dict[str, float] = {}

    async def job(self, app: FastAPI) -> float | None:
        """Import new orders of every platform that has an order API (one worker at a time)."""
        db: Database = app.state.resources["database"].db
        async with db.writer.connect() as lock_connection:
            try:
                async with named_lock(lock_connection, "platform-order-import"):
                    await self.import_all(db, app.state.outbox)
            except LockBusyError:
                pass
        return None

    async def import_all(self, db: Database, outbox: Outbox) -> dict[str, int]:
        """Import from every active platform with an order API; new orders per platform."""
        async with db.reader.connect() as conn:
            platforms = (await conn.execute(
                sa.select(platform.c.platform_id, platform.c.orders_url)
                .where(platform.c.active.is_(True), platform.c.orders_url.is_not(None))
                .order_by(platform.c.platform_id))).all()  # fmt: skip
        return {platform_id: await self.import_platform(db, outbox, platform_id, url) for platform_id, url in platforms}

    async def _pace(self, platform_id: str) -> None:
        wait = self._last_call.get(platform_id, 0.0) + self.settings.orders_min_interval_s - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._last_call[platform_id] = time.monotonic()

    async def import_platform(self, db: Database, outbox: Outbox, platform_id: str, url: str) -> int:
        """Read the platform's new orders page by page; how many were new."""
        new_total = 0
        while True:
            async with db.reader.connect() as conn:
                cursor = await conn.scalar(sa.select(platform_order_import.c.cursor).where(
                    platform_order_import.c.platform_id == platform_id))  # fmt: skip
            await self._pace(platform_id)
            try:
                response = await self.connector.request(platform_id, "GET", url, params={
                    "after": cursor or "0", "limit": self.settings.orders_page_size})  # fmt: skip
            except (TransientError, PermanentError) as exc:
                log.warning("order import of %s stopped: %s", platform_id, exc)
                await self._save_cursor(db, platform_id, cursor, 0, str(exc)[:2000])
                return new_total
            page = response.json()
            orders = page.get("orders") or []
            new = await self._store_page(db, outbox, platform_id, orders, str(page.get("next_after", cursor or "0")))
            new_total += new
            if not orders or not page.get("has_more"):
                return new_total

    async def _store_page(
        self, db: Database, outbox: Outbox, platform_id: str, orders: list[dict[str, Any]], next_cursor: str
    ) -> int:
        now = utc_now()
        rows, contracts = [], {}
        for raw in orders:
            contract, error = read_order(platform_id, raw)
            order_id = str(raw.get("order_id", ""))[:100] or f"unnamed-{raw.get('seq')}"
            rows.append({"platform_id": platform_id, "platform_order_id": order_id,
                         "status": IMPORTED if contract else INVALID, "payload": raw, "error": error,
                         "order_key": platform_order_key(platform_id, order_id)[:100], "imported_at": now,
                         "updated_at": now})  # fmt: skip
            if contract is not None:
                contracts[order_id] = contract
            else:
                log.warning("platform order rejected: %s", error)
        async with db.sessions.begin() as session:
            inserted: list[str] = []
            if rows:
                result = await session.execute(
                    mysql_insert(platform_order).prefix_with("IGNORE").returning(platform_order.c.platform_order_id),
                    rows,
                )
                inserted = list(result.scalars())
            for order_id in inserted:
                if order_id in contracts:
                    await outbox.add(session, contracts[order_id])
            new = sum(1 for order_id in inserted if order_id in contracts)
            await self._save_cursor(session, platform_id, next_cursor, new, None)
        return new

    async def _save_cursor(
        self, executor: Any, platform_id: str, cursor: str | None, new: int, error: str | None
    ) -> None:
        statement = mysql_insert(platform_order_import).values(
            platform_id=platform_id, cursor=cursor, orders_imported=new, last_polled_at=utc_now(), last_error=error
        )
        statement = statement.on_duplicate_key_update(
            cursor=statement.inserted.cursor, last_polled_at=statement.inserted.last_polled_at,
            last_error=statement.inserted.last_error,
            orders_imported=platform_order_import.c.orders_imported + statement.inserted.orders_imported)  # fmt: skip
        if isinstance(executor, Database):
            async with executor.writer.begin() as conn:
                await conn.execute(statement)
        else:
            await executor.execute(statement)
