"""Order placement: one order per idempotency key, priced and checked against the storefront projection.

- The request's hash is stored beside its ``Idempotency-Key``: the same key with the same request
  answers with the stored order (however often a client retries, there is one order and one
  ``order.placed``); the same key with another request is refused (409).
- Every line must name a catalogue article with enough sellable stock (the availability copy on
  ``catalog_article``); the error names each line, field and value. Unit prices are the list prices.
- The order, its lines and ``order.placed`` are written in the request's transaction (outbox).
- Two concurrent requests with one key: the unique key makes the second wait for the first and then
  fail its insert (in a savepoint); it answers with the order the first one stored, read on a
  connection of its own (its transaction's snapshot predates that commit).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from contracts import OrderLine, OrderPlaced
from foundation.bulk import utc_now
from foundation.errors import ApiError
from integration_sdk.outbox import Outbox
from webshop.orders.schemas import OrderIn, OrderLineOut, OrderOut
from webshop.tables import catalog_article, customer_order, customer_order_line

PLACED = "placed"


def request_hash(order: OrderIn) -> str:
    """sha256 of the normalised request (what "the same request" means for an idempotency key)."""
    return hashlib.sha256(orjson.dumps(order.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)).hexdigest()


async def _priced_lines(session: AsyncSession, order: OrderIn) -> list[dict[str, Any]]:
    """The lines with their list prices; every unknown article or short stock named in one 422."""
    numbers = [line.article_number for line in order.lines]
    rows = await session.execute(
        sa.select(catalog_article.c.article_number, catalog_article.c.list_price, catalog_article.c.sellable_qty)
        .where(catalog_article.c.article_number.in_(numbers))
    )  # fmt: skip
    known = {row.article_number: row for row in rows}
    problems: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for index, line in enumerate(order.lines):
        field = f"lines.{index}"
        if line.article_number in seen:
            problems.append({"field": f"{field}.article_number", "value": line.article_number,
                             "problem": f"already ordered on line {seen[line.article_number]}"})  # fmt: skip
            continue
        seen[line.article_number] = index
        article = known.get(line.article_number)
        if article is None:
            problems.append({"field": f"{field}.article_number", "value": line.article_number,
                             "problem": "no such article in the catalogue"})  # fmt: skip
        elif line.quantity > article.sellable_qty:
            problems.append({"field": f"{field}.quantity", "value": line.quantity,
                             "problem": f"only {article.sellable_qty} sellable of {line.article_number}"})  # fmt: skip
    if problems:
        raise ApiError(422, "order_not_placeable", "The order cannot be placed as it is; see details.", problems)
    return [{"line_no": number, "article_number": line.article_number, "quantity": line.quantity,
             "unit_price": known[line.article_number].list_price}
            for number, line in enumerate(order.lines, start=1)]  # fmt: skip


async def find_order(session: AsyncSession | AsyncConnection, order_id: str) -> OrderOut | None:
    """An order with its lines, or None."""
    head = (await session.execute(sa.select(customer_order).where(customer_order.c.order_id == order_id))).one_or_none()
    if head is None:
        return None
    lines = await session.execute(
        sa.select(customer_order_line).where(customer_order_line.c.order_id == order_id)
        .order_by(customer_order_line.c.line_no)
    )  # fmt: skip
    return OrderOut(
        order_id=head.order_id, customer_id=head.customer_id, status=head.status, currency=head.currency,
        total=head.total_amount, erp_order_id=head.erp_order_id, tracking_number=head.tracking_number,
        status_reason=head.status_reason, created_at=head.created_at, updated_at=head.updated_at,
        lines=[OrderLineOut(line_no=row.line_no, article_number=row.article_number, quantity=row.quantity,
                            unit_price=row.unit_price) for row in lines],
    )  # fmt: skip


async def _existing(session: AsyncSession | AsyncConnection, idempotency_key: str, digest: str) -> OrderOut | None:
    row = (
        await session.execute(
            sa.select(customer_order.c.order_id, customer_order.c.request_hash).where(
                customer_order.c.idempotency_key == idempotency_key
            )
        )
    ).one_or_none()
    if row is None:
        return None
    if row.request_hash != digest:
        raise ApiError(409, "idempotency_key_reused", f"Idempotency-Key {idempotency_key!r} was used for another "
                       "order; send a new key for a new order.")  # fmt: skip
    return await find_order(session, row.order_id)


async def place_order(
    session: AsyncSession, outbox: Outbox, order: OrderIn, idempotency_key: str
) -> tuple[OrderOut, bool]:
    """The order for this key (created now: True; an earlier placement with the same request: False)."""
    digest = request_hash(order)
    existing = await _existing(session, idempotency_key, digest)
    if existing is not None:
        return existing, False
    lines = await _priced_lines(session, order)
    order_id = str(uuid.uuid4())
    now = utc_now()
    total = sum((line["unit_price"] * line["quantity"] for line in lines), Decimal("0.00"))
    try:
        async with session.begin_nested():
            await session.execute(
                customer_order.insert().values(
                    order_id=order_id,
                    idempotency_key=idempotency_key,
                    customer_id=order.customer_id,
                    status=PLACED,
                    total_amount=total,
                    currency=order.currency,
                    request_hash=digest,
                    created_at=now,
                    updated_at=now,
                )  # fmt: skip
            )
    except IntegrityError:  # a concurrent request with this key committed first
        assert isinstance(session.bind, AsyncEngine)
        async with session.bind.connect() as fresh:
            existing = await _existing(fresh, idempotency_key, digest)
        if existing is None:
            raise
        return existing, False
    await session.execute(customer_order_line.insert(), [{"order_id": order_id, **line} for line in lines])
    await outbox.add(
        session,
        OrderPlaced(
            order_id=uuid.UUID(order_id),
            idempotency_key=idempotency_key,
            customer_id=order.customer_id,
            lines=[
                OrderLine(
                    article_number=line["article_number"], quantity=line["quantity"], unit_price=line["unit_price"]
                )
                for line in lines
            ],
            total=total,
            currency=order.currency,
            placed_at=now.replace(tzinfo=UTC),
        ),  # fmt: skip
    )
    placed = await find_order(session, order_id)
    assert placed is not None
    return placed, True
