"""Alembic migrations of every island: round trip, equality with tables.py, and the spec's projection DDL."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from foundation.db import drop_schema
from foundation.settings import ServiceSettings
from integration_sdk.messaging_schema import messaging_tables
from integration_sdk.migrations import alembic_config, current_revision, downgrade, upgrade
from integration_sdk.testing import ISLANDS, island_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
SPEC_FILE = REPO_ROOT / "docs" / "performance-backlog.md"  # the project's copy of its specification
UPSTREAM_SPEC = REPO_ROOT.parent / "shared" / "spec" / "performance-backlog.md"  # where the spec is maintained
SPEC_SECTION = "## Schema and index specs"
# Which island holds which of the spec's projection tables (docs/data-model.md).
# Columns an island adds after a spec table's own (the set list filters and shows them: webshop_0008).
SPEC_EXTENSIONS = {
    ("webshop", "wheel_set_projection"): (
        "is_staggered",
        "rim_diameter",
        "match_score",
        "mounting_fee",
        "tpms_missing",
    ),
}
SPEC_TABLES = {
    "webshop": (
        "article_availability_projection",
        "wheel_set_projection",
        "wheel_set_component_index",
        "product_vehicle_mappings",
        "projection_job_checkpoint",
    ),
    "vehicle-data": ("product_vehicle_mappings", "projection_job_checkpoint"),
    "stock-import": ("projection_job_checkpoint",),
}
Column = tuple[str, str, str, str | None, str]  # name, column type, nullable, default, extra


@dataclass(frozen=True)
class TableShape:
    """What a table looks like to MariaDB: columns in order, keys, indexes, checks and options."""

    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    indexes: dict[str, tuple[bool, tuple[str, ...]]]  # name -> (unique, columns in order)
    checks: dict[str, str]
    options: tuple[str, str]  # engine, collation

    def unordered(self) -> TableShape:
        """The same shape with columns sorted: column order is not drift between tables.py and migrations."""
        return replace(self, columns=tuple(sorted(self.columns, key=lambda column: column[0])))

    def keys_and_columns(self) -> TableShape:
        """The shape without table options (the spec's DDL sets no engine or charset)."""
        return replace(self, options=("", ""))


def island_metadata(island_name: str) -> sa.MetaData:
    """Every table the island's migrations must create: its ``<package>.tables`` plus the SDK's messaging tables."""
    declared = sa.MetaData()
    for table in import_module(f"{ISLANDS[island_name].package}.tables").metadata.tables.values():
        table.to_metadata(declared)
    messaging_tables(declared)
    return declared


def spec_ddl() -> dict[str, str]:
    """``CREATE TABLE`` statements of the spec's "Schema and index specs" section, by table name."""
    if not SPEC_FILE.is_file():
        pytest.fail(f"performance spec not found at {SPEC_FILE}")
    text = SPEC_FILE.read_text(encoding="utf-8")
    if SPEC_SECTION not in text:
        pytest.fail(f"{SPEC_FILE} has no section {SPEC_SECTION!r}")
    section = text.split(SPEC_SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sql\n(.*?)```", section, flags=re.DOTALL)
    return {re.search(r"CREATE TABLE\s+(\w+)", block)[1]: block.strip() for block in blocks}  # type: ignore[index]


@asynccontextmanager
async def server(settings: ServiceSettings) -> AsyncIterator[AsyncConnection]:
    """An autocommit connection to the MariaDB server of ``settings`` (no schema selected)."""
    engine = create_async_engine(settings.db_server_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        async with engine.connect() as conn:
            yield conn
    finally:
        await engine.dispose()


@asynccontextmanager
async def scratch_schema(settings: ServiceSettings, name: str) -> AsyncIterator[AsyncConnection]:
    """A fresh schema ``name`` (charset as ``ensure_schema``), dropped on exit; yields a connection using it."""
    async with server(settings) as conn:
        await conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        await conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        try:
            await conn.exec_driver_sql(f"USE `{name}`")
            yield conn
        finally:
            await conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")


async def rows(conn: AsyncConnection, sql: str, schema: str) -> list[tuple[Any, ...]]:
    """Rows of an information_schema query filtered on ``:schema``."""
    return [tuple(row) for row in await conn.execute(sa.text(sql), {"schema": schema})]


async def snapshot(conn: AsyncConnection, schema: str) -> dict[str, TableShape]:
    """Every table of ``schema`` but ``alembic_version``, as information_schema describes it."""
    tables = {
        name: (engine, collation)
        for name, engine, collation in await rows(
            conn,
            "SELECT table_name, engine, table_collation FROM information_schema.tables "
            "WHERE table_schema = :schema AND table_name <> 'alembic_version'",
            schema,
        )
    }
    columns: dict[str, list[Column]] = {name: [] for name in tables}
    for table, *column_values in await rows(
        conn,
        "SELECT table_name, column_name, column_type, is_nullable, column_default, extra "
        "FROM information_schema.columns WHERE table_schema = :schema ORDER BY table_name, ordinal_position",
        schema,
    ):
        if table in tables:
            name, column_type, nullable, default, extra = column_values
            columns[table].append((name, column_type, nullable, default, extra))
    indexes: dict[str, dict[str, tuple[bool, tuple[str, ...]]]] = {name: {} for name in tables}
    for table, index, non_unique, column in await rows(
        conn,
        "SELECT table_name, index_name, non_unique, column_name FROM information_schema.statistics "
        "WHERE table_schema = :schema ORDER BY table_name, index_name, seq_in_index",
        schema,
    ):
        if table in tables:
            unique, index_columns = indexes[table].get(index, (not non_unique, ()))
            indexes[table][index] = (unique, (*index_columns, column))
    checks: dict[str, dict[str, str]] = {name: {} for name in tables}
    for table, name, clause in await rows(
        conn,
        "SELECT table_name, constraint_name, check_clause FROM information_schema.check_constraints "
        "WHERE constraint_schema = :schema",
        schema,
    ):
        if table in tables:
            checks[table][name] = clause
    return {
        name: TableShape(
            columns=tuple(columns[name]),
            primary_key=indexes[name].pop("PRIMARY", (True, ()))[1],
            indexes=indexes[name],
            checks=checks[name],
            options=options,
        )
        for name, options in tables.items()
    }


async def live_snapshot(settings: ServiceSettings) -> dict[str, TableShape]:
    """The tables of the island schema ``settings`` points at."""
    async with server(settings) as conn:
        return await snapshot(conn, settings.db_schema)


async def table_names(settings: ServiceSettings) -> set[str]:
    """Every table in the island's schema, ``alembic_version`` included."""
    async with server(settings) as conn:
        found = await rows(
            conn, "SELECT table_name FROM information_schema.tables WHERE table_schema = :schema", settings.db_schema
        )
    return {name for (name,) in found}


async def built_snapshot(
    settings: ServiceSettings, name: str, build: Callable[[AsyncConnection], Coroutine[Any, Any, object]]
) -> dict[str, TableShape]:
    """Run ``build`` in a scratch schema ``name`` and describe what it created."""
    async with scratch_schema(settings, name) as conn:
        await build(conn)
        return await snapshot(conn, name)


@pytest.mark.parametrize("island_name", list(ISLANDS))
async def test_upgrade_downgrade_upgrade_round_trip(island_name: str, test_namespace: str) -> None:
    """Head, base and head again leave exactly the island's tables (and nothing at base)."""
    island = ISLANDS[island_name]
    settings = island_settings(island_name, f"{test_namespace}rt_")
    expected = set(island_metadata(island_name).tables) | {"alembic_version"}
    head = ScriptDirectory.from_config(alembic_config(island, settings)).get_current_head()
    try:
        await upgrade(island, settings)
        assert await table_names(settings) == expected
        assert await current_revision(settings) == head
        await downgrade(island, settings, "base")
        assert await table_names(settings) <= {"alembic_version"}
        assert await current_revision(settings) is None
        await upgrade(island, settings)
        assert await table_names(settings) == expected
        assert await current_revision(settings) == head
    finally:
        await drop_schema(settings)


@pytest.mark.parametrize("island_name", list(ISLANDS))
async def test_migrated_schema_equals_tables_py(island_name: str, migrated_islands: dict[str, ServiceSettings]) -> None:
    """The migrated schema has the tables, columns, keys and indexes that tables.py (+ messaging) declares."""
    settings = migrated_islands[island_name]
    metadata = island_metadata(island_name)
    live = await live_snapshot(settings)
    assert set(live) == set(metadata.tables)

    async def create_all(conn: AsyncConnection) -> None:
        await conn.run_sync(metadata.create_all, checkfirst=False)

    declared = await built_snapshot(settings, f"{settings.db_schema}_declared", create_all)
    for name, shape in declared.items():
        assert live[name].unordered() == shape.unordered(), f"{island_name}.{name} drifted from tables.py"


@pytest.fixture(scope="module")
async def spec_shapes(migrated_islands: dict[str, ServiceSettings], test_namespace: str) -> dict[str, TableShape]:
    """The spec's five tables as MariaDB creates them from the spec's DDL, executed verbatim."""
    statements = spec_ddl()
    assert set(statements) == {table for tables in SPEC_TABLES.values() for table in tables}

    async def execute_spec(conn: AsyncConnection) -> None:
        for statement in statements.values():
            await conn.exec_driver_sql(statement)

    return await built_snapshot(migrated_islands["webshop"], f"{test_namespace}spec", execute_spec)


@pytest.mark.parametrize(
    ("island_name", "table"), [(island, table) for island, tables in SPEC_TABLES.items() for table in tables]
)
async def test_spec_tables_match_spec_ddl(
    island_name: str, table: str, migrated_islands: dict[str, ServiceSettings], spec_shapes: dict[str, TableShape]
) -> None:
    """Each island's copy of a spec table has exactly the spec's columns (in order), keys and indexes, then
    only the columns ``SPEC_EXTENSIONS`` names for it, after the spec's."""
    live = await live_snapshot(migrated_islands[island_name])
    assert table in live, f"{island_name} has no {table}"
    spec = spec_shapes[table]
    extended = live[table].columns[len(spec.columns) :]
    assert tuple(column[0] for column in extended) == SPEC_EXTENSIONS.get((island_name, table), ())
    assert replace(live[table], columns=live[table].columns[: len(spec.columns)]).keys_and_columns() == (
        spec.keys_and_columns()
    )


def test_spec_copy_matches_the_maintained_spec() -> None:
    """The copy in docs/ is what the DDL tests read; where the maintained spec is at hand, they agree."""
    if not UPSTREAM_SPEC.is_file():
        pytest.skip("the maintained spec is not checked out beside the repository")
    assert SPEC_FILE.read_text(encoding="utf-8") == UPSTREAM_SPEC.read_text(encoding="utf-8")
