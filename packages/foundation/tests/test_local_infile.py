"""LOAD DATA LOCAL INFILE through the writer engine, against the real MariaDB."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncmy.connection
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from foundation import local_infile
from foundation.db import create_engine
from foundation.settings import ServiceSettings

LOAD = "LOAD DATA LOCAL INFILE :path INTO TABLE loaded FIELDS TERMINATED BY ','"


def test_asyncmy_still_needs_the_fix() -> None:
    """asyncmy's own sender rejects the ``bytes`` name its protocol layer gives it (drop the fix once it does not)."""
    with pytest.raises(TypeError):
        local_infile._ORIGINAL(b"/tmp/feed.csv", None)
    assert asyncmy.connection.LoadLocalFile is local_infile._LoadLocalFile


@asynccontextmanager
async def loading_connection(settings: ServiceSettings, **overrides: Any) -> AsyncIterator[AsyncConnection]:
    """A writer connection (``overrides`` on its settings) with an empty temporary table ``loaded``."""
    engine = create_engine(settings.model_copy(update=overrides))
    try:
        async with engine.connect() as conn:
            await conn.execute(text("CREATE TEMPORARY TABLE loaded (n INT PRIMARY KEY, label VARCHAR(20))"))
            yield conn
    finally:
        await engine.dispose()


async def test_an_allowed_file_loads_inside_the_transaction(
    migrated_islands: dict[str, ServiceSettings], tmp_path: Path
) -> None:
    data = tmp_path / "rows.csv"
    data.write_text("".join(f"{n},row {n}\n" for n in range(1, 5001)), encoding="utf-8")
    async with loading_connection(migrated_islands["webshop"], db_local_infile=True) as conn:
        with local_infile.allow_local_file(data) as name:
            await conn.execute(text(LOAD), {"path": name})
        count, total = (await conn.execute(text("SELECT COUNT(*), SUM(n) FROM loaded"))).one()
        assert (count, total) == (5000, 5000 * 5001 // 2)
        await conn.rollback()  # the rows were part of the transaction
        assert (await conn.execute(text("SELECT COUNT(*) FROM loaded"))).scalar_one() == 0


async def test_a_file_nobody_allowed_is_refused_and_the_connection_stays_usable(
    migrated_islands: dict[str, ServiceSettings], tmp_path: Path
) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("1,must not leave\n", encoding="utf-8")
    async with loading_connection(migrated_islands["webshop"], db_local_infile=True, db_pool_size=1) as conn:
        with pytest.raises(OperationalError, match="refused to send"):
            await conn.execute(text(LOAD), {"path": str(secret)})
        await conn.rollback()
        assert (await conn.execute(text("SELECT COUNT(*) FROM loaded"))).scalar_one() == 0
        assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1


async def test_engines_without_the_setting_do_not_load_local_files(
    migrated_islands: dict[str, ServiceSettings], tmp_path: Path
) -> None:
    data = tmp_path / "rows.csv"
    data.write_text("1,one\n", encoding="utf-8")
    async with loading_connection(migrated_islands["webshop"]) as conn:
        with local_infile.allow_local_file(data) as name, pytest.raises(OperationalError, match="not allowed"):
            await conn.execute(text(LOAD), {"path": name})
