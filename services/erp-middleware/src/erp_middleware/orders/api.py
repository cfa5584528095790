"""Orders handed to the ERP, for operators: status, attempts, the last error, the ERP's number and tracking."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query

from erp_middleware.tables import erp_order
from foundation.app import ReaderDep
from foundation.db import plain_row
from foundation.errors import ApiError

router = APIRouter(prefix="/api/v1/erp-orders", tags=["orders"])
COLUMNS = [column for column in erp_order.columns if column.name != "payload"]


@router.get("")
async def list_orders(
    reader: ReaderDep,
    status: Annotated[str | None, Query(max_length=20, description="Only this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Orders handed to the ERP, most recently changed first."""
    query = sa.select(*COLUMNS).order_by(erp_order.c.updated_at.desc()).limit(limit)
    if status:
        query = query.where(erp_order.c.status == status)
    async with reader.connect() as conn:
        rows = (await conn.execute(query)).all()
    return {"items": [plain_row(row) for row in rows]}


@router.get("/{order_key}")
async def get_order(reader: ReaderDep, order_key: Annotated[str, Path(max_length=100)]) -> dict[str, Any]:
    """One order with the request sent to the ERP."""
    async with reader.connect() as conn:
        row = (await conn.execute(sa.select(erp_order).where(erp_order.c.order_key == order_key))).one_or_none()
    if row is None:
        raise ApiError(404, "not_found", f"No order {order_key!r} was handed to the ERP.")
    return plain_row(row)
