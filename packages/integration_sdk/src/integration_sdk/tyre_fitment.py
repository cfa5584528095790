"""The tyre size fitment of ``fitment.mapping.changed`` in SQL: which catalogue tyres a size row admits.

Tyres fit by size (``contracts.TyreSizeFitment``): vehicle-data announces, per axle, the sizes that fit
with a base score and limits, and whoever holds a tyre catalogue applies the same three per-tyre checks.
This is that one expression, shared by vehicle-data (its projection check) and the webshop (the
storefront's tyre lookup), next to the Python form vehicle-data's rules use
(``vehicle_data.fitment.rules.TyreSizeFit.fit``); the fitment tests hold the two equal.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

SPEED_ORDER = "QRSTHVWY"
MAX_LOAD_INDEX = 120  # the passenger load index table ends here


def speed_rank(column: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    """1 for Q ... 8 for Y, 0 for a rating outside the scale (MariaDB's FIELD)."""
    return sa.func.field(column, *SPEED_ORDER)


def tyre_fit_columns(fit: sa.FromClause, tyre: sa.FromClause) -> tuple[sa.ColumnElement[bool], sa.ColumnElement[int]]:
    """(admits, score) of a size row ``fit`` for a catalogue tyre row ``tyre`` of that size.

    ``fit`` has the columns of ``TyreSizeFitment`` (``min_load_index``, ``reference_speed_rating``,
    ``reference_run_flat``, ``base_score``); ``tyre`` has ``load_index``, ``speed_rating``, ``season``,
    ``run_flat``. The size equality itself is the caller's join.
    """
    below_speed = speed_rank(tyre.c.speed_rating) < speed_rank(fit.c.reference_speed_rating)
    admits = sa.and_(
        tyre.c.load_index.between(fit.c.min_load_index, MAX_LOAD_INDEX),
        sa.or_(sa.not_(below_speed), tyre.c.season == "winter"),
    )
    score = (
        fit.c.base_score
        - sa.case((below_speed, 5), else_=0)
        - sa.case((sa.and_(fit.c.reference_run_flat, sa.not_(sa.func.coalesce(tyre.c.run_flat, False))), 10), else_=0)
    )
    return admits, score
