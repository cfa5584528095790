"""The vehicle tyre lookup reads each score class of a size as one range: priced, then unpriced.

Its page order is score, then price with unpriced tyres last, then article number. On
``best_price`` (NULL first in an index) every class took two reads, the priced tyres by price and
the unpriced ones by article number, and a lookup of a dozen sizes ran some fifty reads, each an index
dive whether or not the size had any unpriced tyre. ``price_key`` is that order as one column
(``COALESCE(best_price, 99999999.99)``, the price key the lookup already sorted by), virtual: computed
on write, stored only in ``idx_catalog_article_tyre_lookup`` (size, price key, article number, then
the class filters' columns), so no writer changes and the table is not rebuilt. The product search
keeps ``idx_catalog_article_tyre_size_price``: its descending price sort also puts unpriced last,
which one ascending key cannot serve.

Revision ID: webshop_0010
Revises: webshop_0009
Create Date: 2026-12-03 07:00:00 UTC
"""

from collections.abc import Sequence

from alembic import op

revision: str = "webshop_0010"
down_revision: str | None = "webshop_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOOKUP_INDEX = "idx_catalog_article_tyre_lookup"
LOOKUP_COLUMNS = ["width", "aspect", "rim_diameter", "price_key", "article_number", "season", "load_index",
                  "speed_rating", "run_flat", "sellable_qty"]  # fmt: skip


def upgrade() -> None:
    op.execute(
        "ALTER TABLE catalog_article "
        "ADD COLUMN price_key NUMERIC(10, 2) GENERATED ALWAYS AS (COALESCE(best_price, 99999999.99)) VIRTUAL "
        "AFTER next_delivery_date, "
        f"ADD INDEX `{LOOKUP_INDEX}` ({', '.join(f'`{c}`' for c in LOOKUP_COLUMNS)})"
    )


def downgrade() -> None:
    op.execute(f"ALTER TABLE catalog_article DROP INDEX `{LOOKUP_INDEX}`, DROP COLUMN price_key")
