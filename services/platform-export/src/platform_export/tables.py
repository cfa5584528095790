"""Platform-export schema: platform configs, the export replica, export runs and platform orders."""

from __future__ import annotations

import sqlalchemy as sa

from integration_sdk.spec_tables import ARTICLE_NUMBER, MONEY, TIMESTAMP

metadata = sa.MetaData()

platform = sa.Table(
    "platform",
    metadata,
    sa.Column("platform_id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("format", sa.String(10), nullable=False),
    sa.Column("markup_pct", sa.Numeric(5, 2), nullable=False),
    sa.Column("min_stock", sa.Integer, nullable=False),
    sa.Column("brand_filter", sa.JSON, nullable=True),
    sa.Column("type_filter", sa.JSON, nullable=True),
    sa.Column("delivery_channel", sa.String(10), nullable=False),
    sa.Column("endpoint_url", sa.String(255), nullable=True),
    sa.Column("orders_url", sa.String(255), nullable=True),
    sa.Column("delta_interval_min", sa.Integer, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

# Filled by two event streams in any order: catalogue columns stay NULL until the first catalogue
# event, stock columns keep their defaults until the first stock event (version 0 = not seen yet).
export_article = sa.Table(
    "export_article",
    metadata,
    sa.Column("article_number", ARTICLE_NUMBER, primary_key=True),
    sa.Column("article_type", sa.String(10), nullable=True),
    sa.Column("brand", sa.String(100), nullable=True),
    sa.Column("ean", sa.CHAR(13), nullable=True),
    sa.Column("description", sa.String(255), nullable=True),
    sa.Column("list_price", MONEY, nullable=True),
    sa.Column("sellable_qty", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("best_price", MONEY, nullable=True),
    sa.Column("next_delivery_date", sa.Date, nullable=True),
    sa.Column("catalog_version", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("stock_version", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("changed_at", TIMESTAMP, nullable=False),
    # Kept (not deleted) when discontinued, so the next delta delists it.
    sa.Column("discontinued", sa.Boolean, nullable=False, server_default=sa.false()),
    # Commit-ordered change number (export_change_counter): what a delta export reads.
    sa.Column("change_seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Index("idx_export_article_changed_at", "changed_at"),
    sa.Index("idx_export_article_change_seq", "change_seq", "article_number"),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

export_run = sa.Table(
    "export_run",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("platform_id", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("items", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("bytes", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("cursor", sa.String(255), nullable=True),
    sa.Column("started_at", TIMESTAMP, nullable=False),
    sa.Column("finished_at", TIMESTAMP, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("since_seq", sa.BigInteger, nullable=True),
    sa.Column("until_seq", sa.BigInteger, nullable=True),
    sa.Column("pages", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("queued_at", TIMESTAMP, nullable=False),
    sa.Column("file_path", sa.String(500), nullable=True),
    sa.Index("idx_export_run_platform_started", "platform_id", "started_at"),
    sa.Index("idx_export_run_status", "status", "platform_id"),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

platform_order = sa.Table(
    "platform_order",
    metadata,
    sa.Column("platform_id", sa.String(40), primary_key=True),
    sa.Column("platform_order_id", sa.String(100), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("order_key", sa.String(100), nullable=False),
    sa.Column("tracking_number", sa.String(100), nullable=True),
    sa.Column("imported_at", TIMESTAMP, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("tracking_pushed_at", TIMESTAMP, nullable=True),
    sa.Index("idx_platform_order_order_key", "order_key"),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

# One row (id 1): the last change number handed out; its row lock orders replica commits.
export_change_counter = sa.Table(
    "export_change_counter",
    metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

# Where each platform's order API was read up to.
platform_order_import = sa.Table(
    "platform_order_import",
    metadata,
    sa.Column("platform_id", sa.String(40), primary_key=True),
    sa.Column("cursor", sa.String(100), nullable=True),
    sa.Column("orders_imported", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("last_polled_at", TIMESTAMP, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)
