"""Sync of the vehicle data provider's file, against the real MariaDB: validation, versions, fitments."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk.outbox import OUTBOX, Outbox
from integration_sdk.partners.generator import generate
from integration_sdk.testing import truncate_tables
from vehicle_data.tables import fitment_pending, vehicle_axle_fitment, vehicle_variant
from vehicle_data.vehicles.service import sync_variants

FITMENT = {
    "axle": "both", "fitment_kind": "oe", "tyre_width": 205, "tyre_aspect": 55, "rim_diameter": 16,
    "wheel_width": 6.5, "wheel_offset": 46, "load_index": 91, "speed_rating": "V",
}  # fmt: skip


def variant(variant_id: int, **changes: Any) -> dict[str, Any]:
    """A valid variant record as the provider sends it."""
    record = {
        "vehicle_variant_id": variant_id, "make": "Volkswagen", "model": "Golf", "generation": "VIII",
        "variant_name": f"1.5 TSI #{variant_id}", "year_from": 2020, "year_to": None, "engine": "1.5 TSI 110kW",
        "body": "hatchback", "drive": "fwd", "bolt_count": 5, "pcd": 112.0, "hub_bore": 57.1, "offset_min": 38,
        "offset_max": 50, "fastener": "bolt", "thread": "M14x1.5", "axle_load_front_kg": 1000,
        "axle_load_rear_kg": 900, "tpms_type": "indirect", "is_staggered": False,
        "fitments": [FITMENT, {**FITMENT, "fitment_kind": "optional", "tyre_width": 225, "tyre_aspect": 45,
                               "rim_diameter": 17, "wheel_width": 7.5}],
    }  # fmt: skip
    return {**record, **changes}


def write_sync_file(path: Path, records: list[dict[str, Any] | str]) -> Path:
    """``records`` one per line (a string is written as is: malformed lines)."""
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


@pytest.fixture
def outbox(migrated_islands: dict[str, ServiceSettings]) -> Outbox:
    return Outbox(migrated_islands["vehicle-data"])


@pytest.fixture
async def db(migrated_islands: dict[str, ServiceSettings]) -> AsyncIterator[Database]:
    settings = migrated_islands["vehicle-data"]
    await truncate_tables(settings, "vehicle_variant", "vehicle_axle_fitment", "fitment_pending", "outbox_message")
    database = Database.from_settings(settings)
    yield database
    await database.dispose()


async def versions(db: Database) -> dict[int, int]:
    async with db.reader.connect() as conn:
        return dict((await conn.execute(select(vehicle_variant.c.vehicle_variant_id, vehicle_variant.c.version))).all())


async def fitment_ids(db: Database) -> dict[int, set[int]]:
    """Fitment row ids per variant: a replaced fitment gets a new id."""
    found: dict[int, set[int]] = {}
    async with db.reader.connect() as conn:
        for row in await conn.execute(select(vehicle_axle_fitment.c.vehicle_variant_id, vehicle_axle_fitment.c.id)):
            found.setdefault(row.vehicle_variant_id, set()).add(row.id)
    return found


async def announced(db: Database) -> list[tuple[str, str]]:
    """(message type, aggregate id) of the outbox, oldest first."""
    async with db.reader.connect() as conn:
        rows = await conn.execute(select(OUTBOX.c.message_type, OUTBOX.c.aggregate_id).order_by(OUTBOX.c.id))
        return [(row[0], row[1]) for row in rows]


async def pending_variants(db: Database) -> set[int]:
    async with db.reader.connect() as conn:
        rows = await conn.scalars(select(fitment_pending.c.item_key).where(fitment_pending.c.kind == "vehicle"))
        return {int(key) for key in rows}


async def test_full_sync_loads_variants_with_their_fitments(db: Database, outbox: Outbox, tmp_path: Path) -> None:
    path = write_sync_file(tmp_path / "variants.jsonl", [variant(i) for i in range(1, 6)])

    result = await sync_variants(db, outbox, path, "full", chunk_size=2)

    assert (result.records_total, result.records_ok, result.records_rejected, result.created) == (5, 5, 0, 5)
    assert result.changed_ids == [1, 2, 3, 4, 5]
    assert {c.version for c in result.changes} == {1}
    async with db.reader.connect() as conn:
        golf = (await conn.execute(select(vehicle_variant).where(vehicle_variant.c.vehicle_variant_id == 3))).one()
        fitments = (
            await conn.execute(select(vehicle_axle_fitment).where(vehicle_axle_fitment.c.vehicle_variant_id == 3))
        ).all()
    assert (golf.make, str(golf.pcd), str(golf.hub_bore), golf.year_to, golf.is_staggered) == (
        "Volkswagen", "112.0", "57.1", None, False,
    )  # fmt: skip
    assert sorted((f.fitment_kind, f.tyre_width, str(f.wheel_width)) for f in fitments) == [
        ("oe", 205, "6.5"), ("optional", 225, "7.5"),
    ]  # fmt: skip
    # each new variant is announced and listed for the fitment recompute, which is requested once
    events = await announced(db)
    assert events[:-1] == [("vehicle.variant.upserted", str(i)) for i in range(1, 6)]
    assert events[-1][0] == "fitment.recompute.requested"
    assert await pending_variants(db) == {1, 2, 3, 4, 5}


async def test_bad_records_are_reported_with_line_and_field_and_good_ones_applied(
    db: Database, outbox: Outbox, tmp_path: Path
) -> None:
    records: list[dict[str, Any] | str] = [
        variant(1),
        "{not json",  # line 2
        variant(3, drive="4wd"),  # line 3
        variant(4, fitments=[{**FITMENT, "tyre_width": "wide"}]),  # line 4
        variant(5, year_from=2020, year_to=2010),  # line 5
        variant(6, fitments=[FITMENT, FITMENT]),  # line 6
        variant(1),  # line 7: the same id as line 1
        variant(8, colour="red"),  # line 8
        variant(9),
    ]
    result = await sync_variants(db, outbox, write_sync_file(tmp_path / "v.jsonl", records))

    reported = {(error.line_no, error.field): error for error in result.errors}
    assert set(reported) == {
        (2, ""), (3, "drive"), (4, "fitments.0.tyre_width"), (5, "year_to"), (6, "fitments"),
        (7, "vehicle_variant_id"), (8, "colour"),
    }  # fmt: skip
    assert reported[2, ""].reason.startswith("Invalid JSON")
    assert reported[3, "drive"].value == "4wd"
    assert reported[3, "drive"].key == "3"
    assert reported[4, "fitments.0.tyre_width"].value == "wide"
    assert reported[5, "year_to"].reason == "before year_from 2020"
    assert "listed twice" in reported[6, "fitments"].reason
    assert reported[7, "vehicle_variant_id"].reason == "duplicate of line 1"
    assert (result.records_total, result.records_ok, result.records_rejected) == (9, 2, 7)
    assert await versions(db) == {1: 1, 9: 1}


async def test_resync_of_the_same_file_changes_nothing(db: Database, outbox: Outbox, tmp_path: Path) -> None:
    path = write_sync_file(tmp_path / "v.jsonl", [variant(i) for i in range(1, 4)])
    await sync_variants(db, outbox, path)
    fitments_before = await fitment_ids(db)
    announced_before = await announced(db)

    again = await sync_variants(db, outbox, path)
    assert await announced(db) == announced_before  # nothing announced, no recompute requested

    assert (again.changes, again.unchanged, again.created) == ([], 3, 0)
    assert await versions(db) == {1: 1, 2: 1, 3: 1}
    assert await fitment_ids(db) == fitments_before


async def test_delta_replaces_the_fitments_of_changed_variants_only(
    db: Database, outbox: Outbox, tmp_path: Path
) -> None:
    await sync_variants(db, outbox, write_sync_file(tmp_path / "full.jsonl", [variant(i) for i in range(1, 5)]))
    before = await fitment_ids(db)
    delta = [
        variant(2, fitments=[{**FITMENT, "tyre_width": 215}]),  # fitment changed
        variant(3, engine="1.5 eTSI 110kW"),  # variant field changed
        variant(4, fitments=list(reversed(variant(4)["fitments"]))),  # same fitments, other order: unchanged
        variant(7),  # new
    ]

    result = await sync_variants(db, outbox, write_sync_file(tmp_path / "delta.jsonl", delta), "delta")

    assert [(c.vehicle_variant_id, c.version) for c in result.changes] == [(2, 2), (3, 2), (7, 1)]
    assert await versions(db) == {1: 1, 2: 2, 3: 2, 4: 1, 7: 1}
    after = await fitment_ids(db)
    assert after[1] == before[1]
    assert after[4] == before[4]
    assert len(after[2]) == 1
    assert not after[2] & before[2]
    assert not after[3] & before[3]
    async with db.reader.connect() as conn:
        widths = await conn.execute(
            select(vehicle_axle_fitment.c.tyre_width).where(vehicle_axle_fitment.c.vehicle_variant_id == 2)
        )
        assert widths.scalars().all() == [215]


async def test_generated_sync_file_then_a_delta(db: Database, outbox: Outbox, tmp_path: Path) -> None:
    manifest = generate("tiny", 7, tmp_path / "tiny-7")
    path = tmp_path / "tiny-7" / "vehicles" / "variants.jsonl"
    full = await sync_variants(db, outbox, path, "full")
    variants = manifest["counts"]["variants"]
    assert (full.records_ok, full.records_rejected, full.created) == (variants, 0, variants)
    assert (await sync_variants(db, outbox, path)).changes == []

    records = [json.loads(line) for line in path.read_text().splitlines()]
    wider = {**records[9]["fitments"][0], "tyre_width": records[9]["fitments"][0]["tyre_width"] + 10}
    delta = [
        {**records[9], "fitments": [wider, *records[9]["fitments"][1:]]},
        {**records[19], "axle_load_rear_kg": records[19]["axle_load_rear_kg"] + 50},
        records[29],  # unchanged
        {**records[0], "vehicle_variant_id": 5000},  # new
    ]
    before = await fitment_ids(db)
    result = await sync_variants(db, outbox, write_sync_file(tmp_path / "delta.jsonl", delta), "delta")

    assert [(c.vehicle_variant_id, c.version) for c in result.changes] == [(10, 2), (20, 2), (5000, 1)]
    after = await fitment_ids(db)
    assert {key: ids for key, ids in after.items() if key not in (10, 20, 5000)} == {
        key: ids for key, ids in before.items() if key not in (10, 20)
    }
