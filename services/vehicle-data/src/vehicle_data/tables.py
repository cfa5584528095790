"""Vehicle-data schema: vehicles, axle fitments, rules, the product replica, buckets and the mapping.

Source data: ``vehicle_variant`` and ``vehicle_axle_fitment`` (the provider's sync), ``fitment_rule``
(operators), ``product_spec`` (catalogue events). Derived by the recompute (``vehicle_data.fitment``):
``vehicle_axle_size`` (each axle's listed wheel sizes), the bucket memberships (with what the checks read),
the tyre size fitments (``vehicle_tyre_bucket``'s fit columns), ``product_vehicle_mappings`` and the
per-variant ``fitment_version``. ``fitment_pending`` is the durable work list of the recompute.
"""

from __future__ import annotations

import sqlalchemy as sa

from integration_sdk import spec_tables as spec
from integration_sdk.spec_tables import ARTICLE_NUMBER, TIMESTAMP

metadata = sa.MetaData()

TYRE_BUCKET = sa.String(40)  # width:aspect:diameter:position, e.g. "225:45:17:both"
WHEEL_BUCKET = sa.String(64)  # pcd:diameter:center_bore_floor:offset_range, e.g. "5x112.0:17:66:35-45"

vehicle_variant = sa.Table(
    "vehicle_variant",
    metadata,
    sa.Column("vehicle_variant_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("make", sa.String(50), nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("generation", sa.String(100), nullable=False),
    sa.Column("variant_name", sa.String(150), nullable=False),
    sa.Column("year_from", sa.SmallInteger, nullable=False),
    sa.Column("year_to", sa.SmallInteger, nullable=True),
    sa.Column("engine", sa.String(100), nullable=False),
    sa.Column("body", sa.String(50), nullable=False),
    sa.Column("drive", sa.String(10), nullable=False),
    sa.Column("bolt_count", sa.SmallInteger, nullable=False),
    sa.Column("pcd", sa.Numeric(5, 1), nullable=False),
    sa.Column("hub_bore", sa.Numeric(4, 1), nullable=False),
    sa.Column("offset_min", sa.SmallInteger, nullable=False),
    sa.Column("offset_max", sa.SmallInteger, nullable=False),
    sa.Column("fastener", sa.String(10), nullable=False),
    sa.Column("thread", sa.String(20), nullable=False),
    sa.Column("axle_load_front_kg", sa.Integer, nullable=False),
    sa.Column("axle_load_rear_kg", sa.Integer, nullable=False),
    sa.Column("tpms_type", sa.String(10), nullable=False),
    sa.Column("is_staggered", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("content_hash", sa.CHAR(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    sa.Index("idx_vehicle_variant_make_model_year", "make", "model", "year_from"),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

vehicle_axle_fitment = sa.Table(
    "vehicle_axle_fitment",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("vehicle_variant_id", sa.Integer, nullable=False),
    sa.Column("axle", sa.String(10), nullable=False),
    sa.Column("fitment_kind", sa.String(10), nullable=False),
    sa.Column("tyre_width", sa.SmallInteger, nullable=False),
    sa.Column("tyre_aspect", sa.SmallInteger, nullable=False),
    sa.Column("rim_diameter", sa.SmallInteger, nullable=False),
    sa.Column("wheel_width", sa.Numeric(3, 1), nullable=False),
    sa.Column("wheel_offset", sa.SmallInteger, nullable=False),
    sa.Column("load_index", sa.SmallInteger, nullable=False),
    sa.Column("speed_rating", sa.String(4), nullable=False),
    sa.Column("run_flat", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint(
        "vehicle_variant_id",
        "axle",
        "fitment_kind",
        "tyre_width",
        "tyre_aspect",
        "rim_diameter",
        name="uq_vehicle_axle_fitment_size",
    ),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

fitment_rule = sa.Table(
    "fitment_rule",
    metadata,
    sa.Column("rule_id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("vehicle_variant_id", sa.Integer, nullable=False),
    sa.Column("axle", sa.String(10), nullable=False),
    sa.Column("action", sa.String(10), nullable=False),
    sa.Column("article_number", ARTICLE_NUMBER, nullable=True),
    sa.Column("tyre_size", sa.String(20), nullable=True),
    sa.Column("reason", sa.String(255), nullable=False),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("deleted_at", TIMESTAMP, nullable=True),
    sa.Index("idx_fitment_rule_variant", "vehicle_variant_id", "deleted_at"),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

product_spec = sa.Table(
    "product_spec",
    metadata,
    sa.Column("article_number", ARTICLE_NUMBER, primary_key=True),
    sa.Column("product_type", sa.String(10), nullable=False),
    *spec.article_spec_columns(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

# The wheel sizes (diameter, width) each axle lists, OE or optional: what the wheel checks compare with.
vehicle_axle_size = sa.Table(
    "vehicle_axle_size",
    metadata,
    sa.Column("vehicle_variant_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("axle", sa.String(10), primary_key=True),
    sa.Column("rim_diameter", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("wheel_width", sa.Numeric(3, 1), primary_key=True),
    sa.Column("kind", sa.String(10), primary_key=True),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

# Bucket membership of an axle, and for tyres the fit of that size: tyres fit by size (``rules``), so this
# row is the tyre fitment itself. ``origin``: "rules", or "rule:<id>" for a size an operator included.
vehicle_tyre_bucket = sa.Table(
    "vehicle_tyre_bucket",
    metadata,
    sa.Column("tyre_bucket", TYRE_BUCKET, primary_key=True),
    sa.Column("vehicle_variant_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("axle", sa.String(10), primary_key=True),
    sa.Column("width", sa.SmallInteger, nullable=False),
    sa.Column("aspect", sa.SmallInteger, nullable=False),
    sa.Column("rim_diameter", sa.SmallInteger, nullable=False),
    sa.Column("base_score", sa.SmallInteger, nullable=False),
    sa.Column("is_original_equipment", sa.Boolean, nullable=False),
    sa.Column("min_load_index", sa.SmallInteger, nullable=False),
    sa.Column("reference_speed_rating", sa.String(4), nullable=False),
    sa.Column("reference_run_flat", sa.Boolean, nullable=False),
    sa.Column("origin", sa.String(30), nullable=False),
    sa.Column("computed_at", TIMESTAMP, nullable=False),
    sa.Index("idx_vehicle_tyre_bucket_variant", "vehicle_variant_id", "axle"),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

product_tyre_bucket = sa.Table(
    "product_tyre_bucket",
    metadata,
    sa.Column("tyre_bucket", TYRE_BUCKET, primary_key=True),
    sa.Column("article_number", ARTICLE_NUMBER, primary_key=True),
    sa.Index("idx_product_tyre_bucket_article", "article_number"),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

# Bucket memberships carry what the wheel checks read (the axle's limits; the wheel's sizes), so the
# bucket join decides fit and score on the membership rows alone, without a row lookup per candidate.
# A staggered variant's two axles differ in limits: one row per axle.
vehicle_wheel_bucket = sa.Table(
    "vehicle_wheel_bucket",
    metadata,
    sa.Column("wheel_bucket", WHEEL_BUCKET, primary_key=True),
    sa.Column("vehicle_variant_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("axle", sa.String(10), primary_key=True),
    sa.Column("rim_diameter", sa.SmallInteger, nullable=False),
    sa.Column("hub_bore", sa.Numeric(4, 1), nullable=False),
    sa.Column("offset_min", sa.SmallInteger, nullable=False),
    sa.Column("offset_max", sa.SmallInteger, nullable=False),
    sa.Column("axle_load_kg", sa.Integer, nullable=False),
    sa.Column("oe_wheel_offset", sa.SmallInteger, nullable=False),
    sa.Index("idx_vehicle_wheel_bucket_variant", "vehicle_variant_id"),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

product_wheel_bucket = sa.Table(
    "product_wheel_bucket",
    metadata,
    sa.Column("wheel_bucket", WHEEL_BUCKET, primary_key=True),
    sa.Column("article_number", ARTICLE_NUMBER, primary_key=True),
    sa.Column("wheel_width", sa.Numeric(3, 1), nullable=False),
    sa.Column("offset", sa.SmallInteger, nullable=False),
    sa.Column("center_bore", sa.Numeric(4, 1), nullable=False),
    sa.Column("wheel_load_kg", sa.Integer, nullable=False),
    sa.Index("idx_product_wheel_bucket_article", "article_number"),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

# Tyres an operator excluded from an axle, derived from ``fitment_rule`` like the rest (and announced).
vehicle_tyre_exclusion = sa.Table(
    "vehicle_tyre_exclusion",
    metadata,
    sa.Column("vehicle_variant_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("axle", sa.String(10), primary_key=True),
    sa.Column("article_number", ARTICLE_NUMBER, primary_key=True),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

# Version of each variant's announced fitment (tyre sizes, article mappings, exclusions): +1 per
# recompute that changed it; ``fitment.mapping.changed`` events carry it, deltas in unbroken sequence.
fitment_version = sa.Table(
    "fitment_version",
    metadata,
    sa.Column("vehicle_variant_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("changed_at", TIMESTAMP, nullable=False),
    sa.Index("idx_fitment_version_changed", "changed_at"),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

# What still has to be recomputed: a variant (all its fitment) or an article (its bucket intersection).
# Writers add rows in the transaction of their change; the recompute deletes them in the transaction of
# its result, so a crash in between leaves the work listed, never lost.
fitment_lock = sa.Table(  # rows locked to order recomputes (see repository.guard_product_buckets)
    "fitment_lock",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

fitment_pending = sa.Table(
    "fitment_pending",
    metadata,
    sa.Column("kind", sa.String(10), primary_key=True),
    sa.Column("item_key", sa.String(50), primary_key=True),
    sa.Column("requested_at", TIMESTAMP, nullable=False),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

product_vehicle_mappings = spec.product_vehicle_mappings(metadata)
projection_job_checkpoint = spec.projection_job_checkpoint(metadata)
