"""The performance spec's projection tables, defined once and added to each owning island's MetaData.

Each builder reproduces the DDL of ``performance-backlog.md`` ("Schema and index specs") exactly:
column names, types, nullability, defaults, primary key, index names and column order. The column
types below are the data model's shared vocabulary (docs/data-model.md).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

TIMESTAMP = mysql.DATETIME(fsp=3)  # DATETIME(3), UTC
MONEY = sa.Numeric(10, 2)
ARTICLE_NUMBER = sa.String(50)
SET_KEY = sa.CHAR(64)


def article_availability_projection(metadata: sa.MetaData) -> sa.Table:
    """Stock and best price per article, as the storefront reads it (spec table 1)."""
    return sa.Table(
        "article_availability_projection",
        metadata,
        sa.Column("article_number", ARTICLE_NUMBER, primary_key=True),
        sa.Column("sellable_qty", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("best_price", MONEY, nullable=False),
        sa.Column("next_delivery_date", sa.Date, nullable=True),
        sa.Column("source_batch_id", sa.String(64), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Index("idx_aap_qty_updated", "sellable_qty", "updated_at"),
        sa.Index("idx_aap_updated", "updated_at"),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )


def product_vehicle_mappings(metadata: sa.MetaData) -> sa.Table:
    """Which article fits which vehicle variant, with a match score (spec table 2)."""
    return sa.Table(
        "product_vehicle_mappings",
        metadata,
        sa.Column("vehicle_variant_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("article_number", ARTICLE_NUMBER, primary_key=True),
        sa.Column("product_type", sa.String(10), nullable=False),
        sa.Column("position", sa.String(10), nullable=False, server_default=sa.text("'both'")),
        sa.Column("is_original_equipment", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("match_score", sa.SmallInteger, nullable=False),
        sa.Column("computed_at", TIMESTAMP, nullable=False),
        sa.Index("idx_pvm_article_type_score", "article_number", "product_type", "match_score"),
        sa.Index("idx_pvm_vehicle_type_score", "vehicle_variant_id", "product_type", "match_score"),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )


def wheel_set_projection(metadata: sa.MetaData) -> sa.Table:
    """Composite wheel+tyre(+TPMS) sets per vehicle with quantity and price (spec table 3)."""
    return sa.Table(
        "wheel_set_projection",
        metadata,
        sa.Column("set_key", SET_KEY, primary_key=True),
        sa.Column("vehicle_variant_id", sa.Integer, nullable=False),
        sa.Column("season", sa.String(20), nullable=False),
        sa.Column("mounting_type", sa.String(20), nullable=False),
        sa.Column("wheel_front_article_number", ARTICLE_NUMBER, nullable=False),
        sa.Column("wheel_rear_article_number", ARTICLE_NUMBER, nullable=True),
        sa.Column("tyre_front_article_number", ARTICLE_NUMBER, nullable=False),
        sa.Column("tyre_rear_article_number", ARTICLE_NUMBER, nullable=True),
        sa.Column("tpms_article_number", ARTICLE_NUMBER, nullable=True),
        sa.Column("sellable_quantity", sa.Integer, nullable=False),
        sa.Column("set_price", MONEY, nullable=False),
        sa.Column("computed_at", TIMESTAMP, nullable=False),
        sa.Index("idx_wsp_vehicle_season_qty_price", "vehicle_variant_id", "season", "sellable_quantity", "set_price"),
        sa.Index("idx_wsp_computed", "computed_at"),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )


def wheel_set_component_index(metadata: sa.MetaData) -> sa.Table:
    """Reverse index component article -> sets it belongs to (spec table 4)."""
    return sa.Table(
        "wheel_set_component_index",
        metadata,
        sa.Column("component_article_number", ARTICLE_NUMBER, primary_key=True),
        sa.Column("component_role", sa.String(20), primary_key=True),
        sa.Column("set_key", SET_KEY, primary_key=True),
        sa.Index("idx_wsci_set_key", "set_key"),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )


def projection_job_checkpoint(metadata: sa.MetaData) -> sa.Table:
    """Last successful cursor/batch of each projection job (spec table 5)."""
    return sa.Table(
        "projection_job_checkpoint",
        metadata,
        sa.Column("job_name", sa.String(100), primary_key=True),
        sa.Column("scope_key", sa.String(100), nullable=False),
        sa.Column("last_success_cursor", sa.String(255), nullable=True),
        sa.Column("last_success_batch_id", sa.String(64), nullable=True),
        sa.Column("last_success_at", TIMESTAMP, nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.UniqueConstraint("job_name", "scope_key", name="uq_pjc_job_scope"),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )


def article_spec_columns() -> list[sa.Column[Any]]:
    """Typed tyre/wheel/tpms spec columns of a catalogue replica; NULL where the type has no such field."""
    return [
        # tyre
        sa.Column("width", sa.SmallInteger, nullable=True),
        sa.Column("aspect", sa.SmallInteger, nullable=True),
        sa.Column("rim_diameter", sa.SmallInteger, nullable=True),
        sa.Column("load_index", sa.SmallInteger, nullable=True),
        sa.Column("speed_rating", sa.String(4), nullable=True),
        sa.Column("season", sa.String(20), nullable=True),
        sa.Column("run_flat", sa.Boolean, nullable=True),
        sa.Column("xl", sa.Boolean, nullable=True),
        sa.Column("three_pmsf", sa.Boolean, nullable=True),
        sa.Column("eu_fuel", sa.CHAR(1), nullable=True),
        sa.Column("eu_wet", sa.CHAR(1), nullable=True),
        sa.Column("eu_noise_db", sa.SmallInteger, nullable=True),
        # wheel
        sa.Column("bolt_count", sa.SmallInteger, nullable=True),
        sa.Column("pcd", sa.Numeric(5, 1), nullable=True),
        sa.Column("wheel_diameter", sa.SmallInteger, nullable=True),
        sa.Column("wheel_width", sa.Numeric(3, 1), nullable=True),
        sa.Column("offset", sa.SmallInteger, nullable=True),
        sa.Column("center_bore", sa.Numeric(4, 1), nullable=True),
        sa.Column("wheel_load_kg", sa.Integer, nullable=True),
        sa.Column("material", sa.String(10), nullable=True),
        # tpms
        sa.Column("protocol", sa.String(20), nullable=True),
        sa.Column("frequency_mhz", sa.SmallInteger, nullable=True),
        sa.Column("compatible_makes", sa.JSON, nullable=True),
    ]
