"""Product search indexes on catalog_article: one per hot query shape, in the order of its sort.

Search pages by keyset: (sort column, article_number) after the previous page's last row. An index that
holds the equality filters, then the sort column, then article_number hands out rows already in page
order, so a page reads ``limit + 1`` entries instead of sorting every match (MariaDB 10.11 matches the
ORDER BY only against columns named in the index, not against the primary key InnoDB appends, hence
article_number is named; InnoDB stores it once all the same). Columns after it are there for index
condition pushdown (season) and for index-only facet counts (season, brand).

- tyres by size (+ seasons, in stock) by availability, and their facets:
  (width, aspect, rim_diameter, sellable_qty, article_number, season, brand). Season after the sort
  column keeps any set of seasons (or none) in order; it replaces (width, aspect, rim_diameter), its prefix.
- the same by price, either direction: (width, aspect, rim_diameter, best_price, article_number, season).
- wheels by bolt pattern and diameter by availability, and their facets:
  (pcd, wheel_diameter, sellable_qty, article_number, brand), replacing (pcd, wheel_diameter). Wheel
  price sorts sort the few thousand wheels of one pcd and diameter.
- browsing a type, and TPMS by make (3% of rows, JSON_CONTAINS per sensor), by availability or by
  price: (article_type, sellable_qty, article_number), (article_type, best_price, article_number).
  Without the price one, the first page of "all tyres by price" sorts 214k rows (~0.5 s at full scale).
- brand / brand+model prefix (``q``), brand filter and brand sort: (brand, model, article_number).
- lookup by EAN: (ean), unchanged.

Writes: stock imports rewrite sellable_qty and best_price all day, and each index holding one of them
costs a delete-mark and an insert per changed row (five indexes hold one of the two; none holds
next_delivery_date or list_price). Only the sorts need them: wheel price sorts and brand-filtered
searches sort a few thousand rows instead, and the facets of a whole type (a scan of most of the
table) get no covering index: they are cached in Redis per catalogue generation.

Revision ID: webshop_0004
Revises: webshop_0003
Create Date: 2026-11-25 10:00:00 UTC
"""

from collections.abc import Sequence

from alembic import op

revision: str = "webshop_0004"
down_revision: str | None = "webshop_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TYRE_SIZE = ["width", "aspect", "rim_diameter"]
INDEXES: dict[str, list[str]] = {
    "idx_catalog_article_tyre_size_qty": [*TYRE_SIZE, "sellable_qty", "article_number", "season", "brand"],
    "idx_catalog_article_tyre_size_price": [*TYRE_SIZE, "best_price", "article_number", "season"],
    "idx_catalog_article_wheel_size_qty": ["pcd", "wheel_diameter", "sellable_qty", "article_number", "brand"],
    "idx_catalog_article_type_qty": ["article_type", "sellable_qty", "article_number"],
    "idx_catalog_article_type_price": ["article_type", "best_price", "article_number"],
    "idx_catalog_article_brand_model": ["brand", "model", "article_number"],
}
REPLACED: dict[str, list[str]] = {
    "idx_catalog_article_tyre_size": TYRE_SIZE,
    "idx_catalog_article_wheel_size": ["pcd", "wheel_diameter"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "catalog_article", columns, unique=False)
    for name in REPLACED:
        op.drop_index(name, table_name="catalog_article")


def downgrade() -> None:
    for name, columns in REPLACED.items():
        op.create_index(name, "catalog_article", columns, unique=False)
    for name in INDEXES:
        op.drop_index(name, table_name="catalog_article")
