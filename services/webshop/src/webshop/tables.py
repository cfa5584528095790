"""Webshop schema: storefront projections (spec DDL) and customer orders, as SQLAlchemy Core tables."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from integration_sdk import spec_tables as spec
from integration_sdk.spec_tables import ARTICLE_NUMBER, MONEY, TIMESTAMP

metadata = sa.MetaData()
TYRE_SIZE = ("width", "aspect", "rim_diameter")
TYRE_FILTERS = ("season", "load_index", "speed_rating", "run_flat", "sellable_qty")  # held by the tyre price indexes
NO_PRICE_KEY = Decimal("99999999.99")  # the price key of an unpriced article: after every price

catalog_article = sa.Table(
    "catalog_article",
    metadata,
    sa.Column("article_number", ARTICLE_NUMBER, primary_key=True),
    sa.Column("article_type", sa.String(10), nullable=False),
    sa.Column("ean", sa.CHAR(13), nullable=True),
    sa.Column("brand", sa.String(100), nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("description", sa.String(255), nullable=False),
    sa.Column("list_price", MONEY, nullable=False),
    *spec.article_spec_columns(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    # Copy of the article's availability (migration webshop_0003 says why), kept by the stock handler.
    sa.Column("sellable_qty", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("best_price", MONEY, nullable=True),
    sa.Column("next_delivery_date", sa.Date, nullable=True),
    # The vehicle lookup's price order, unpriced last, as one column (migration webshop_0010): computed,
    # never written, stored only in its index.
    sa.Column("price_key", MONEY, sa.Computed(f"COALESCE(best_price, {NO_PRICE_KEY})", persisted=False)),
    # Search indexes (migration webshop_0004 says why these and no more). Each sort index names
    # article_number (the keyset tie-break) explicitly: MariaDB only reads an index in ORDER BY order when
    # the ORDER BY columns are named in it, not through the primary key InnoDB appends implicitly.
    sa.Index("idx_catalog_article_tyre_size_qty", *TYRE_SIZE, "sellable_qty", "article_number", "season", "brand"),
    # The price one also holds the tyre filter columns (migration webshop_0007): a search by size with
    # those filters checks them in the index.
    sa.Index("idx_catalog_article_tyre_size_price", *TYRE_SIZE, "best_price", "article_number", *TYRE_FILTERS),
    # The vehicle tyre lookup: each score class of a size in price order (priced, then unpriced) as one
    # range, its filters (load index, speed rating, run-flat, stock) checked in the index.
    sa.Index("idx_catalog_article_tyre_lookup", *TYRE_SIZE, "price_key", "article_number", *TYRE_FILTERS),
    sa.Index("idx_catalog_article_wheel_size_qty", "pcd", "wheel_diameter", "sellable_qty", "article_number", "brand"),
    sa.Index("idx_catalog_article_wheel_size_price", "pcd", "wheel_diameter", "best_price", "article_number"),
    sa.Index("idx_catalog_article_type_qty", "article_type", "sellable_qty", "article_number"),
    sa.Index("idx_catalog_article_type_price", "article_type", "best_price", "article_number"),
    sa.Index("idx_catalog_article_brand_model", "brand", "model", "article_number"),
    sa.Index("idx_catalog_article_ean", "ean"),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

article_availability_projection = spec.article_availability_projection(metadata)
product_vehicle_mappings = spec.product_vehicle_mappings(metadata)  # replica of vehicle-data's mapping

# The vehicle selector's replica of vehicle-data's variants (``vehicle.variant.upserted``, by version).
vehicle_variant = sa.Table(
    "vehicle_variant",
    metadata,
    sa.Column("vehicle_variant_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("make", sa.String(50), nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("generation", sa.String(100), nullable=False),
    sa.Column("variant_name", sa.String(200), nullable=False),
    sa.Column("year_from", sa.SmallInteger, nullable=False),
    sa.Column("year_to", sa.SmallInteger, nullable=True),
    sa.Column("engine", sa.String(100), nullable=False),
    sa.Column("body", sa.String(100), nullable=False),
    sa.Column("drive", sa.String(10), nullable=False),
    sa.Column("bolt_count", sa.SmallInteger, nullable=False),
    sa.Column("pcd", sa.Numeric(5, 1), nullable=False),
    sa.Column("hub_bore", sa.Numeric(4, 1), nullable=False),
    sa.Column("tpms_type", sa.String(10), nullable=False),
    sa.Column("is_staggered", sa.Boolean, nullable=False),
    sa.Column("fitments", sa.JSON, nullable=False),  # the sizes per axle, as the provider lists them
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    sa.Index("idx_vehicle_variant_make_model_year", "make", "model", "year_from"),
    sa.Index("idx_vehicle_variant_model", "model"),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

# The tyre part of the mapping replica: tyres fit by size (``contracts.TyreSizeFitment``), so the replica
# holds each axle's sizes with their limits, and the tyre lookup joins them to ``catalog_article``.
vehicle_tyre_fitment = sa.Table(
    "vehicle_tyre_fitment",
    metadata,
    sa.Column("vehicle_variant_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("axle", sa.String(10), primary_key=True),
    sa.Column("width", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("aspect", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("rim_diameter", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("base_score", sa.SmallInteger, nullable=False),
    sa.Column("is_original_equipment", sa.Boolean, nullable=False),
    sa.Column("min_load_index", sa.SmallInteger, nullable=False),
    sa.Column("reference_speed_rating", sa.String(4), nullable=False),
    sa.Column("reference_run_flat", sa.Boolean, nullable=False),
    sa.Column("computed_at", TIMESTAMP, nullable=False),
    sa.Index("idx_vtf_size", *TYRE_SIZE),  # a tyre's catalogue change → the variants taking its size
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

vehicle_tyre_exclusion = sa.Table(
    "vehicle_tyre_exclusion",
    metadata,
    sa.Column("vehicle_variant_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("axle", sa.String(10), primary_key=True),
    sa.Column("article_number", ARTICLE_NUMBER, primary_key=True),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)
# The spec's set table plus what the set list filters and shows without reading components (webshop_0008).
wheel_set_projection = spec.wheel_set_projection(metadata)
for _column in (
    sa.Column("is_staggered", sa.Boolean, nullable=False),
    sa.Column("rim_diameter", sa.SmallInteger, nullable=False),
    sa.Column("match_score", sa.SmallInteger, nullable=False),
    sa.Column("mounting_fee", MONEY, nullable=False),
    sa.Column("tpms_missing", sa.Boolean, nullable=False),  # a direct-TPMS vehicle's set without a sensor
):
    wheel_set_projection.append_column(_column)
wheel_set_component_index = spec.wheel_set_component_index(metadata)
# Variants to compose again because a tyre of a size they take is new to the catalogue or changed: each
# once, however many catalogue batches name its sizes (the set handler takes them a chunk at a time).
wheel_set_pending = sa.Table(
    "wheel_set_pending",
    metadata,
    sa.Column("vehicle_variant_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("listed_at", TIMESTAMP, nullable=False),
)
projection_job_checkpoint = spec.projection_job_checkpoint(metadata)

customer_order = sa.Table(
    "customer_order",
    metadata,
    sa.Column("order_id", sa.String(36), primary_key=True),
    sa.Column("idempotency_key", sa.String(100), nullable=False),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("total_amount", MONEY, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False, server_default=sa.text("'EUR'")),
    sa.Column("request_hash", sa.CHAR(64), nullable=False),
    sa.Column("erp_order_id", sa.String(64), nullable=True),
    sa.Column("tracking_number", sa.String(100), nullable=True),
    sa.Column("status_reason", sa.String(255), nullable=True),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    sa.UniqueConstraint("idempotency_key", name="uq_customer_order_idempotency_key"),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

customer_order_line = sa.Table(
    "customer_order_line",
    metadata,
    sa.Column("order_id", sa.String(36), primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("article_number", ARTICLE_NUMBER, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("unit_price", MONEY, nullable=False),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)
