"""Order bridge: when the ERP accepted an order and why it refused one; the ERP status feed's cursor.

Revision ID: erp_middleware_0003
Revises: erp_middleware_0002
Create Date: 2026-11-26 09:00:00 UTC
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "erp_middleware_0003"
down_revision: str | None = "erp_middleware_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("erp_order", sa.Column("accepted_at", mysql.DATETIME(fsp=3), nullable=True))
    op.add_column("erp_order", sa.Column("status_reason", sa.String(255), nullable=True))
    op.create_table(
        "erp_status_cursor",
        sa.Column("feed", sa.String(40), primary_key=True),
        sa.Column("last_seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("updated_at", mysql.DATETIME(fsp=3), nullable=False),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )


def downgrade() -> None:
    op.drop_table("erp_status_cursor")
    op.drop_column("erp_order", "status_reason")
    op.drop_column("erp_order", "accepted_at")
