"""ERP status of platform orders, and tracking numbers pushed back to the platforms.

``erp.order.status-changed`` (platform-export.high-priority) moves a platform order on by lifecycle
rank (a late ``accepted`` never overwrites ``shipped``); when it ships with a tracking number, a
``platform.tracking.push-requested`` command goes into the same transaction's outbox. Its handler
posts the number to the platform's order API with the command's idempotency key, so a push repeated
after a crash (the platform answered, the commit did not happen) is recorded once by the platform.
Failures go through the connector's retries, then the retry tiers and the DLQ.
"""

from __future__ import annotations

from urllib.parse import quote

import sqlalchemy as sa

from contracts import ErpOrderStatusChanged, PlatformTrackingPushRequested
from foundation.bulk import utc_now
from integration_sdk.connectors import Connector
from integration_sdk.consumer import AnyHandler, Exclusive, MessageContext
from integration_sdk.errors import PermanentError
from integration_sdk.versioning import newer_than_applied
from platform_export.tables import platform, platform_order


async def apply_status(event: ErpOrderStatusChanged, context: MessageContext) -> None:
    """Record the ERP's status on the platform order it names; request the tracking push when shipped."""
    session = context.session
    order = (await session.execute(
        sa.select(platform_order.c.platform_id, platform_order.c.platform_order_id)
        .where(platform_order.c.order_key == event.order_key))).one_or_none()  # fmt: skip
    if order is None:  # not a platform order (a webshop order)
        return
    if not await newer_than_applied(session, "erp-order-status", event.order_key, event.aggregate_version()):
        return
    values: dict[str, object] = {"status": event.status, "updated_at": utc_now()}
    if event.tracking_number:
        values["tracking_number"] = event.tracking_number
    await session.execute(platform_order.update().where(
        platform_order.c.platform_id == order.platform_id,
        platform_order.c.platform_order_id == order.platform_order_id).values(values))  # fmt: skip
    if event.status == "shipped" and event.tracking_number:
        await context.publish(PlatformTrackingPushRequested(
            platform_id=order.platform_id, platform_order_id=order.platform_order_id,
            tracking_number=event.tracking_number))  # fmt: skip


class TrackingPusher:
    """Posts tracking numbers to the platforms."""

    def __init__(self, connector: Connector) -> None:
        self.connector = connector

    async def push(self, event: PlatformTrackingPushRequested, context: MessageContext) -> None:
        """Post the tracking number (idempotent at the platform by the command's key)."""
        session = context.session
        url = await session.scalar(sa.select(platform.c.orders_url).where(platform.c.platform_id == event.platform_id))
        if url is None:
            raise PermanentError(f"platform {event.platform_id} has no order API (orders_url) to push tracking to")
        await self.connector.request(
            event.platform_id, "POST", f"{url}/{quote(event.platform_order_id, safe='')}/tracking",
            json={"tracking_number": event.tracking_number, "carrier": event.carrier},
            headers={"Idempotency-Key": context.envelope.idempotency_key},
        )  # fmt: skip
        this_order = (platform_order.c.platform_id == event.platform_id,
                      platform_order.c.platform_order_id == event.platform_order_id)  # fmt: skip
        await session.execute(platform_order.update().where(*this_order).values(tracking_pushed_at=utc_now()))

    def handlers(self) -> dict[str, AnyHandler]:
        """Handlers of platform-export.high-priority."""
        return {"erp.order.status-changed": apply_status, "platform.tracking.push-requested": Exclusive(self.push)}
