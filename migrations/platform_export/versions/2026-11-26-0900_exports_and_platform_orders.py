"""Export runs and platform orders.

- ``export_article.change_seq``: the commit-ordered change number a delta reads (``export_change_counter``
  hands them out under a row lock, so a committed number means every lower one is committed too);
  ``discontinued`` keeps a discontinued article's row so the next delta can delist it.
- ``export_run``: the change window (``since_seq``, ``until_seq``), pages, queue time and file.
- ``platform.orders_url``: the platform's order API; ``platform_order_import``: its cursor.
- ``platform_order``: why an order could not be read (``error``) and when its tracking went back.

Revision ID: platform_export_0003
Revises: platform_export_0002
Create Date: 2026-11-26 09:00:00 UTC
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "platform_export_0003"
down_revision: str | None = "platform_export_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = mysql.DATETIME(fsp=3)


def upgrade() -> None:
    op.add_column("platform", sa.Column("orders_url", sa.String(255), nullable=True))
    op.add_column("export_article", sa.Column("discontinued", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("export_article", sa.Column("change_seq", sa.BigInteger, nullable=False, server_default=sa.text("0")))
    op.create_index("idx_export_article_change_seq", "export_article", ["change_seq", "article_number"])
    op.create_table(
        "export_change_counter",
        sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )
    op.execute("INSERT INTO export_change_counter (id, seq) VALUES (1, 0)")
    op.add_column("export_run", sa.Column("since_seq", sa.BigInteger, nullable=True))
    op.add_column("export_run", sa.Column("until_seq", sa.BigInteger, nullable=True))
    op.add_column("export_run", sa.Column("pages", sa.Integer, nullable=False, server_default=sa.text("0")))
    op.add_column("export_run", sa.Column("queued_at", TIMESTAMP, nullable=False))
    op.add_column("export_run", sa.Column("file_path", sa.String(500), nullable=True))
    op.create_index("idx_export_run_status", "export_run", ["status", "platform_id"])
    op.create_table(
        "platform_order_import",
        sa.Column("platform_id", sa.String(40), primary_key=True),
        sa.Column("cursor", sa.String(100), nullable=True),
        sa.Column("orders_imported", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("last_polled_at", TIMESTAMP, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )
    op.add_column("platform_order", sa.Column("error", sa.Text, nullable=True))
    op.add_column("platform_order", sa.Column("tracking_pushed_at", TIMESTAMP, nullable=True))


def downgrade() -> None:
    op.drop_column("platform_order", "tracking_pushed_at")
    op.drop_column("platform_order", "error")
    op.drop_table("platform_order_import")
    op.drop_index("idx_export_run_status", table_name="export_run")
    for column in ("file_path", "queued_at", "pages", "until_seq", "since_seq"):
        op.drop_column("export_run", column)
    op.drop_table("export_change_counter")
    op.drop_index("idx_export_article_change_seq", table_name="export_article")
    op.drop_column("export_article", "change_seq")
    op.drop_column("export_article", "discontinued")
    op.drop_column("platform", "orders_url")
