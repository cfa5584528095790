"""Fitment replica: vehicle variants for the selector, tyre size fits and exclusions, the tyre lookup index.

- ``vehicle_variant``: the selector's copy of vehicle-data's variants (make → model → year → variant).
- ``vehicle_tyre_fitment``, ``vehicle_tyre_exclusion``: tyres fit by size, so the tyre part of the
  mapping replica is each axle's sizes with their limits; wheels (and tyres an operator included) are
  rows of ``product_vehicle_mappings`` (spec table, created in webshop_0001).
- ``idx_catalog_article_tyre_fitment``: the vehicle tyre lookup reads a size's tyres with the columns the
  fit check, the score and the sort need from the index alone, then the page's rows by key.

Revision ID: webshop_0006
Revises: webshop_0005
Create Date: 2026-12-01 11:00:00 UTC
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "webshop_0006"
down_revision: str | None = "webshop_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}
TYRE_FITMENT_INDEX = ["width", "aspect", "rim_diameter", "load_index", "speed_rating", "season", "run_flat",
                      "best_price", "sellable_qty", "article_number"]  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "vehicle_variant",
        sa.Column("vehicle_variant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("make", sa.String(length=50), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("generation", sa.String(length=100), nullable=False),
        sa.Column("variant_name", sa.String(length=200), nullable=False),
        sa.Column("year_from", sa.SmallInteger(), nullable=False),
        sa.Column("year_to", sa.SmallInteger(), nullable=True),
        sa.Column("engine", sa.String(length=100), nullable=False),
        sa.Column("body", sa.String(length=100), nullable=False),
        sa.Column("drive", sa.String(length=10), nullable=False),
        sa.Column("bolt_count", sa.SmallInteger(), nullable=False),
        sa.Column("pcd", sa.Numeric(precision=5, scale=1), nullable=False),
        sa.Column("hub_bore", sa.Numeric(precision=4, scale=1), nullable=False),
        sa.Column("tpms_type", sa.String(length=10), nullable=False),
        sa.Column("is_staggered", sa.Boolean(), nullable=False),
        sa.Column("fitments", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.PrimaryKeyConstraint("vehicle_variant_id"),
        **TABLE,
    )
    op.create_index("idx_vehicle_variant_make_model_year", "vehicle_variant", ["make", "model", "year_from"])
    op.create_index("idx_vehicle_variant_model", "vehicle_variant", ["model"])
    op.create_table(
        "vehicle_tyre_fitment",
        sa.Column("vehicle_variant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("axle", sa.String(length=10), nullable=False),
        sa.Column("width", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("aspect", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("rim_diameter", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("base_score", sa.SmallInteger(), nullable=False),
        sa.Column("is_original_equipment", sa.Boolean(), nullable=False),
        sa.Column("min_load_index", sa.SmallInteger(), nullable=False),
        sa.Column("reference_speed_rating", sa.String(length=4), nullable=False),
        sa.Column("reference_run_flat", sa.Boolean(), nullable=False),
        sa.Column("computed_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.PrimaryKeyConstraint("vehicle_variant_id", "axle", "width", "aspect", "rim_diameter"),
        **TABLE,
    )
    op.create_table(
        "vehicle_tyre_exclusion",
        sa.Column("vehicle_variant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("axle", sa.String(length=10), nullable=False),
        sa.Column("article_number", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("vehicle_variant_id", "axle", "article_number"),
        **TABLE,
    )
    op.create_index("idx_catalog_article_tyre_fitment", "catalog_article", TYRE_FITMENT_INDEX)


def downgrade() -> None:
    op.drop_index("idx_catalog_article_tyre_fitment", table_name="catalog_article")
    op.drop_table("vehicle_tyre_exclusion")
    op.drop_table("vehicle_tyre_fitment")
    op.drop_table("vehicle_variant")
