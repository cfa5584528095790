"""Initial platform-export schema: every table of docs/data-model.md for this island.

Revision ID: platform_export_0001
Revises:
Create Date: 2026-11-25 07:00:00 UTC
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "platform_export_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "platform",
        sa.Column("platform_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("markup_pct", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("min_stock", sa.Integer(), nullable=False),
        sa.Column("brand_filter", sa.JSON(), nullable=True),
        sa.Column("type_filter", sa.JSON(), nullable=True),
        sa.Column("delivery_channel", sa.String(length=10), nullable=False),
        sa.Column("endpoint_url", sa.String(length=255), nullable=True),
        sa.Column("delta_interval_min", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("1"), nullable=False),
        sa.Column("updated_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.PrimaryKeyConstraint("platform_id"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "export_article",
        sa.Column("article_number", sa.String(length=50), nullable=False),
        sa.Column("article_type", sa.String(length=10), nullable=True),
        sa.Column("brand", sa.String(length=100), nullable=True),
        sa.Column("ean", sa.CHAR(length=13), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("list_price", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("sellable_qty", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("best_price", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("next_delivery_date", sa.Date(), nullable=True),
        sa.Column("catalog_version", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("stock_version", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("changed_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.PrimaryKeyConstraint("article_number"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index("idx_export_article_changed_at", "export_article", ["changed_at"], unique=False)
    op.create_table(
        "export_run",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("platform_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("items", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("bytes", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("cursor", sa.String(length=255), nullable=True),
        sa.Column("started_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.Column("finished_at", mysql.DATETIME(fsp=3), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index("idx_export_run_platform_started", "export_run", ["platform_id", "started_at"], unique=False)
    op.create_table(
        "platform_order",
        sa.Column("platform_id", sa.String(length=40), nullable=False),
        sa.Column("platform_order_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("order_key", sa.String(length=100), nullable=False),
        sa.Column("tracking_number", sa.String(length=100), nullable=True),
        sa.Column("imported_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.Column("updated_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.PrimaryKeyConstraint("platform_id", "platform_order_id"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index("idx_platform_order_order_key", "platform_order", ["order_key"], unique=False)


def downgrade() -> None:
    op.drop_table("platform_order")
    op.drop_table("export_run")
    op.drop_table("export_article")
    op.drop_table("platform")
