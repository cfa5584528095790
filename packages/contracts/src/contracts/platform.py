"""Contracts produced by platform-export: orders imported from sales platforms and tracking pushes."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from contracts.orders import OrderLine
from contracts.registry import Contract, register
from contracts.types import CurrencyCode

PlatformId = Annotated[str, StringConstraints(min_length=1, max_length=40)]
# 40 + ":" + 59 keeps "<platform_id>:<platform_order_id>" within the envelope's 100-char aggregate id.
PlatformOrderId = Annotated[str, StringConstraints(min_length=1, max_length=59)]


def platform_order_key(platform_id: str, platform_order_id: str) -> str:
    """Aggregate id of a platform order, ``<platform_id>:<platform_order_id>`` (fits 100 chars)."""
    return f"{platform_id}:{platform_order_id}"


@register
class PlatformOrderImported(Contract):
    """An order placed on a sales platform was imported; erp-middleware hands it to the ERP."""

    message_type: ClassVar[str] = "platform.order.imported"
    schema_version: ClassVar[str] = "1.0"

    platform_id: PlatformId
    """Platform the order comes from."""
    platform_order_id: PlatformOrderId
    """The platform's own order number."""
    order_key: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    """Idempotency key the order travels to the ERP with; ``erp.order.status-changed`` refers to it."""
    customer_reference: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    """The platform's reference for the buyer, printed on the delivery."""
    lines: Annotated[list[OrderLine], Field(min_length=1)]
    """Ordered articles."""
    currency: CurrencyCode
    """Currency of the line prices."""

    def aggregate_id(self) -> str:
        """``<platform_id>:<platform_order_id>``."""
        return platform_order_key(self.platform_id, self.platform_order_id)

    def aggregate_version(self) -> int:
        """Always 1: an import is the platform order's first state."""
        return 1


@register
class PlatformTrackingPushRequested(Contract):
    """Command: push the tracking number of a shipped order back to its platform."""

    message_type: ClassVar[str] = "platform.tracking.push-requested"
    schema_version: ClassVar[str] = "1.0"

    platform_id: PlatformId
    """Platform to push to."""
    platform_order_id: PlatformOrderId
    """The platform's order number."""
    tracking_number: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    """Carrier tracking number."""
    carrier: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    """Carrier name, when known."""

    def aggregate_id(self) -> str:
        """``<platform_id>:<platform_order_id>``."""
        return platform_order_key(self.platform_id, self.platform_order_id)

    def aggregate_version(self) -> int:
        """Always 1: a shipped order is pushed once; a corrected number needs an explicit idempotency key."""
        return 1


@register
class PlatformExportRequested(Contract):
    """Command (platform-export to itself): build export run ``run_id`` (queued in ``export_run``)."""

    message_type: ClassVar[str] = "platform.export.requested"
    schema_version: ClassVar[str] = "1.0"

    run_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    """The queued run."""
    platform_id: PlatformId
    """Platform the feed is for."""
    kind: Literal["full", "delta"]
    """Every article in the platform's filters, or only those changed since its last export."""

    def aggregate_id(self) -> str:
        """The run id."""
        return self.run_id

    def aggregate_version(self) -> int:
        """Always 1: a run is requested once; a crashed run resumes on redelivery."""
        return 1
