"""Supplier feed imports against the real MariaDB, on generated feeds of every format."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk.outbox import Outbox
from integration_sdk.partners.generator import generate
from integration_sdk.testing import truncate_tables
from stock_import.imports.service import (
    FeedKind,
    FeedSource,
    ImportResult,
    UnknownSupplier,
    import_feed,
    register_suppliers,
)
from stock_import.tables import import_batch, import_row_error, known_article, supplier_offer


@pytest.fixture(scope="module")
def data_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("partners")
    return folder, generate("tiny", 11, folder)


@pytest.fixture
async def db(migrated_islands: dict[str, ServiceSettings], data_set: tuple[Path, Any]) -> AsyncIterator[Database]:
    settings = migrated_islands["stock-import"]
    await truncate_tables(settings)
    database = Database.from_settings(settings)
    await register_suppliers(database, data_set[0] / "suppliers" / "suppliers.json")
    yield database
    await database.dispose()


RunFeed = Callable[..., Awaitable[ImportResult]]


@pytest.fixture
def run_feed(db: Database, migrated_islands: dict[str, ServiceSettings], tmp_path: Path) -> RunFeed:
    """Receive and import a feed at once (no queue), with its events into the outbox."""
    outbox = Outbox(migrated_islands["stock-import"])

    async def run(supplier_id: str, path: Path, kind: FeedKind = "full", source: FeedSource = "seed") -> ImportResult:
        return await import_feed(db, outbox, tmp_path / "store", supplier_id, path, kind, source)

    return run


def feed_of(folder: Path, manifest: dict[str, Any], supplier_id: str) -> Path:
    return folder / manifest["counts"]["feeds"][supplier_id]["file"]


async def replicate_catalogue(db: Database, folder: Path) -> None:
    """What catalogue events will do: fill the replica stock-import checks article numbers against."""
    with (folder / "erp" / "articles_full.csv").open(encoding="utf-8") as file:
        rows = [{"article_number": r["article_number"], "article_type": r["article_type"], "ean": r["ean"]}
                for r in csv.DictReader(file, delimiter=";")]  # fmt: skip
    async with db.writer.begin() as conn:
        await conn.execute(sa.insert(known_article), [{**r, "updated_at": date(2026, 11, 25)} for r in rows])


async def offers(db: Database, supplier_id: str) -> dict[str, tuple[int, Decimal, date | None]]:
    async with db.reader.connect() as conn:
        rows = await conn.execute(
            sa.select(supplier_offer.c.article_number, supplier_offer.c.quantity, supplier_offer.c.purchase_price,
                      supplier_offer.c.delivery_date).where(supplier_offer.c.supplier_id == supplier_id)
        )  # fmt: skip
        return {r[0]: (r[1], r[2], r[3]) for r in rows}


async def test_every_feed_imports_and_reports_exactly_its_malformed_rows(
    db: Database, run_feed: RunFeed, data_set: Any
) -> None:
    folder, manifest = data_set
    await replicate_catalogue(db, folder)
    for supplier_id, feed in manifest["counts"]["feeds"].items():
        result = await run_feed(supplier_id, folder / feed["file"], "full", "seed")
        expected_rows = sorted(row for rows in feed["malformed_rows"].values() for row in rows)
        assert result.status == "succeeded", result.error
        assert result.rows_total == feed["rows"]
        assert sorted({e.line_no for e in result.errors}) == expected_rows, supplier_id
        assert result.rows_ok == feed["rows"] - len(expected_rows)
        assert len(await offers(db, supplier_id)) == result.rows_ok
        for kind, rows in feed["malformed_rows"].items():
            reported = {e.line_no: e for e in result.errors}
            field = {"bad_quantity": "quantity", "negative_quantity": "quantity", "missing_price": "price",
                     "bad_date": "delivery_date", "unknown_article": "article_number"}[kind]  # fmt: skip
            assert all(reported[row].field == field for row in rows), (kind, [reported[r] for r in rows])
    async with db.reader.connect() as conn:
        stored = (await conn.execute(sa.select(sa.func.count()).select_from(import_row_error))).scalar_one()
        statuses = set((await conn.execute(sa.select(import_batch.c.status))).scalars())
    assert stored == sum(len(r) for f in manifest["counts"]["feeds"].values() for r in f["malformed_rows"].values())
    assert statuses == {"succeeded"}


async def test_formats_parse_to_the_same_typed_values(db: Database, run_feed: RunFeed, tmp_path: Path) -> None:
    """One offer written in each supplier style lands identically (decimal comma, prefix, dates, slices)."""
    feeds = {
        "SUP-001": "Artikelnummer;Lieferanten-Nr;Bestand;Preis;Liefertermin\r\nAT-TY0000001;X1;12;89,95;02.12.2026\r\n",
        "SUP-002": "sku,stock,net_price,eta,item_code\r\nX1,12,89.95,2026-12-02,TY0000001\r\n",
        "SUP-003": "<?xml version='1.0'?><L><Artikel><Code>TY0000001</Code><EigeneNr>X1</EigeneNr>"
                   "<Voorraad>12</Voorraad><Prijs>89.95</Prijs><Levering>2026-12-02</Levering></Artikel></L>",
        "SUP-004": "TY0000001".ljust(16) + "X1".ljust(16) + "12".ljust(8) + "89.95".ljust(10) + "20261202\n",
        "SUP-005": "Referentie;Aantal;Prijs excl. BTW;Leverdatum;Code leverancier\r\n"
                   "BETY0000001;12;89,95;02/12/2026;X1\r\n",
    }  # fmt: skip
    for supplier_id, text in feeds.items():
        path = tmp_path / f"{supplier_id}.feed"
        path.write_bytes(text.encode("cp1252" if supplier_id == "SUP-001" else "utf-8"))
        result = await run_feed(supplier_id, path, "delta")
        assert (result.status, result.rows_ok, result.errors) == ("succeeded", 1, []), supplier_id
        assert await offers(db, supplier_id) == {"TY0000001": (12, Decimal("89.95"), date(2026, 12, 2))}, supplier_id


async def test_full_feed_replaces_and_delta_touches_only_its_rows(
    db: Database, run_feed: RunFeed, data_set: Any, tmp_path: Path
) -> None:
    folder, manifest = data_set
    feed = feed_of(folder, manifest, "SUP-002")  # English CSV
    first = await run_feed("SUP-002", feed, "full")
    before = await offers(db, "SUP-002")
    lines = feed.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = tmp_path / "kept.csv"
    kept.write_text("".join(lines[:11]), encoding="utf-8")  # header + 10 rows
    second = await run_feed("SUP-002", kept, "full")
    after = await offers(db, "SUP-002")
    listed = {line.split(",")[-1].strip() for line in lines[1:11]}
    assert second.rows_total == 10
    assert {number for number, (qty, *_) in after.items() if qty > 0} <= listed
    assert all(after[n][0] == 0 for n in before if n not in listed)
    assert second.offers_changed == sum(1 for n, (qty, *_) in before.items() if n not in listed and qty > 0)
    assert first.offers_changed == first.rows_ok

    delta = tmp_path / "delta.csv"
    number = sorted(before)[-1]
    delta.write_text(f"sku,stock,net_price,eta,item_code\r\nX9,77,10.00,,{number}\r\n", encoding="utf-8")
    correction = await run_feed("SUP-002", delta, "delta")
    corrected = await offers(db, "SUP-002")
    assert correction.offers_changed == 1
    assert corrected[number] == (77, Decimal("10.00"), None)
    assert {n: v for n, v in corrected.items() if n != number} == {n: v for n, v in after.items() if n != number}


async def test_unchanged_reimport_changes_nothing(db: Database, run_feed: RunFeed, data_set: Any) -> None:
    folder, manifest = data_set
    feed = feed_of(folder, manifest, "SUP-003")  # XML
    first = await run_feed("SUP-003", feed, "full")
    again = await run_feed("SUP-003", feed, "full")
    assert first.offers_changed > 0
    assert again.offers_changed == 0
    assert again.rows_ok == first.rows_ok


async def test_broken_files_fail_the_batch_and_change_nothing(
    db: Database, run_feed: RunFeed, data_set: Any, tmp_path: Path
) -> None:
    folder, manifest = data_set
    await run_feed("SUP-003", feed_of(folder, manifest, "SUP-003"), "full")
    before = await offers(db, "SUP-003")
    truncated = tmp_path / "cut.xml"
    xml = feed_of(folder, manifest, "SUP-003").read_text(encoding="utf-8")
    truncated.write_text(xml[: len(xml) // 2], encoding="utf-8")  # cut off halfway through a record
    broken = await run_feed("SUP-003", truncated, "full")
    assert broken.status == "failed"
    assert "broken XML" in (broken.error or "")
    assert await offers(db, "SUP-003") == before

    wrong_header = tmp_path / "header.csv"
    wrong_header.write_text("sku,qty,net_price,eta,item_code\r\nX,1,1.00,,TY0000001\r\n", encoding="utf-8")
    failed = await run_feed("SUP-002", wrong_header, "full")
    assert failed.status == "failed"
    assert "stock" in (failed.error or "")
    async with db.reader.connect() as conn:
        recorded = (await conn.execute(sa.select(import_batch.c.status, import_batch.c.error)
                                       .where(import_batch.c.batch_id == failed.batch_id))).one()  # fmt: skip
    assert recorded.status == "failed"
    assert "header lacks" in recorded.error
    with pytest.raises(UnknownSupplier):
        await run_feed("SUP-999", wrong_header)
