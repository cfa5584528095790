"""Orders to the ERP, in two steps, each on erp-middleware.high-priority with the inbox's guarantees.

1. **Record** (``order.placed``, ``platform.order.imported``): the order becomes an ``erp_order`` row
   (``pending``, the ERP request as ``payload``) and an ``erp.order.dispatch-requested`` command, in the
   consumer's transaction. ``INSERT IGNORE`` by order key: an order announced twice (under another
   idempotency key) is recorded and dispatched once.
2. **Dispatch** (``erp.order.dispatch-requested``, its own transaction): the request goes to the ERP's
   API with the order key as ``Idempotency-Key``; the answer (``accepted``, the ERP's order number)
   and ``erp.order.status-changed`` commit with the command's inbox claim. An HTTP call cannot be
   rolled back: if the process dies after the ERP answered and before that commit, the redelivered
   command sends the same request with the same key again, and the ERP answers with the order it
   created the first time. So the ERP sees the order once, however often it is sent.

Failures of the dispatch: 429, 5xx, timeouts and resets are retried in process by the connector
(Retry-After honoured, jittered backoff, circuit breaker), then handed to the consumer's retry tiers;
a 4xx is the ERP refusing the order as it is: straight to erp-middleware.dlq with the ERP's reason,
and ``parked`` in ``erp_order``. While the ERP's circuit is open (the ERP is down) the command is
deferred: it waits in the retry tiers until the next probe without spending an attempt, so an outage
of any length delivers every order once when the ERP is back, and none reaches the DLQ. Each failed
attempt is counted with its error in ``erp_order`` by a transaction of its own (the handler's own
work is rolled back with it); a deferral records its error but is no attempt. A replay of the dead
letter, after the cause is fixed, sends the same request with the same key.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts import (
    ErpOrderDispatchRequested,
    ErpOrderStatusChanged,
    OrderPlaced,
    PlatformOrderImported,
    webshop_order_key,
)
from contracts.envelope import Envelope
from erp_middleware.settings import ErpMiddlewareSettings
from erp_middleware.tables import erp_order
from foundation.app import LifespanHook
from foundation.bulk import utc_now
from integration_sdk.connectors import Connector, PartnerRejected
from integration_sdk.consumer import AnyHandler, BatchContext, Batched, Exclusive, MessageContext
from integration_sdk.errors import Deferred, PermanentError, TransientError

log = logging.getLogger(__name__)

PENDING = "pending"
PARKED = "parked"
ACCEPTED = "accepted"
OPEN = (PENDING, PARKED)  # not yet accepted by the ERP
ORDERS_PATH = "/api/v1/orders"


def _lines(event: OrderPlaced | PlatformOrderImported) -> list[dict[str, Any]]:
    return [{"article_number": line.article_number, "quantity": line.quantity, "unit_price": str(line.unit_price)}
            for line in event.lines]  # fmt: skip


def webshop_order_row(event: OrderPlaced) -> dict[str, Any]:
    """The ``erp_order`` row (and ERP request) of a webshop order."""
    key = webshop_order_key(event.order_id)
    payload = {"order_key": key, "source": "webshop", "source_order_id": str(event.order_id),
               "customer_reference": event.customer_id, "currency": event.currency, "total": str(event.total),
               "lines": _lines(event)}  # fmt: skip
    return {"order_key": key, "source": "webshop", "source_order_id": str(event.order_id), "payload": payload}


def platform_order_row(event: PlatformOrderImported) -> dict[str, Any]:
    """The ``erp_order`` row (and ERP request) of a platform order."""
    source_id = event.aggregate_id()
    total = sum(line.unit_price * line.quantity for line in event.lines)
    payload = {"order_key": event.order_key, "source": "platform", "source_order_id": source_id,
               "customer_reference": event.customer_reference, "currency": event.currency, "total": f"{total:.2f}",
               "lines": _lines(event)}  # fmt: skip
    return {"order_key": event.order_key, "source": "platform", "source_order_id": source_id, "payload": payload}


async def record_orders(rows: list[tuple[dict[str, Any], Envelope]], context: BatchContext) -> None:
    """Insert the orders not recorded yet and request the dispatch of exactly those."""
    first: dict[str, tuple[dict[str, Any], Envelope]] = {}
    for row, envelope in rows:
        first.setdefault(row["order_key"], (row, envelope))
    now = utc_now()
    inserted = await context.session.execute(
        mysql_insert(erp_order).prefix_with("IGNORE").returning(erp_order.c.order_key),
        [{**row, "status": PENDING, "created_at": now, "updated_at": now} for row, _ in first.values()],
    )
    for key in inserted.scalars():
        await context.publish(ErpOrderDispatchRequested(order_key=key), first[key][1])


def _recorder(to_row: Any) -> Batched:
    async def apply(items: list[tuple[Any, Envelope]], context: BatchContext) -> None:
        await record_orders([(to_row(event), envelope) for event, envelope in items], context)

    return Batched(apply)


class OrderBridge:
    """The ERP connector and the handlers that use it (one per worker process)."""

    def __init__(self, settings: ErpMiddlewareSettings) -> None:
        self.settings = settings
        self.connector = Connector(
            "erp", settings.connector_policy(), base_url=settings.erp_url,
            headers={"Authorization": f"Bearer {settings.erp_token.get_secret_value()}"},
        )  # fmt: skip

    def handlers(self) -> dict[str, AnyHandler]:
        """Handlers of erp-middleware.high-priority."""
        return {
            "order.placed": _recorder(webshop_order_row),
            "platform.order.imported": _recorder(platform_order_row),
            "erp.order.dispatch-requested": Exclusive(self.dispatch),
        }

    def lifespan(self) -> LifespanHook:
        """Closes the connector's HTTP client at shutdown (after the consumers stopped)."""

        @asynccontextmanager
        async def hook(app: FastAPI) -> AsyncIterator[None]:
            app.state.erp_connector = self.connector
            try:
                yield
            finally:
                await self.connector.aclose()

        return hook

    async def dispatch(self, event: ErpOrderDispatchRequested, context: MessageContext) -> None:
        """Send the order to the ERP (once per key at the ERP, however often this runs)."""
        session = context.session
        row = (
            await session.execute(sa.select(erp_order.c.status, erp_order.c.payload).where(
                erp_order.c.order_key == event.order_key))
        ).one_or_none()  # fmt: skip
        if row is None:
            raise PermanentError(f"no erp_order {event.order_key!r} to dispatch")
        if row.status not in OPEN:
            return  # the ERP has it already (a replay, or the status feed was quicker)
        try:
            response = await self.connector.request(
                "erp", "POST", ORDERS_PATH, json=row.payload, headers={"Idempotency-Key": event.order_key}
            )
        except (TransientError, PermanentError) as exc:
            assert isinstance(session.bind, AsyncEngine)
            await record_failure(session.bind, event.order_key, exc)
            raise
        erp_order_id = str(response.json()["erp_order_id"])
        now = utc_now()
        accepted = await session.execute(
            erp_order.update()
            .where(erp_order.c.order_key == event.order_key, erp_order.c.status.in_(OPEN))
            .values(status=ACCEPTED, erp_order_id=erp_order_id, accepted_at=now, attempts=erp_order.c.attempts + 1,
                    last_error=None, status_reason=None, updated_at=now)
        )  # fmt: skip
        if getattr(accepted, "rowcount", 0):
            await context.publish(ErpOrderStatusChanged(order_key=event.order_key, status=ACCEPTED,
                                                        erp_order_id=erp_order_id))  # fmt: skip


async def record_failure(engine: AsyncEngine, order_key: str, exc: Exception) -> None:
    """Count a failed attempt with its error (its own transaction: the handler's is rolled back)."""
    values: dict[str, Any] = {"last_error": str(exc)[:2000], "updated_at": utc_now()}
    if not isinstance(exc, Deferred):
        values["attempts"] = erp_order.c.attempts + 1
    if isinstance(exc, PermanentError):
        values["status"] = PARKED
        values["status_reason"] = (exc.reason if isinstance(exc, PartnerRejected) else str(exc))[:255]
    async with engine.begin() as conn:
        await conn.execute(
            erp_order.update().where(erp_order.c.order_key == order_key, erp_order.c.status.in_(OPEN)).values(values)
        )
    log.warning("ERP dispatch of %s failed: %s", order_key, exc)
