"""Stock-import schema: suppliers, offers, import batches, stock aggregates and the catalogue replica."""

from __future__ import annotations

import sqlalchemy as sa

from integration_sdk import spec_tables as spec
from integration_sdk.spec_tables import ARTICLE_NUMBER, MONEY, TIMESTAMP

metadata = sa.MetaData()

supplier = sa.Table(
    "supplier",
    metadata,
    sa.Column("supplier_id", sa.String(20), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("feed_format", sa.String(20), nullable=False),
    sa.Column("mapping", sa.JSON, nullable=False),
    sa.Column("min_order_qty", sa.Integer, nullable=False),
    sa.Column("lead_time_days", sa.Integer, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

supplier_offer = sa.Table(
    "supplier_offer",
    metadata,
    sa.Column("supplier_id", sa.String(20), primary_key=True),
    sa.Column("article_number", ARTICLE_NUMBER, primary_key=True),
    sa.Column("supplier_sku", sa.String(100), nullable=True),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("purchase_price", MONEY, nullable=False),
    sa.Column("delivery_date", sa.Date, nullable=True),
    sa.Column("batch_id", sa.String(64), nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    # Found in the catalogue replica when written, and not discontinued since: a feed row repeating the
    # offer needs no catalogue lookup (``staging.diff_offers``).
    sa.Column("article_known", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("idx_supplier_offer_article_number", "article_number"),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

import_batch = sa.Table(
    "import_batch",
    metadata,
    sa.Column("batch_id", sa.String(64), primary_key=True),
    sa.Column("supplier_id", sa.String(20), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("source", sa.String(20), nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, server_default=sa.text("'received'")),
    *(
        sa.Column(name, sa.Integer, nullable=False, server_default=sa.text("0"))
        for name in ("rows_total", "rows_ok", "rows_rejected", "offers_changed", "aggregates_changed")
    ),
    sa.Column("received_at", TIMESTAMP, nullable=False),
    sa.Column("started_at", TIMESTAMP, nullable=True),
    sa.Column("finished_at", TIMESTAMP, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Index("idx_import_batch_supplier_received", "supplier_id", "received_at"),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

import_row_error = sa.Table(
    "import_row_error",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("batch_id", sa.String(64), nullable=False),
    sa.Column("row_no", sa.Integer, nullable=False),
    sa.Column("field", sa.String(64), nullable=False),
    sa.Column("value", sa.String(255), nullable=False),
    sa.Column("reason", sa.String(255), nullable=False),
    sa.Index("idx_import_row_error_batch_row", "batch_id", "row_no"),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

article_stock_aggregate = sa.Table(
    "article_stock_aggregate",
    metadata,
    sa.Column("article_number", ARTICLE_NUMBER, primary_key=True),
    sa.Column("sellable_qty", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("best_price", MONEY, nullable=False),
    sa.Column("next_delivery_date", sa.Date, nullable=True),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("source_batch_id", sa.String(64), nullable=False),
    sa.Column("computed_at", TIMESTAMP, nullable=False),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

known_article = sa.Table(
    "known_article",
    metadata,
    sa.Column("article_number", ARTICLE_NUMBER, primary_key=True),
    sa.Column("article_type", sa.String(10), nullable=False),
    sa.Column("ean", sa.CHAR(13), nullable=True),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    sa.Index("idx_known_article_ean", "ean"),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

projection_job_checkpoint = spec.projection_job_checkpoint(metadata)
