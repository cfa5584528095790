"""Initial webshop schema: every table of docs/data-model.md for this island.

Revision ID: webshop_0001
Revises:
Create Date: 2026-11-25 07:00:00 UTC
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "webshop_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_article",
        sa.Column("article_number", sa.String(length=50), nullable=False),
        sa.Column("article_type", sa.String(length=10), nullable=False),
        sa.Column("ean", sa.CHAR(length=13), nullable=True),
        sa.Column("brand", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("list_price", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("width", sa.SmallInteger(), nullable=True),
        sa.Column("aspect", sa.SmallInteger(), nullable=True),
        sa.Column("rim_diameter", sa.SmallInteger(), nullable=True),
        sa.Column("load_index", sa.SmallInteger(), nullable=True),
        sa.Column("speed_rating", sa.String(length=4), nullable=True),
        sa.Column("season", sa.String(length=20), nullable=True),
        sa.Column("run_flat", sa.Boolean(), nullable=True),
        sa.Column("xl", sa.Boolean(), nullable=True),
        sa.Column("three_pmsf", sa.Boolean(), nullable=True),
        sa.Column("eu_fuel", sa.CHAR(length=1), nullable=True),
        sa.Column("eu_wet", sa.CHAR(length=1), nullable=True),
        sa.Column("eu_noise_db", sa.SmallInteger(), nullable=True),
        sa.Column("bolt_count", sa.SmallInteger(), nullable=True),
        sa.Column("pcd", sa.Numeric(precision=5, scale=1), nullable=True),
        sa.Column("wheel_diameter", sa.SmallInteger(), nullable=True),
        sa.Column("wheel_width", sa.Numeric(precision=3, scale=1), nullable=True),
        sa.Column("offset", sa.SmallInteger(), nullable=True),
        sa.Column("center_bore", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("wheel_load_kg", sa.Integer(), nullable=True),
        sa.Column("material", sa.String(length=10), nullable=True),
        sa.Column("protocol", sa.String(length=20), nullable=True),
        sa.Column("frequency_mhz", sa.SmallInteger(), nullable=True),
        sa.Column("compatible_makes", sa.JSON(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.PrimaryKeyConstraint("article_number"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index("idx_catalog_article_ean", "catalog_article", ["ean"], unique=False)
    op.create_index(
        "idx_catalog_article_tyre_size", "catalog_article", ["width", "aspect", "rim_diameter"], unique=False
    )
    op.create_index("idx_catalog_article_wheel_size", "catalog_article", ["pcd", "wheel_diameter"], unique=False)
    op.create_table(
        "article_availability_projection",
        sa.Column("article_number", sa.String(length=50), nullable=False),
        sa.Column("sellable_qty", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("best_price", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("next_delivery_date", sa.Date(), nullable=True),
        sa.Column("source_batch_id", sa.String(length=64), nullable=True),
        sa.Column("updated_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.PrimaryKeyConstraint("article_number"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index(
        "idx_aap_qty_updated", "article_availability_projection", ["sellable_qty", "updated_at"], unique=False
    )
    op.create_index("idx_aap_updated", "article_availability_projection", ["updated_at"], unique=False)
    op.create_table(
        "product_vehicle_mappings",
        sa.Column("vehicle_variant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("article_number", sa.String(length=50), nullable=False),
        sa.Column("product_type", sa.String(length=10), nullable=False),
        sa.Column("position", sa.String(length=10), server_default=sa.text("'both'"), nullable=False),
        sa.Column("is_original_equipment", sa.Boolean(), server_default=sa.text("0"), nullable=False),
        sa.Column("match_score", sa.SmallInteger(), nullable=False),
        sa.Column("computed_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.PrimaryKeyConstraint("vehicle_variant_id", "article_number"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index(
        "idx_pvm_article_type_score",
        "product_vehicle_mappings",
        ["article_number", "product_type", "match_score"],
        unique=False,
    )
    op.create_index(
        "idx_pvm_vehicle_type_score",
        "product_vehicle_mappings",
        ["vehicle_variant_id", "product_type", "match_score"],
        unique=False,
    )
    op.create_table(
        "wheel_set_projection",
        sa.Column("set_key", sa.CHAR(length=64), nullable=False),
        sa.Column("vehicle_variant_id", sa.Integer(), nullable=False),
        sa.Column("season", sa.String(length=20), nullable=False),
        sa.Column("mounting_type", sa.String(length=20), nullable=False),
        sa.Column("wheel_front_article_number", sa.String(length=50), nullable=False),
        sa.Column("wheel_rear_article_number", sa.String(length=50), nullable=True),
        sa.Column("tyre_front_article_number", sa.String(length=50), nullable=False),
        sa.Column("tyre_rear_article_number", sa.String(length=50), nullable=True),
        sa.Column("tpms_article_number", sa.String(length=50), nullable=True),
        sa.Column("sellable_quantity", sa.Integer(), nullable=False),
        sa.Column("set_price", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("computed_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.PrimaryKeyConstraint("set_key"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index("idx_wsp_computed", "wheel_set_projection", ["computed_at"], unique=False)
    op.create_index(
        "idx_wsp_vehicle_season_qty_price",
        "wheel_set_projection",
        ["vehicle_variant_id", "season", "sellable_quantity", "set_price"],
        unique=False,
    )
    op.create_table(
        "wheel_set_component_index",
        sa.Column("component_article_number", sa.String(length=50), nullable=False),
        sa.Column("component_role", sa.String(length=20), nullable=False),
        sa.Column("set_key", sa.CHAR(length=64), nullable=False),
        sa.PrimaryKeyConstraint("component_article_number", "component_role", "set_key"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index("idx_wsci_set_key", "wheel_set_component_index", ["set_key"], unique=False)
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
    op.create_table(
        "customer_order",
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total_amount", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), server_default=sa.text("'EUR'"), nullable=False),
        sa.Column("created_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.Column("updated_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
        sa.UniqueConstraint("idempotency_key", name="uq_customer_order_idempotency_key"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "customer_order_line",
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("line_no", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("article_number", sa.String(length=50), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "line_no"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )


def downgrade() -> None:
    op.drop_table("customer_order_line")
    op.drop_table("customer_order")
    op.drop_table("projection_job_checkpoint")
    op.drop_table("wheel_set_component_index")
    op.drop_table("wheel_set_projection")
    op.drop_table("product_vehicle_mappings")
    op.drop_table("article_availability_projection")
    op.drop_table("catalog_article")
