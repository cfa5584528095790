"""Initial stock-import schema: every table of docs/data-model.md for this island.

Revision ID: stock_import_0001
Revises:
Create Date: 2026-11-25 07:00:00 UTC
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "stock_import_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "supplier",
        sa.Column("supplier_id", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("feed_format", sa.String(length=20), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("min_order_qty", sa.Integer(), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("1"), nullable=False),
        sa.Column("updated_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.PrimaryKeyConstraint("supplier_id"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "supplier_offer",
        sa.Column("supplier_id", sa.String(length=20), nullable=False),
        sa.Column("article_number", sa.String(length=50), nullable=False),
        sa.Column("supplier_sku", sa.String(length=100), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("purchase_price", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("delivery_date", sa.Date(), nullable=True),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("updated_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.PrimaryKeyConstraint("supplier_id", "article_number"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index("idx_supplier_offer_article_number", "supplier_offer", ["article_number"], unique=False)
    op.create_table(
        "import_batch",
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("supplier_id", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), server_default=sa.text("'received'"), nullable=False),
        sa.Column("rows_total", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("rows_ok", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("offers_changed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("aggregates_changed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("received_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.Column("started_at", mysql.DATETIME(fsp=3), nullable=True),
        sa.Column("finished_at", mysql.DATETIME(fsp=3), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("batch_id"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index("idx_import_batch_supplier_received", "import_batch", ["supplier_id", "received_at"], unique=False)
    op.create_table(
        "import_row_error",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index("idx_import_row_error_batch_row", "import_row_error", ["batch_id", "row_no"], unique=False)
    op.create_table(
        "article_stock_aggregate",
        sa.Column("article_number", sa.String(length=50), nullable=False),
        sa.Column("sellable_qty", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("best_price", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("next_delivery_date", sa.Date(), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("source_batch_id", sa.String(length=64), nullable=False),
        sa.Column("computed_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.PrimaryKeyConstraint("article_number"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "known_article",
        sa.Column("article_number", sa.String(length=50), nullable=False),
        sa.Column("article_type", sa.String(length=10), nullable=False),
        sa.Column("ean", sa.CHAR(length=13), nullable=True),
        sa.Column("updated_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.PrimaryKeyConstraint("article_number"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index("idx_known_article_ean", "known_article", ["ean"], unique=False)
    op.create_table(
        "projection_job_checkpoint",
        sa.Column("job_name", sa.String(length=100), nullable=False),
        sa.Column("scope_key", sa.String(length=100), nullable=False),
        sa.Column("last_success_cursor", sa.String(length=255), nullable=True),
        sa.Column("last_success_batch_id", sa.String(length=64), nullable=True),
        sa.Column("last_success_at", mysql.DATETIME(fsp=3), nullable=True),
        sa.Column("updated_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.PrimaryKeyConstraint("job_name"),
        sa.UniqueConstraint("job_name", "scope_key", name="uq_pjc_job_scope"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )


def downgrade() -> None:
    op.drop_table("projection_job_checkpoint")
    op.drop_table("known_article")
    op.drop_table("article_stock_aggregate")
    op.drop_table("import_row_error")
    op.drop_table("import_batch")
    op.drop_table("supplier_offer")
    op.drop_table("supplier")
