"""The tyre size fitment of ``fitment.mapping.changed`` in SQL: which catalogue tyres a size row admits.

Tyres fit by size (``contracts.TyreSizeFitment``): vehicle-data announces, per axle, the sizes that fit
with a base score and limits, and whoever holds a tyre catalogue applies the same three per-tyre checks.
This is that one expression, shared by vehicle-data (its projection check) and the webshop (the
storefront's tyre lookup), next to the Python form vehicle-data's rules use
(``vehicle_data.fitment.rules.TyreSizeFit.fit``); the fitment tests hold the two equal.

``tyre_fit_score`` is the same check in Python for one tyre (the webshop's set composition scores a
size's distinct tyre attributes once instead of joining every size row to every tyre); tests hold it
equal to the expression. ``tyre_fit_classes`` is the same check split by resulting score, for one size
row known in advance: each class is a conjunction of plain column predicates, so a lookup can read each
class's tyres from an index in price order instead of scoring every tyre of the size (tests hold it
equal to the expression).
"""

from __future__ import annotations

from typing import Any, Protocol

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


class SizeRow(Protocol):
    """The limits of one size row (``TyreSizeFitment``, or a row of a table of its columns)."""

    @property
    def base_score(self) -> int: ...
    @property
    def min_load_index(self) -> int | sa.ColumnElement[int]: ...
    @property
    def reference_speed_rating(self) -> str: ...
    @property
    def reference_run_flat(self) -> bool: ...


def python_speed_rank(rating: str | None) -> int:
    """``speed_rank`` in Python: as MariaDB's FIELD compares (case-insensitive, trailing spaces ignored)."""
    normalised = (rating or "").rstrip(" ").upper()
    return SPEED_ORDER.index(normalised) + 1 if len(normalised) == 1 and normalised in SPEED_ORDER else 0


def tyre_fit_score(
    fit: SizeRow, load_index: int | None, speed_rating: str | None, season: str | None, run_flat: bool | None
) -> int | None:
    """``tyre_fit_columns`` in Python for one tyre: its score under the size row, or None if not admitted
    (string comparisons as the tables' collation makes them: case-insensitive, trailing spaces ignored)."""
    if load_index is None or not fit.min_load_index <= load_index <= MAX_LOAD_INDEX:
        return None
    below_speed = python_speed_rank(speed_rating) < python_speed_rank(fit.reference_speed_rating)
    if below_speed and (season or "").rstrip(" ").lower() != "winter":
        return None
    return int(fit.base_score) - (5 if below_speed else 0) - (10 if fit.reference_run_flat and not run_flat else 0)


def tyre_fit_classes(
    fit: SizeRow, tyre: sa.FromClause, winter: bool = True
) -> list[tuple[int, list[sa.ColumnElement[bool]]]]:
    """``tyre_fit_columns`` for one size row, as (score, filters) per score class, best score first.

    A tyre of the size is admitted with score S exactly when it meets every filter of class S (and of no
    other class): load index within limits; speed rating at least the reference (no penalty) or below it
    on a winter tyre (-5, MariaDB's FIELD ranks an unknown or missing rating 0, below any reference on
    the scale); when the reference is run-flat, a tyre that is not run-flat -10 (NULL counts as not).
    The load limit may be a bound parameter: the classes then serve every row of that rating and run-flat.
    ``winter=False`` (the caller's own filters leave out winter tyres) drops the class below the rating.
    """
    load = tyre.c.load_index.between(fit.min_load_index, MAX_LOAD_INDEX)
    reference = str(fit.reference_speed_rating).rstrip(" ").upper()  # as FIELD compares (collation, PAD SPACE)
    rank = SPEED_ORDER.index(reference) + 1 if len(reference) == 1 and reference in SPEED_ORDER else 0
    speeds: list[tuple[int, list[sa.ColumnElement[bool]]]] = [(0, [])]  # no rating ranks below 0
    if rank:
        at_least = [sa.literal(rating) for rating in SPEED_ORDER[rank - 1 :]]  # plain parameters, not expanding
        below = sa.or_(tyre.c.speed_rating.is_(None), tyre.c.speed_rating.not_in(at_least))
        speeds = [(0, [tyre.c.speed_rating.in_(at_least)])]
        if winter:
            speeds.append((5, [below, tyre.c.season == "winter"]))
    run_flats: list[tuple[int, list[sa.ColumnElement[bool]]]] = [(0, [])]
    if fit.reference_run_flat:
        run_flats = [(0, [tyre.c.run_flat.is_(True)]), (10, [tyre.c.run_flat.is_not(True)])]
    classes = [
        (int(fit.base_score) - speed_penalty - run_flat_penalty, [load, *speed_filters, *run_flat_filters])
        for speed_penalty, speed_filters in speeds
        for run_flat_penalty, run_flat_filters in run_flats
    ]
    return sorted(classes, key=lambda item: -item[0])
