"""Storefront search row: the article's availability is copied onto its catalogue row.

The availability projection (spec table) stays the source for stock reads by article; the copy lets a
product search filter (in stock), sort (price, availability) and page on one table with covering indexes
instead of joining 285k catalogue rows to 285k projection rows per request. The stock handler writes
both in one transaction.

Revision ID: webshop_0003
Revises: webshop_0002
Create Date: 2026-11-25 09:00:00 UTC
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "webshop_0003"
down_revision: str | None = "webshop_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "catalog_article", sa.Column("sellable_qty", sa.Integer(), nullable=False, server_default=sa.text("0"))
    )
    op.add_column("catalog_article", sa.Column("best_price", sa.Numeric(precision=10, scale=2), nullable=True))
    op.add_column("catalog_article", sa.Column("next_delivery_date", sa.Date(), nullable=True))


def downgrade() -> None:
    for column in ("next_delivery_date", "best_price", "sellable_qty"):
        op.drop_column("catalog_article", column)
