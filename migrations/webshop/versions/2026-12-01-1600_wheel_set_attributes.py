"""Wheel sets: the attributes the set list filters and shows beside the spec columns; tyre sizes by size.

- ``wheel_set_projection`` gains ``is_staggered``, ``rim_diameter``, ``match_score``, ``mounting_fee`` and
  ``tpms_missing`` (a direct-TPMS vehicle's set without a compatible sensor): the list filters on them
  and the price breakdown names the fee, without reading the components.
- ``idx_vtf_size`` on ``vehicle_tyre_fitment``: a catalogue change of a tyre finds the variants that take
  its size (their sets are composed again).

Revision ID: webshop_0008
Revises: webshop_0007
Create Date: 2026-12-01 16:00:00 UTC
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "webshop_0008"
down_revision: str | None = "webshop_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("wheel_set_projection", sa.Column("is_staggered", sa.Boolean(), nullable=False))
    op.add_column("wheel_set_projection", sa.Column("rim_diameter", sa.SmallInteger(), nullable=False))
    op.add_column("wheel_set_projection", sa.Column("match_score", sa.SmallInteger(), nullable=False))
    op.add_column("wheel_set_projection", sa.Column("mounting_fee", sa.Numeric(10, 2), nullable=False))
    op.add_column("wheel_set_projection", sa.Column("tpms_missing", sa.Boolean(), nullable=False))
    op.create_index("idx_vtf_size", "vehicle_tyre_fitment", ["width", "aspect", "rim_diameter"])


def downgrade() -> None:
    op.drop_index("idx_vtf_size", table_name="vehicle_tyre_fitment")
    for column in ("tpms_missing", "mounting_fee", "match_score", "rim_diameter", "is_staggered"):
        op.drop_column("wheel_set_projection", column)
