"""Fitment recompute: axles as the rules see them, tyre size fits on the tyre buckets, versions, work list.

- ``vehicle_axle_fitment.run_flat``: the factory fits run-flat tyres on that axle.
- ``vehicle_axle_size``: each axle's listed wheel sizes, what the set-based wheel check compares with.
- ``vehicle_tyre_bucket`` gains the fit of its size (tyres fit by size) and a variant index;
  ``vehicle_wheel_bucket`` gains the axle (a staggered variant's axles differ) and the axle's limits,
  ``product_wheel_bucket`` the wheel's sizes, so the bucket join checks on membership rows alone; the
  bucket tables were never written before this revision, so they are recreated.
- ``vehicle_tyre_exclusion``, ``fitment_version`` (per variant, for ordered announcements) and
  ``fitment_pending`` (the durable work list of the recompute).

Revision ID: vehicle_data_0003
Revises: vehicle_data_0002
Create Date: 2026-12-01 10:00:00 UTC
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "vehicle_data_0003"
down_revision: str | None = "vehicle_data_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}


def upgrade() -> None:
    op.add_column(
        "vehicle_axle_fitment", sa.Column("run_flat", sa.Boolean(), server_default=sa.text("0"), nullable=False)
    )
    op.create_index("idx_fitment_rule_variant", "fitment_rule", ["vehicle_variant_id", "deleted_at"])
    op.create_table(
        "vehicle_axle_size",
        sa.Column("vehicle_variant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("axle", sa.String(length=10), nullable=False),
        sa.Column("rim_diameter", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("wheel_width", sa.Numeric(precision=3, scale=1), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("vehicle_variant_id", "axle", "rim_diameter", "wheel_width", "kind"),
        **TABLE,
    )
    op.drop_table("vehicle_tyre_bucket")
    op.create_table(
        "vehicle_tyre_bucket",
        sa.Column("tyre_bucket", sa.String(length=40), nullable=False),
        sa.Column("vehicle_variant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("axle", sa.String(length=10), nullable=False),
        sa.Column("width", sa.SmallInteger(), nullable=False),
        sa.Column("aspect", sa.SmallInteger(), nullable=False),
        sa.Column("rim_diameter", sa.SmallInteger(), nullable=False),
        sa.Column("base_score", sa.SmallInteger(), nullable=False),
        sa.Column("is_original_equipment", sa.Boolean(), nullable=False),
        sa.Column("min_load_index", sa.SmallInteger(), nullable=False),
        sa.Column("reference_speed_rating", sa.String(length=4), nullable=False),
        sa.Column("reference_run_flat", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(length=30), nullable=False),
        sa.Column("computed_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.PrimaryKeyConstraint("tyre_bucket", "vehicle_variant_id", "axle"),
        **TABLE,
    )
    op.create_index("idx_vehicle_tyre_bucket_variant", "vehicle_tyre_bucket", ["vehicle_variant_id", "axle"])
    op.create_index("idx_product_tyre_bucket_article", "product_tyre_bucket", ["article_number"])
    op.drop_table("vehicle_wheel_bucket")
    op.create_table(
        "vehicle_wheel_bucket",
        sa.Column("wheel_bucket", sa.String(length=64), nullable=False),
        sa.Column("vehicle_variant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("axle", sa.String(length=10), nullable=False),
        sa.Column("rim_diameter", sa.SmallInteger(), nullable=False),
        sa.Column("hub_bore", sa.Numeric(precision=4, scale=1), nullable=False),
        sa.Column("offset_min", sa.SmallInteger(), nullable=False),
        sa.Column("offset_max", sa.SmallInteger(), nullable=False),
        sa.Column("axle_load_kg", sa.Integer(), nullable=False),
        sa.Column("oe_wheel_offset", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("wheel_bucket", "vehicle_variant_id", "axle"),
        **TABLE,
    )
    op.create_index("idx_vehicle_wheel_bucket_variant", "vehicle_wheel_bucket", ["vehicle_variant_id"])
    op.drop_table("product_wheel_bucket")
    op.create_table(
        "product_wheel_bucket",
        sa.Column("wheel_bucket", sa.String(length=64), nullable=False),
        sa.Column("article_number", sa.String(length=50), nullable=False),
        sa.Column("wheel_width", sa.Numeric(precision=3, scale=1), nullable=False),
        sa.Column("offset", sa.SmallInteger(), nullable=False),
        sa.Column("center_bore", sa.Numeric(precision=4, scale=1), nullable=False),
        sa.Column("wheel_load_kg", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("wheel_bucket", "article_number"),
        **TABLE,
    )
    op.create_index("idx_product_wheel_bucket_article", "product_wheel_bucket", ["article_number"])
    op.create_table(
        "vehicle_tyre_exclusion",
        sa.Column("vehicle_variant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("axle", sa.String(length=10), nullable=False),
        sa.Column("article_number", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("vehicle_variant_id", "axle", "article_number"),
        **TABLE,
    )
    op.create_table(
        "fitment_version",
        sa.Column("vehicle_variant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.PrimaryKeyConstraint("vehicle_variant_id"),
        **TABLE,
    )
    op.create_index("idx_fitment_version_changed", "fitment_version", ["changed_at"])
    op.create_table(
        "fitment_pending",
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("item_key", sa.String(length=50), nullable=False),
        sa.Column("requested_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.PrimaryKeyConstraint("kind", "item_key"),
        **TABLE,
    )


def downgrade() -> None:
    op.drop_table("fitment_pending")
    op.drop_table("fitment_version")
    op.drop_table("vehicle_tyre_exclusion")
    op.drop_table("product_wheel_bucket")
    op.create_table(
        "product_wheel_bucket",
        sa.Column("wheel_bucket", sa.String(length=64), nullable=False),
        sa.Column("article_number", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("wheel_bucket", "article_number"),
        **TABLE,
    )
    op.drop_table("vehicle_wheel_bucket")
    op.create_table(
        "vehicle_wheel_bucket",
        sa.Column("wheel_bucket", sa.String(length=64), nullable=False),
        sa.Column("vehicle_variant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("wheel_bucket", "vehicle_variant_id"),
        **TABLE,
    )
    op.drop_index("idx_product_tyre_bucket_article", table_name="product_tyre_bucket")
    op.drop_table("vehicle_tyre_bucket")
    op.create_table(
        "vehicle_tyre_bucket",
        sa.Column("tyre_bucket", sa.String(length=40), nullable=False),
        sa.Column("vehicle_variant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("axle", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("tyre_bucket", "vehicle_variant_id", "axle"),
        **TABLE,
    )
    op.drop_table("vehicle_axle_size")
    op.drop_index("idx_fitment_rule_variant", table_name="fitment_rule")
    op.drop_column("vehicle_axle_fitment", "run_flat")
