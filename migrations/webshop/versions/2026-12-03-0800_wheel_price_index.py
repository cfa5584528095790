"""Wheel searches by bolt pattern and diameter sorted by price read an index in page order.

Migration webshop_0004 left wheel price sorts to a sort of "the few thousand wheels of one pcd and
diameter". With the catalogue's realistic breadth a popular pcd and diameter (114.3 / 17") holds
about 4,000 wheels: each first page read and sorted all of them, 10-14 ms of database time, the
slowest searches of the storefront mix. ``idx_catalog_article_wheel_size_price`` (pcd, wheel_diameter,
best_price, article_number) hands them out in price order, priced then unpriced, as the tyre price
index does for a size; it is one more index that a best price change rewrites.

Revision ID: webshop_0011
Revises: webshop_0010
Create Date: 2026-12-03 08:00:00 UTC
"""

from collections.abc import Sequence

from alembic import op

revision: str = "webshop_0011"
down_revision: str | None = "webshop_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "idx_catalog_article_wheel_size_price"
COLUMNS = ["pcd", "wheel_diameter", "best_price", "article_number"]


def upgrade() -> None:
    op.create_index(INDEX, "catalog_article", COLUMNS)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="catalog_article")
