"""Orders: the request's hash beside its idempotency key, and the ERP's status, number, tracking and reason.

``request_hash`` (sha256 of the normalised request) tells a retried placement (same key, same request:
the stored answer) from a key reused for another order (409).

Revision ID: webshop_0005
Revises: webshop_0004
Create Date: 2026-11-26 09:00:00 UTC
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "webshop_0005"
down_revision: str | None = "webshop_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("customer_order", sa.Column("request_hash", sa.CHAR(64), nullable=False))
    op.add_column("customer_order", sa.Column("erp_order_id", sa.String(64), nullable=True))
    op.add_column("customer_order", sa.Column("tracking_number", sa.String(100), nullable=True))
    op.add_column("customer_order", sa.Column("status_reason", sa.String(255), nullable=True))


def downgrade() -> None:
    for column in ("status_reason", "tracking_number", "erp_order_id", "request_hash"):
        op.drop_column("customer_order", column)
