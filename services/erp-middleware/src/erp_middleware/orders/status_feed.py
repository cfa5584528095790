"""The ERP's order status feed, read after a stored cursor into ``erp_order`` and ``erp.order.status-changed``.

One worker at a time reads it (a named lock). Each page is applied in one transaction with the new
cursor, so a crash repeats at most the page, and a status is applied only when it is later in the
lifecycle than the order's (accepted 1, shipped 2, rejected 3): a page delivered twice, or an
``accepted`` the dispatch already recorded, changes nothing and emits nothing. While the ERP's
circuit is open a run ends quietly; the cursor makes the next run after the outage read on from there.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import ErpOrderStatusChanged
from contracts.catalog import STATUS_RANK
from erp_middleware.orders.bridge import OrderBridge
from erp_middleware.tables import erp_order, erp_status_cursor
from foundation.bulk import LockBusyError, named_lock, utc_now
from foundation.db import Database
from integration_sdk.connectors import CircuitOpen
from integration_sdk.outbox import Outbox

log = logging.getLogger(__name__)
FEED = "erp-order-status"
STATUS_PATH = "/api/v1/order-status-changes"


async def apply_changes(session: AsyncSession, outbox: Outbox, changes: list[dict[str, Any]]) -> int:
    """Apply a page of status changes; how many moved an order on."""
    keys = sorted({str(change["order_key"]) for change in changes})
    if not keys:
        return 0
    current = {
        row.order_key: row.status
        for row in await session.execute(
            sa.select(erp_order.c.order_key, erp_order.c.status).where(erp_order.c.order_key.in_(keys))
            .with_for_update()
        )
    }  # fmt: skip
    applied = 0
    for change in sorted(changes, key=lambda change: int(change["seq"])):
        key, status = str(change["order_key"]), str(change["status"])
        if key not in current:
            log.warning("ERP status %s for unknown order %s ignored", status, key)
            continue
        if status not in STATUS_RANK or STATUS_RANK[status] <= STATUS_RANK.get(current[key], 0):
            continue
        values: dict[str, Any] = {"status": status, "updated_at": utc_now()}
        for name in ("erp_order_id", "tracking_number"):
            if change.get(name):
                values[name] = change[name]
        if change.get("reason"):
            values["status_reason"] = str(change["reason"])[:255]
        await session.execute(erp_order.update().where(erp_order.c.order_key == key).values(values))
        await outbox.add(session, ErpOrderStatusChanged(
            order_key=key, status=status, erp_order_id=change.get("erp_order_id"),
            tracking_number=change.get("tracking_number"), reason=change.get("reason"),
        ))  # fmt: skip
        current[key] = status
        applied += 1
    return applied


def status_feed_job(bridge: OrderBridge) -> Any:
    """The periodic job: read the feed page by page until it is drained (one worker at a time)."""

    async def job(app: FastAPI) -> float | None:
        db: Database = app.state.resources["database"].db
        outbox: Outbox = app.state.outbox
        page_size = bridge.settings.erp_status_page_size
        async with db.writer.connect() as lock_connection:
            try:
                async with named_lock(lock_connection, FEED):
                    while True:
                        async with db.sessions.begin() as session:
                            after = (
                                await session.scalar(
                                    sa.select(erp_status_cursor.c.last_seq).where(erp_status_cursor.c.feed == FEED)
                                )
                                or 0
                            )
                            response = await bridge.connector.request(
                                "erp", "GET", STATUS_PATH, params={"after": after, "limit": page_size}
                            )
                            items = response.json()["items"]
                            await apply_changes(session, outbox, items)
                            last = max([after, *(int(item["seq"]) for item in items)])
                            statement = mysql_insert(erp_status_cursor).values(feed=FEED, last_seq=last,
                                                                               updated_at=utc_now())  # fmt: skip
                            await session.execute(statement.on_duplicate_key_update(
                                last_seq=sa.func.greatest(erp_status_cursor.c.last_seq, statement.inserted.last_seq),
                                updated_at=statement.inserted.updated_at))  # fmt: skip
                        if len(items) < page_size:
                            return None
            except LockBusyError:
                return None
            except CircuitOpen:  # the ERP is down: read on once the breaker's probe finds it back
                return None

    return job
