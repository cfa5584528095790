"""Import of the ERP article export, against the real MariaDB: validation, versioning, idempotency."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from erp_middleware.articles.models import COLUMNS
from erp_middleware.articles.service import ArticleImportResult, ImportKind, import_article_export
from erp_middleware.settings import ErpMiddlewareSettings
from erp_middleware.tables import article, article_import, article_import_error
from foundation.bulk import FileFormatError, LockBusyError, named_lock
from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk.outbox import OUTBOX, Outbox
from integration_sdk.partners.generator import generate
from integration_sdk.testing import truncate_tables

TYRE = {
    "article_type": "tyre", "brand": "Continental", "model": "PremiumContact 6", "description": "205/55 R16 91V",
    "list_price": "99.90", "width": "205", "aspect": "55", "rim_diameter": "16", "load_index": "91",
    "speed_rating": "V", "season": "summer", "run_flat": "0", "xl": "1", "three_pmsf": "0", "eu_fuel": "B",
    "eu_wet": "A", "eu_noise_db": "71",
}  # fmt: skip
WHEEL = {
    "article_type": "wheel", "brand": "BBS", "model": "CH-R", "list_price": "512.00", "bolt_count": "5",
    "pcd": "112.0", "wheel_diameter": "18", "wheel_width": "8.0", "offset": "45", "center_bore": "66.6",
    "wheel_load_kg": "690", "material": "alloy",
}  # fmt: skip
TPMS = {
    "article_type": "tpms", "brand": "Schrader", "model": "EZ-sensor", "list_price": "39.50", "protocol": "direct",
    "frequency_mhz": "433", "compatible_makes": "BMW|Audi|VW",
}  # fmt: skip


def ean(prefix12: str) -> str:
    """A valid EAN-13 for a 12-digit prefix."""
    weighted = sum(int(digit) * (3 if position % 2 else 1) for position, digit in enumerate(prefix12))
    return prefix12 + str((10 - weighted % 10) % 10)


def write_export(path: Path, rows: list[dict[str, Any]], header: list[str] | None = None) -> Path:
    """An ERP export with ``rows`` (missing columns empty), in the ERP's column order."""
    columns = header or list(COLUMNS)
    lines = [";".join(columns), *(";".join(str(row.get(name, "")) for name in columns) for row in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def catalogue(count: int = 6) -> list[dict[str, Any]]:
    """``count`` valid articles cycling through the three types."""
    bases = [TYRE, WHEEL, TPMS]
    return [{**bases[i % 3], "article_number": f"A{i:05d}", "ean": ean(f"400604{i:06d}")} for i in range(count)]


@pytest.fixture
async def db(migrated_islands: dict[str, ServiceSettings]) -> AsyncIterator[Database]:
    settings = migrated_islands["erp-middleware"]
    await truncate_tables(settings)
    database = Database.from_settings(settings)
    yield database
    await database.dispose()


async def run_import(db: Database, path: Path, kind: ImportKind = "full", **options: Any) -> ArticleImportResult:
    return await import_article_export(db, path, kind, outbox=Outbox(ErpMiddlewareSettings()), **options)


async def outbox_versions(db: Database) -> list[tuple[str, int]]:
    """(article, version) of every catalogue event in the outbox, in insertion order."""
    async with db.reader.connect() as conn:
        rows = await conn.execute(
            select(OUTBOX.c.aggregate_id, OUTBOX.c.aggregate_version, OUTBOX.c.message_type).order_by(OUTBOX.c.id)
        )
        return [(number, version) for number, version, kind in rows if kind == "catalog.article.upserted"]


async def stored_versions(db: Database) -> dict[str, int]:
    async with db.reader.connect() as conn:
        return dict((await conn.execute(select(article.c.article_number, article.c.version))).all())


async def test_full_import_loads_every_type_and_records_the_import(db: Database, tmp_path: Path) -> None:
    path = write_export(tmp_path / "articles_full.csv", catalogue(6))

    result = await run_import(db, path, "full")

    assert (result.status, result.rows_total, result.rows_ok, result.rows_rejected) == ("succeeded", 6, 6, 0)
    assert result.rows_changed == result.rows_created == 6
    assert [(c.article_number, c.version) for c in result.changes] == [(f"A{i:05d}", 1) for i in range(6)]
    async with db.reader.connect() as conn:
        imported = (await conn.execute(select(article_import))).one()._mapping
        stored = {row.article_number: row for row in await conn.execute(select(article))}
    tyre, wheel, tpms = (stored[number] for number in ("A00000", "A00001", "A00002"))
    assert imported["status"] == "succeeded"
    assert imported["finished_at"] is not None
    assert (imported["rows_total"], imported["rows_ok"], imported["rows_changed"]) == (6, 6, 6)
    assert tyre.list_price == Decimal("99.90")
    assert tyre.last_import_id == result.import_id
    assert tyre.specs == {
        "width": 205, "aspect": 55, "rim_diameter": 16, "load_index": 91, "speed_rating": "V", "season": "summer",
        "run_flat": False, "xl": True, "three_pmsf": False, "eu_fuel": "B", "eu_wet": "A", "eu_noise_db": 71,
    }  # fmt: skip
    assert (wheel.specs["pcd"], wheel.specs["wheel_width"], wheel.specs["center_bore"]) == ("112.0", "8.0", "66.6")
    assert tpms.specs == {"protocol": "direct", "frequency_mhz": 433, "compatible_makes": ["BMW", "Audi", "VW"]}
    assert len(tyre.content_hash) == 64
    assert (tyre.version, tyre.ean) == (1, ean("400604000000"))


async def test_malformed_rows_are_reported_by_line_and_field_and_the_rest_applied(db: Database, tmp_path: Path) -> None:
    rows = catalogue(3)
    rows += [
        {**TYRE, "article_number": "BAD-TYPE", "article_type": "rim"},  # line 5
        {**TYRE, "article_number": "BAD-EAN", "ean": "4006040000005"},  # line 6
        {**TYRE, "article_number": "BAD-PRICE", "list_price": "12,50x"},  # line 7
        {**TYRE, "article_number": "NO-WIDTH", "width": ""},  # line 8
        {**WHEEL, "article_number": "WHEEL-WITH-TYRE-FIELD", "season": "winter"},  # line 9
        {**rows[0]},  # line 10: the same article number as line 2
        {**TYRE, "article_number": "EAN-TAKEN", "ean": rows[1]["ean"]},  # line 11
    ]
    result = await run_import(db, write_export(tmp_path / "a.csv", rows))

    reported = {(error.line_no, error.field): error for error in result.errors}
    assert set(reported) == {
        (5, "article_type"), (6, "ean"), (7, "list_price"), (8, "width"), (9, "season"), (10, "article_number"),
        (11, "ean"),
    }  # fmt: skip
    assert "expected one of tyre, wheel, tpms" in reported[5, "article_type"].reason
    assert reported[6, "ean"].reason == "EAN check digit is 5, expected 6"
    assert reported[7, "list_price"].value == "12,50x"
    assert "decimal" in reported[7, "list_price"].reason
    assert reported[8, "width"].reason == "required but missing or empty"
    assert reported[8, "width"].key == "NO-WIDTH"
    assert reported[10, "article_number"].reason == "duplicate of line 2"
    assert reported[11, "ean"].reason == "EAN already belongs to article A00001"
    assert (result.rows_total, result.rows_ok, result.rows_rejected, result.rows_changed) == (10, 3, 7, 3)
    assert set(await stored_versions(db)) == {"A00000", "A00001", "A00002"}
    async with db.reader.connect() as conn:
        stored_errors = (await conn.execute(select(article_import_error))).all()
        rejected = (await conn.execute(select(article_import.c.rows_rejected))).scalar_one()
    assert {(row.line_no, row.field) for row in stored_errors} == set(reported)
    assert all(row.import_id == result.import_id for row in stored_errors)
    assert rejected == 7


async def test_reimporting_the_same_file_changes_nothing(db: Database, tmp_path: Path) -> None:
    path = write_export(tmp_path / "a.csv", catalogue(9))
    await run_import(db, path, chunk_size=4)
    before = await stored_versions(db)
    async with db.reader.connect() as conn:
        updated_before = (await conn.execute(select(func.max(article.c.updated_at)))).scalar_one()

    again = await run_import(db, path, chunk_size=4)

    assert (again.rows_changed, again.rows_unchanged, again.changes) == (0, 9, [])
    assert await stored_versions(db) == before == dict.fromkeys(before, 1)
    async with db.reader.connect() as conn:
        assert (await conn.execute(select(func.max(article.c.updated_at)))).scalar_one() == updated_before


async def test_delta_bumps_exactly_the_changed_articles_and_adds_new_ones(db: Database, tmp_path: Path) -> None:
    rows = catalogue(6)
    await run_import(db, write_export(tmp_path / "full.csv", rows))
    delta = [
        {**rows[0], "list_price": "89.90"},  # changed
        {**rows[1], "list_price": "512"},  # the same price, written differently: unchanged
        {**rows[2], "compatible_makes": "BMW|Audi|VW|Seat"},  # changed spec
        {**TYRE, "article_number": "NEW-1", "ean": ean("540000000001")},  # new
    ]

    result = await run_import(db, write_export(tmp_path / "delta.csv", delta), "delta")

    assert [(c.article_number, c.version) for c in result.changes] == [("A00000", 2), ("A00002", 2), ("NEW-1", 1)]
    assert (result.rows_created, result.rows_unchanged) == (1, 1)
    assert await stored_versions(db) == {
        "A00000": 2, "A00001": 1, "A00002": 2, "A00003": 1, "A00004": 1, "A00005": 1, "NEW-1": 1,
    }  # fmt: skip
    async with db.reader.connect() as conn:
        kinds = (await conn.execute(select(article_import.c.kind).order_by(article_import.c.started_at))).scalars()
        assert list(kinds) == ["full", "delta"]


async def test_wrong_header_fails_the_import_and_changes_nothing(db: Database, tmp_path: Path) -> None:
    await run_import(db, write_export(tmp_path / "full.csv", catalogue(3)))
    header = [name if name != "list_price" else "price" for name in COLUMNS]
    bad = write_export(tmp_path / "bad.csv", [{**row, "price": "1.00"} for row in catalogue(3)], header)

    with pytest.raises(FileFormatError, match=r"wrong header \(missing: list_price; unknown: price\)"):
        await run_import(db, bad)

    assert await stored_versions(db) == {"A00000": 1, "A00001": 1, "A00002": 1}
    async with db.reader.connect() as conn:
        failed = (await conn.execute(select(article_import).where(article_import.c.status == "failed"))).one()
    assert "missing: list_price" in failed.error
    assert failed.rows_total == 0


async def test_a_second_import_is_refused_while_one_runs(db: Database, tmp_path: Path) -> None:
    async with db.writer.connect() as conn, named_lock(conn, "article_import"):
        with pytest.raises(LockBusyError, match="article_import"):
            await run_import(db, write_export(tmp_path / "a.csv", catalogue(1)))
    assert await stored_versions(db) == {}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A tiny generated data set and its manifest."""
    folder = tmp_path_factory.mktemp("seed") / "tiny-7"
    return folder, generate("tiny", 7, folder)


# Which field each kind of damage the generator applies to a delta line must be reported on.
DAMAGED_FIELD = {
    "bad_ean": "ean", "bad_price": "list_price", "unknown_type": "article_type", "missing_width": "width",
    "bad_season": "season",
}  # fmt: skip


async def test_generated_export_and_delta(db: Database, generated: tuple[Path, dict[str, Any]]) -> None:
    folder, manifest = generated
    full = await run_import(db, folder / "erp" / "articles_full.csv", "full")
    articles = manifest["counts"]["articles"]
    assert (full.rows_ok, full.rows_rejected, full.rows_changed) == (articles, 0, articles)
    before = await stored_versions(db)

    delta_path = folder / "erp" / "articles_delta_001.csv"
    delta = await run_import(db, delta_path, "delta")

    expected = manifest["counts"]["erp_delta"]
    malformed = {line for lines in expected["malformed_lines"].values() for line in lines}
    assert {(error.line_no, error.field) for error in delta.errors} == {
        (line, DAMAGED_FIELD[kind]) for kind, lines in expected["malformed_lines"].items() for line in lines
    }
    assert (delta.rows_created, delta.rows_changed - delta.rows_created) == (expected["new"], expected["changed"])
    with delta_path.open() as file:
        numbers = [line.split(";", 1)[0] for n, line in enumerate(file, start=1) if n > 1 and n not in malformed]
    after = await stored_versions(db)
    assert {number: after[number] for number in numbers} == {n: before.get(n, 0) + 1 for n in numbers}
    assert {n: v for n, v in after.items() if n not in numbers} == {n: v for n, v in before.items() if n not in numbers}

    # Exactly one catalogue event per written version, in the outbox of the same transactions.
    events = await outbox_versions(db)
    assert sorted(events) == sorted([(n, 1) for n in before] + [(n, after[n]) for n in numbers])

    again = await run_import(db, delta_path, "delta")
    assert (again.rows_changed, again.rows_rejected) == (0, len(malformed))
    assert await stored_versions(db) == after
    assert await outbox_versions(db) == events  # an unchanged re-import emits nothing
