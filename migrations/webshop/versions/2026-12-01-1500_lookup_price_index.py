"""The vehicle tyre lookup reads each score class of a size in price order from the tyre price index.

A lookup page is, per size row of the axle and per score class of that row
(``integration_sdk.tyre_fitment.tyre_fit_classes``), the cheapest ``limit + 1`` tyres after the
cursor. ``idx_catalog_article_tyre_size_price`` (width, aspect, rim_diameter, best_price,
article_number, season) already hands out a size's tyres in that order; extended with what the class
filters and the in-stock filter read (load_index, speed_rating, run_flat, sellable_qty), each class is
one index range scan in price order, filtered inside the index and stopped after its limit, with no
catalogue row read. The product search's price sorts keep the same prefix.

``idx_catalog_article_tyre_fitment`` (size, then the fit columns, then price), which served the lookup
that scored every tyre of a size and sorted them, is no longer read, and one index fewer holds
best_price and sellable_qty, which stock imports rewrite all day.

Revision ID: webshop_0007
Revises: webshop_0006
Create Date: 2026-12-01 15:00:00 UTC
"""

from collections.abc import Sequence

from alembic import op

revision: str = "webshop_0007"
down_revision: str | None = "webshop_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TYRE_SIZE = ["width", "aspect", "rim_diameter"]
PRICE_INDEX = "idx_catalog_article_tyre_size_price"
PRICE_COLUMNS = [*TYRE_SIZE, "best_price", "article_number", "season"]
LOOKUP_COLUMNS = [*PRICE_COLUMNS, "load_index", "speed_rating", "run_flat", "sellable_qty"]
FITMENT_INDEX = "idx_catalog_article_tyre_fitment"
FITMENT_COLUMNS = [*TYRE_SIZE, "load_index", "speed_rating", "season", "run_flat", "best_price", "sellable_qty",
                   "article_number"]  # fmt: skip


def _alter(drop: list[str], add: dict[str, list[str]]) -> None:
    """One ALTER TABLE, so the search never runs between a dropped index and its replacement."""
    clauses = [f"DROP INDEX `{name}`" for name in drop]
    clauses += [f"ADD INDEX `{name}` ({', '.join(f'`{c}`' for c in columns)})" for name, columns in add.items()]
    op.execute(f"ALTER TABLE catalog_article {', '.join(clauses)}")


def upgrade() -> None:
    _alter([PRICE_INDEX, FITMENT_INDEX], {PRICE_INDEX: LOOKUP_COLUMNS})


def downgrade() -> None:
    _alter([PRICE_INDEX], {PRICE_INDEX: PRICE_COLUMNS, FITMENT_INDEX: FITMENT_COLUMNS})
