"""The order API: place an order (idempotent by ``Idempotency-Key``), read it and its status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Response

from foundation.app import SessionDep
from foundation.errors import ApiError
from integration_sdk.runtime import OutboxDep
from webshop.orders.schemas import OrderIn, OrderOut
from webshop.orders.service import find_order, place_order

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key", description="The client's key for this order: a retry with it places no second order."
    ),
]


@router.post("", status_code=201, response_model=OrderOut,
             responses={409: {"description": "The key was used for another order."},
                        422: {"description": "Unknown articles or not enough stock, named per line."}})  # fmt: skip
async def post_order(
    order: OrderIn, session: SessionDep, outbox: OutboxDep, response: Response, idempotency_key: IdempotencyKey = None
) -> OrderOut:
    """Place an order; the same Idempotency-Key with the same order answers with the order placed first."""
    if not idempotency_key or len(idempotency_key) > 100:
        raise ApiError(400, "idempotency_key_required",
                       "Send an Idempotency-Key header (1-100 characters) that is new for each new order.")  # fmt: skip
    placed, created = await place_order(session, outbox, order, idempotency_key)
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return placed


@router.get("/{order_id}", response_model=OrderOut, responses={404: {"description": "No such order."}})
async def get_order(session: SessionDep, order_id: Annotated[str, Path(max_length=36)]) -> OrderOut:
    """An order with its lines and its status from the ERP (accepted, shipped with tracking, rejected)."""
    order = await find_order(session, order_id)
    if order is None:
        raise ApiError(404, "not_found", f"No order {order_id}.")
    return order
