"""An offer remembers that its article number was found in the catalogue replica when it was written.

A feed row that repeats its stored offer exactly, for an article still known, then needs no catalogue
lookup: the import's diff reads the offer anyway, and skipping the second index lookup per row was
about 40% of the diff. Discontinuing an article clears the mark on its offers, and offers written
before the replica existed start without it, so their next feed row is checked (and the offer
marked when the article is known).

Revision ID: stock_import_0003
Revises: stock_import_0002
Create Date: 2026-12-03 17:00:00 UTC
"""

from collections.abc import Sequence

from alembic import op

revision: str = "stock_import_0003"
down_revision: str | None = "stock_import_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE supplier_offer ADD COLUMN article_known BOOLEAN NOT NULL DEFAULT FALSE")


def downgrade() -> None:
    op.execute("ALTER TABLE supplier_offer DROP COLUMN article_known")
