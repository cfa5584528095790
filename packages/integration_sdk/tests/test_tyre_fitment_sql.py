"""``tyre_fit_classes`` against ``tyre_fit_columns`` on the real MariaDB, over every awkward combination.

The webshop's tyre lookup reads each score class of a size row on its own; this holds the split equal to
the one fit expression vehicle-data and the contract use: for every size row, the classes together
admit exactly the tyres the expression admits, each in exactly one class, with the expression's score.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from foundation.settings import ServiceSettings
from integration_sdk.tyre_fitment import tyre_fit_classes, tyre_fit_columns, tyre_fit_score

metadata = sa.MetaData()
tyre = sa.Table(
    "fit_check_tyre",
    metadata,
    sa.Column("article_number", sa.String(50), primary_key=True),
    sa.Column("load_index", sa.SmallInteger, nullable=True),
    sa.Column("speed_rating", sa.String(4), nullable=True),
    sa.Column("season", sa.String(20), nullable=True),
    sa.Column("run_flat", sa.Boolean, nullable=True),
    mysql_charset="utf8mb4",
)
size_row = sa.Table(
    "fit_check_size",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("base_score", sa.SmallInteger, nullable=False),
    sa.Column("min_load_index", sa.SmallInteger, nullable=False),
    sa.Column("reference_speed_rating", sa.String(4), nullable=False),
    sa.Column("reference_run_flat", sa.Boolean, nullable=False),
    mysql_charset="utf8mb4",
)

LOAD_INDEXES = [None, 60, 87, 88, 89, 120, 121]
SPEEDS = [None, "", "Q", "R", "T", "H", "V", "v", "W", "Y", "Z", "ZR", "(Y)"]
SEASONS = [None, "summer", "winter", "Winter", "all_season"]
RUN_FLATS = [None, False, True]
REFERENCES = ["Q", "S", "T", "V", "v", "W", "Y", "Z", "", "V "]


@pytest.fixture(scope="module")
async def engine(migrated_islands: dict[str, ServiceSettings]) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(migrated_islands["webshop"].db_url, poolclass=sa.NullPool)
    tyres = [
        {"article_number": f"T{n:05d}", "load_index": load, "speed_rating": speed, "season": season, "run_flat": rf}
        for n, (load, speed, season, rf) in enumerate(itertools.product(LOAD_INDEXES, SPEEDS, SEASONS, RUN_FLATS))
    ]
    sizes = [
        {"id": n, "base_score": base, "min_load_index": load, "reference_speed_rating": speed, "reference_run_flat": rf}
        for n, (base, load, speed, rf) in enumerate(
            itertools.product((100, 60), (60, 88, 121), REFERENCES, (False, True))
        )
    ]  # fmt: skip
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
        await conn.run_sync(metadata.create_all)
        await conn.execute(sa.insert(tyre), tyres)
        await conn.execute(sa.insert(size_row), sizes)
    yield engine
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
    await engine.dispose()


async def by_expression(conn: Any, *filters: sa.ColumnElement[bool]) -> dict[int, dict[str, int]]:
    admits, score = tyre_fit_columns(size_row, tyre)
    query = sa.select(size_row.c.id, tyre.c.article_number, score).join(tyre, sa.true()).where(admits, *filters)
    rows = await conn.execute(query)
    found: dict[int, dict[str, int]] = {}
    for size_id, number, tyre_score in rows:
        found.setdefault(size_id, {})[number] = int(tyre_score)
    return found


async def by_classes(
    conn: Any, classes_of: Any = tyre_fit_classes, *others: sa.ColumnElement[bool], winter: bool = True
) -> dict[int, dict[str, int]]:
    found: dict[int, dict[str, int]] = {}
    for fit in (await conn.execute(sa.select(size_row).order_by(size_row.c.id))).all():
        admitted = found.setdefault(fit.id, {})
        for score, filters in classes_of(fit, tyre, winter):
            for number in await conn.scalars(sa.select(tyre.c.article_number).where(*filters, *others)):
                assert number not in admitted, (fit, number, "admitted by two classes")
                admitted[number] = score
    return found


async def test_the_score_classes_admit_what_the_fit_expression_admits_with_its_score(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        expected, got = await by_expression(conn), await by_classes(conn)
    assert sum(map(len, expected.values())) > 1_000  # the combinations admit plenty, with every score
    assert len({score for scores in expected.values() for score in scores.values()}) >= 6
    for size_id in range(len(REFERENCES) * 12):
        assert got.get(size_id, {}) == expected.get(size_id, {}), size_id


@pytest.mark.parametrize("seasons", [["summer"], ["summer", "all_season"], ["winter"], ["Winter", "summer"]])
async def test_without_winter_tyres_the_winter_class_is_left_out(engine: AsyncEngine, seasons: list[str]) -> None:
    """A caller whose season filter leaves out winter tyres reads no winter-only class, and misses nothing."""
    in_seasons = tyre.c.season.in_(seasons)
    winter = any(season.lower() == "winter" for season in seasons)  # as the column's collation compares
    async with engine.connect() as conn:
        expected = await by_expression(conn, in_seasons)
        got = await by_classes(conn, tyre_fit_classes, in_seasons, winter=winter)
        all_classes = await by_classes(conn, tyre_fit_classes, in_seasons)
    assert sum(map(len, expected.values())) > 100
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in expected.items() if v}
    assert all_classes == got or not winter  # with winter allowed, the default is the same split


async def test_a_broken_class_is_caught(engine: AsyncEngine) -> None:
    """The comparison can fail: a class that forgets the winter condition admits too much."""

    def no_winter_rule(fit: Any, table: sa.FromClause, winter: bool) -> list[tuple[int, list[sa.ColumnElement[bool]]]]:
        classes = tyre_fit_classes(fit, table, winter)
        return [(score, [f for f in filters if "season" not in str(f)]) for score, filters in classes]

    async with engine.connect() as conn:
        expected, got = await by_expression(conn), await by_classes(conn, no_winter_rule)
    assert got != expected


def test_classes_are_best_first_and_split_only_where_the_row_needs_it() -> None:
    class Fit:  # any object with the four limits will do
        base_score, min_load_index, reference_speed_rating, reference_run_flat = 90, 88, "V", True

    assert [score for score, _ in tyre_fit_classes(Fit(), tyre)] == [90, 85, 80, 75]
    assert [score for score, _ in tyre_fit_classes(Fit(), tyre, winter=False)] == [90, 80]  # no winter-only class
    Fit.reference_run_flat, Fit.reference_speed_rating = False, "Z"  # off the scale: nothing ranks below it
    assert [score for score, _ in tyre_fit_classes(Fit(), tyre)] == [90]


async def test_the_python_form_scores_as_the_fit_expression(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        expected = await by_expression(conn)
        sizes = (await conn.execute(sa.select(size_row).order_by(size_row.c.id))).all()
        tyres = (await conn.execute(sa.select(tyre))).all()
    got: dict[int, dict[str, int]] = {}
    for fit in sizes:
        for t in tyres:
            score = tyre_fit_score(fit, t.load_index, t.speed_rating, t.season, t.run_flat)
            if score is not None:
                got.setdefault(fit.id, {})[t.article_number] = score
    assert got == expected
