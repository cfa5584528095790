"""Load of the platform configurations, against the real MariaDB: validation by field, change detection."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from foundation.bulk import FileFormatError
from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk.partners.catalog import TYRE_BRANDS
from integration_sdk.partners.platforms import generate_platforms
from integration_sdk.testing import truncate_tables
from platform_export.platforms.service import load_platform_configs
from platform_export.tables import platform


def config(platform_id: str, **changes: Any) -> dict[str, Any]:
    """A valid platform configuration."""
    record = {
        "platform_id": platform_id, "name": platform_id.title(), "format": "csv", "markup_pct": 12.5,
        "min_stock": 4, "brand_filter": None, "type_filter": ["tyre", "wheel"], "delivery_channel": "http",
        "endpoint_url": f"https://{platform_id}.example/feed", "delta_interval_min": 15, "active": True,
    }  # fmt: skip
    return {**record, **changes}


def write_configs(path: Path, records: Any) -> Path:
    path.write_text(json.dumps(records, indent=2))
    return path


@pytest.fixture
async def db(migrated_islands: dict[str, ServiceSettings]) -> AsyncIterator[Database]:
    settings = migrated_islands["platform-export"]
    await truncate_tables(settings, "platform")
    database = Database.from_settings(settings)
    yield database
    await database.dispose()


async def stored(db: Database) -> dict[str, Any]:
    async with db.reader.connect() as conn:
        return {row.platform_id: row for row in await conn.execute(select(platform))}


async def test_configs_are_loaded_and_a_reload_changes_nothing(db: Database, tmp_path: Path) -> None:
    path = write_configs(tmp_path / "platforms.json", [config(f"shop{i}") for i in range(60)])

    first = await load_platform_configs(db, path)
    updated_at = {key: row.updated_at for key, row in (await stored(db)).items()}
    again = await load_platform_configs(db, path)

    assert (first.records_ok, first.created, len(first.changed_ids), first.errors) == (60, 60, 60, [])
    assert (again.unchanged, again.changed_ids) == (60, [])
    rows = await stored(db)
    assert {key: row.updated_at for key, row in rows.items()} == updated_at
    assert rows["shop7"].markup_pct == Decimal("12.50")
    assert rows["shop7"].type_filter == ["tyre", "wheel"]


async def test_only_changed_platforms_are_written(db: Database, tmp_path: Path) -> None:
    await load_platform_configs(db, write_configs(tmp_path / "a.json", [config("a"), config("b"), config("c")]))
    changed = [
        config("a", markup_pct="15.00"),
        config("b", type_filter=["wheel", "tyre", "tyre"]),  # the same set of types: unchanged
        config("c"),
        config("d", delivery_channel="file", endpoint_url=None),
    ]

    result = await load_platform_configs(db, write_configs(tmp_path / "b.json", changed))

    assert (result.changed_ids, result.created, result.unchanged) == (["a", "d"], 1, 2)
    assert (await stored(db))["a"].markup_pct == Decimal("15.00")


async def test_bad_configs_are_reported_by_field_and_the_others_loaded(db: Database, tmp_path: Path) -> None:
    records = [
        config("good"),
        config("no-url", endpoint_url=None),  # record 2
        config("bad-format", format="pdf"),  # record 3
        config("bad-markup", markup_pct="lots", min_stock=-1),  # record 4
        config("bad-type", type_filter=["tyre", "bike"]),  # record 5
        config("good"),  # record 6: duplicate id
        "not an object",  # record 7
    ]
    result = await load_platform_configs(db, write_configs(tmp_path / "p.json", records))

    reported = {(error.line_no, error.field): error for error in result.errors}
    assert set(reported) == {
        (2, "endpoint_url"), (3, "format"), (4, "markup_pct"), (4, "min_stock"), (5, "type_filter.1"),
        (6, "platform_id"), (7, ""),
    }  # fmt: skip
    assert reported[2, "endpoint_url"].reason == "required when delivery_channel is http"
    assert reported[3, "format"].key == "bad-format"
    assert reported[3, "format"].value == "pdf"
    assert reported[6, "platform_id"].reason == "duplicate of record 1"
    assert (result.records_total, result.records_ok, result.records_rejected) == (7, 1, 6)
    assert list(await stored(db)) == ["good"]


async def test_a_file_that_is_not_a_list_of_configs_is_refused(db: Database, tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="must hold a JSON list"):
        await load_platform_configs(db, write_configs(tmp_path / "p.json", {"platform_id": "x"}))
    (tmp_path / "broken.json").write_text("[{")
    with pytest.raises(FileFormatError, match="not valid JSON"):
        await load_platform_configs(db, tmp_path / "broken.json")
    assert await stored(db) == {}


async def test_the_generators_60_configs_load_cleanly(db: Database, tmp_path: Path) -> None:
    configs = generate_platforms(random.Random(7), 60, sorted(TYRE_BRANDS))
    path = write_configs(tmp_path / "platforms.json", configs)

    result = await load_platform_configs(db, path)

    assert (result.records_ok, result.created, result.errors) == (60, 60, [])
    assert len(await stored(db)) == 60
    assert (await load_platform_configs(db, path)).changed_ids == []
