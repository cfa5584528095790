"""Contracts produced by the webshop: customer orders."""

from __future__ import annotations

from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import AwareDatetime, Field, StringConstraints

from contracts.registry import Contract, Frozen, register
from contracts.types import ArticleNumber, CurrencyCode, Money, Quantity


def webshop_order_key(order_id: UUID | str) -> str:
    """Idempotency key a webshop order travels to the ERP with (``erp.order.status-changed`` names it)."""
    return f"webshop:{order_id}"


class OrderLine(Frozen):
    """One ordered article."""

    article_number: ArticleNumber
    """ERP article number."""
    quantity: Quantity
    """Pieces ordered."""
    unit_price: Money
    """Price per piece excluding VAT, in the order's currency."""


@register
class OrderPlaced(Contract):
    """A customer placed an order in the webshop; erp-middleware hands it to the ERP."""

    message_type: ClassVar[str] = "order.placed"
    schema_version: ClassVar[str] = "1.0"

    order_id: UUID
    """Webshop order id."""
    idempotency_key: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    """The client's key for the placement request: one order per key, however often it is retried."""
    customer_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    """Customer account that ordered."""
    lines: Annotated[list[OrderLine], Field(min_length=1)]
    """Ordered articles, in the customer's order."""
    total: Money
    """Order total excluding VAT, as charged."""
    currency: CurrencyCode
    """Currency of all amounts."""
    placed_at: AwareDatetime
    """When the order was placed."""

    def aggregate_id(self) -> str:
        """The order id."""
        return str(self.order_id)

    def aggregate_version(self) -> int:
        """Always 1: placing is the order's first state."""
        return 1
