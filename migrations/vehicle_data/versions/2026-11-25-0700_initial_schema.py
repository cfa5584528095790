"""Initial vehicle-data schema: every table of docs/data-model.md for this island.

Revision ID: vehicle_data_0001
Revises:
Create Date: 2026-11-25 07:00:00 UTC
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "vehicle_data_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vehicle_variant",
        sa.Column("vehicle_variant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("make", sa.String(length=50), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("generation", sa.String(length=100), nullable=False),
        sa.Column("variant_name", sa.String(length=150), nullable=False),
        sa.Column("year_from", sa.SmallInteger(), nullable=False),
        sa.Column("year_to", sa.SmallInteger(), nullable=True),
        sa.Column("engine", sa.String(length=100), nullable=False),
        sa.Column("body", sa.String(length=50), nullable=False),
        sa.Column("drive", sa.String(length=10), nullable=False),
        sa.Column("bolt_count", sa.SmallInteger(), nullable=False),
        sa.Column("pcd", sa.Numeric(precision=5, scale=1), nullable=False),
        sa.Column("hub_bore", sa.Numeric(precision=4, scale=1), nullable=False),
        sa.Column("offset_min", sa.SmallInteger(), nullable=False),
        sa.Column("offset_max", sa.SmallInteger(), nullable=False),
        sa.Column("fastener", sa.String(length=10), nullable=False),
        sa.Column("thread", sa.String(length=20), nullable=False),
        sa.Column("axle_load_front_kg", sa.Integer(), nullable=False),
        sa.Column("axle_load_rear_kg", sa.Integer(), nullable=False),
        sa.Column("tpms_type", sa.String(length=10), nullable=False),
        sa.Column("is_staggered", sa.Boolean(), server_default=sa.text("0"), nullable=False),
        sa.Column("content_hash", sa.CHAR(length=64), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("updated_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.PrimaryKeyConstraint("vehicle_variant_id"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index(
        "idx_vehicle_variant_make_model_year", "vehicle_variant", ["make", "model", "year_from"], unique=False
    )
    op.create_table(
        "vehicle_axle_fitment",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("vehicle_variant_id", sa.Integer(), nullable=False),
        sa.Column("axle", sa.String(length=10), nullable=False),
        sa.Column("fitment_kind", sa.String(length=10), nullable=False),
        sa.Column("tyre_width", sa.SmallInteger(), nullable=False),
        sa.Column("tyre_aspect", sa.SmallInteger(), nullable=False),
        sa.Column("rim_diameter", sa.SmallInteger(), nullable=False),
        sa.Column("wheel_width", sa.Numeric(precision=3, scale=1), nullable=False),
        sa.Column("wheel_offset", sa.SmallInteger(), nullable=False),
        sa.Column("load_index", sa.SmallInteger(), nullable=False),
        sa.Column("speed_rating", sa.String(length=4), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "vehicle_variant_id",
            "axle",
            "fitment_kind",
            "tyre_width",
            "tyre_aspect",
            "rim_diameter",
            name="uq_vehicle_axle_fitment_size",
        ),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "fitment_rule",
        sa.Column("rule_id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("vehicle_variant_id", sa.Integer(), nullable=False),
        sa.Column("axle", sa.String(length=10), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("article_number", sa.String(length=50), nullable=True),
        sa.Column("tyre_size", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.Column("deleted_at", mysql.DATETIME(fsp=3), nullable=True),
        sa.PrimaryKeyConstraint("rule_id"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "product_spec",
        sa.Column("article_number", sa.String(length=50), nullable=False),
        sa.Column("product_type", sa.String(length=10), nullable=False),
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
    op.create_table(
        "vehicle_tyre_bucket",
        sa.Column("tyre_bucket", sa.String(length=40), nullable=False),
        sa.Column("vehicle_variant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("axle", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("tyre_bucket", "vehicle_variant_id", "axle"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "product_tyre_bucket",
        sa.Column("tyre_bucket", sa.String(length=40), nullable=False),
        sa.Column("article_number", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("tyre_bucket", "article_number"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "vehicle_wheel_bucket",
        sa.Column("wheel_bucket", sa.String(length=64), nullable=False),
        sa.Column("vehicle_variant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("wheel_bucket", "vehicle_variant_id"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "product_wheel_bucket",
        sa.Column("wheel_bucket", sa.String(length=64), nullable=False),
        sa.Column("article_number", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("wheel_bucket", "article_number"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
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
    op.drop_table("product_vehicle_mappings")
    op.drop_table("product_wheel_bucket")
    op.drop_table("vehicle_wheel_bucket")
    op.drop_table("product_tyre_bucket")
    op.drop_table("vehicle_tyre_bucket")
    op.drop_table("product_spec")
    op.drop_table("fitment_rule")
    op.drop_table("vehicle_axle_fitment")
    op.drop_table("vehicle_variant")
