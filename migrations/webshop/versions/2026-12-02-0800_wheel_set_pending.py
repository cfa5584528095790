"""Wheel sets: variants waiting to be composed again because a tyre of a size they take is new or changed.

``wheel_set_pending`` holds each such variant once, however many catalogue batches name its sizes; the
set handler composes them a chunk at a time (``webshop.wheel_sets.recompute``).

Revision ID: webshop_0009
Revises: webshop_0008
Create Date: 2026-12-02 08:00:00 UTC
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "webshop_0009"
down_revision: str | None = "webshop_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wheel_set_pending",
        sa.Column("vehicle_variant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("listed_at", mysql.DATETIME(fsp=3), nullable=False),
        sa.PrimaryKeyConstraint("vehicle_variant_id"),
    )


def downgrade() -> None:
    op.drop_table("wheel_set_pending")
