"""Order status from the ERP (``erp.order.status-changed``), applied to webshop orders by lifecycle rank.

Each status has its rank (accepted 1, shipped 2, rejected 3) as its version on the stream
``erp-order-status``, so a late ``accepted`` never overwrites ``shipped``. Keys of other sources'
orders (platform orders) are not the webshop's and are skipped.
"""

from __future__ import annotations

from contracts import ErpOrderStatusChanged, webshop_order_key
from foundation.bulk import utc_now
from integration_sdk.consumer import MessageContext
from integration_sdk.versioning import newer_than_applied
from webshop.tables import customer_order

PREFIX = webshop_order_key("")


async def apply_status(event: ErpOrderStatusChanged, context: MessageContext) -> None:
    """Move the order to the ERP's status, if it is newer in the lifecycle."""
    if not event.order_key.startswith(PREFIX):
        return
    if not await newer_than_applied(context.session, "erp-order-status", event.order_key, event.aggregate_version()):
        return
    values: dict[str, object] = {"status": event.status, "updated_at": utc_now()}
    for name in ("erp_order_id", "tracking_number"):
        if getattr(event, name) is not None:
            values[name] = getattr(event, name)
    if event.reason is not None:
        values["status_reason"] = event.reason
    await context.session.execute(
        customer_order.update().where(customer_order.c.order_id == event.order_key.removeprefix(PREFIX)).values(values)
    )


HANDLERS = {"erp.order.status-changed": apply_status}
