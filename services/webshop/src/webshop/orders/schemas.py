"""HTTP models of the order API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.types import ArticleNumber, CurrencyCode

MAX_LINES = 200


class OrderLineIn(BaseModel):
    """One article and how many pieces."""

    model_config = ConfigDict(extra="forbid")

    article_number: ArticleNumber
    quantity: Annotated[int, Field(ge=1, le=10_000)]


class OrderIn(BaseModel):
    """An order as the storefront sends it: prices come from the catalogue, not from the client."""

    model_config = ConfigDict(extra="forbid")

    customer_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    currency: CurrencyCode = "EUR"
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=MAX_LINES)]


class OrderLineOut(BaseModel):
    """A stored order line."""

    line_no: int
    article_number: str
    quantity: int
    unit_price: Decimal


class OrderOut(BaseModel):
    """An order and its status: ``placed`` until the ERP answers, then ``accepted``, ``shipped`` or ``rejected``."""

    order_id: str
    customer_id: str
    status: str
    currency: str
    total: Decimal
    lines: list[OrderLineOut]
    erp_order_id: str | None
    tracking_number: str | None
    status_reason: str | None
    created_at: datetime
    updated_at: datetime
