"""ERP middleware schema: the article master, its imports and the orders sent to the ERP (Core tables)."""

from __future__ import annotations

import sqlalchemy as sa

from integration_sdk.spec_tables import ARTICLE_NUMBER, MONEY, TIMESTAMP

metadata = sa.MetaData()

article = sa.Table(
    "article",
    metadata,
    sa.Column("article_number", ARTICLE_NUMBER, primary_key=True),
    sa.Column("article_type", sa.String(10), nullable=False),
    sa.Column("ean", sa.CHAR(13), nullable=True),
    sa.Column("brand", sa.String(100), nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("description", sa.String(255), nullable=False),
    sa.Column("list_price", MONEY, nullable=False),
    sa.Column("specs", sa.JSON, nullable=False),
    sa.Column("content_hash", sa.CHAR(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")),
    sa.Column("last_import_id", sa.String(64), nullable=False),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    sa.UniqueConstraint("ean", name="uq_article_ean"),
    sa.Index("idx_article_updated_at", "updated_at"),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

article_import = sa.Table(
    "article_import",
    metadata,
    sa.Column("import_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, server_default=sa.text("'running'")),
    *(
        sa.Column(name, sa.Integer, nullable=False, server_default=sa.text("0"))
        for name in ("rows_total", "rows_ok", "rows_rejected", "rows_changed", "rows_unchanged")
    ),
    sa.Column("started_at", TIMESTAMP, nullable=False),
    sa.Column("finished_at", TIMESTAMP, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

article_import_error = sa.Table(
    "article_import_error",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("import_id", sa.String(64), nullable=False),
    sa.Column("line_no", sa.Integer, nullable=False),
    sa.Column("field", sa.String(64), nullable=False),
    sa.Column("value", sa.String(255), nullable=False),
    sa.Column("reason", sa.String(255), nullable=False),
    sa.Index("idx_article_import_error_import_line", "import_id", "line_no"),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

erp_order = sa.Table(
    "erp_order",
    metadata,
    sa.Column("order_key", sa.String(100), primary_key=True),
    sa.Column("source", sa.String(20), nullable=False),
    sa.Column("source_order_id", sa.String(100), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, server_default=sa.text("'pending'")),
    sa.Column("erp_order_id", sa.String(64), nullable=True),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("tracking_number", sa.String(100), nullable=True),
    sa.Column("accepted_at", TIMESTAMP, nullable=True),
    sa.Column("status_reason", sa.String(255), nullable=True),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    sa.Index("idx_erp_order_status_updated_at", "status", "updated_at"),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

# Where the ERP's order status feed was read up to (one row per feed).
erp_status_cursor = sa.Table(
    "erp_status_cursor",
    metadata,
    sa.Column("feed", sa.String(40), primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)
