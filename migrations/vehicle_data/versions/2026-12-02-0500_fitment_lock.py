"""The product bucket guard: a row that bucket refreshes lock exclusively and whole-variant recomputes share.

A variant recomputed while an article's buckets are refreshed saw neither the other's writes (the
variant's new wheel buckets, the article's new bucket rows), so their intersection was mapped by
neither. See ``vehicle_data.fitment.repository.guard_product_buckets``.

Revision ID: vehicle_data_0004
Revises: vehicle_data_0003
Create Date: 2026-12-02 05:00:00 UTC
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "vehicle_data_0004"
down_revision: str | None = "vehicle_data_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "fitment_lock",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("name"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.bulk_insert(table, [{"name": "product_buckets"}])


def downgrade() -> None:
    op.drop_table("fitment_lock")
