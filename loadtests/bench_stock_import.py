"""Stock import benchmark at full scale: 50 full supplier feeds through the import path beside LOAD DATA.

    uv run python loadtests/bench_stock_import.py [--scale full] [--seed 42] [--changed 0.02] [--breakdown]

The catalogue replica holds the ERP's 285k articles first (as in production, so every row is also
checked for an unknown article number). Three rounds of the 50 full feeds (~1.1M rows, four formats)
through ``import_feed``: staged load with validation in SQL, set-based merge, aggregate recompute,
stock events into the outbox, one transaction per feed.

1. round 1: into empty offer tables (every offer new, an event per changed aggregate);
2. round 2: the same feeds with a share of rows changed (``--changed``): aggregates changed = events;
3. round 3: the unchanged feeds again: events must be 0.

Beside each feed's import, in the same round, ``LOAD DATA LOCAL INFILE`` of the valid rows the import
stored for that supplier (as TSV: no feed formats, validation, change detection, aggregates or events)
into a copy of ``supplier_offer`` that starts empty each round and grows to the 1.1M rows. The
reference is timed feed by feed right after the import, so on a shared machine both see the same
load. Target (issue): import ≥ 50% of the LOAD DATA rate. Runs in its own schema (``bench_stock_import``).
``--breakdown`` prints after each round where the import's statements spent their time.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from foundation.db import Database, drop_schema
from foundation.island import discover_islands
from foundation.local_infile import allow_local_file
from integration_sdk.migrations import upgrade
from integration_sdk.outbox import OUTBOX, Outbox
from integration_sdk.partners.generator import generate, is_current
from integration_sdk.testing import island_settings
from stock_import.imports.service import import_feed, register_suppliers
from stock_import.tables import known_article, supplier_offer

NAMESPACE = "bench_"
TSV_NULL = "\\N"


@dataclass
class Round:
    """One round's totals: the import and the LOAD DATA reference of the same rows."""

    rows: int = 0
    seconds: float = 0.0
    aggregates_changed: int = 0
    reference_rows: int = 0
    reference_seconds: float = 0.0

    def line(self, name: str, events: int) -> str:
        rate, reference = self.rows / self.seconds, self.reference_rows / self.reference_seconds
        return (f"{name:<30} import {self.rows:,} rows in {self.seconds:6.1f} s = {rate:8,.0f} rows/s   "
                f"LOAD DATA {self.reference_rows:,} rows in {self.reference_seconds:5.1f} s = "
                f"{reference:8,.0f} rows/s   "
                f"import/LOAD DATA {rate / reference:4.0%} (target ≥ 50%)   "
                f"aggregates changed {self.aggregates_changed:,}   events {events:,}")  # fmt: skip


class StatementTimes:
    """Time spent per statement shape on an engine (its first words, tables named): ``--breakdown``."""

    SHAPE = 90  # characters of the collapsed statement that name it

    def __init__(self, engine: AsyncEngine) -> None:
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        event.listen(engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(engine.sync_engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info["statement_started"] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        shape = re.sub(r"^SET STATEMENT .*? FOR ", "", " ".join(statement.split()))[: self.SHAPE]
        self.seconds[shape] += time.perf_counter() - conn.info.pop("statement_started")
        self.calls[shape] += 1

    def report(self, top: int = 14) -> str:
        """The costliest shapes since the last report, then forget them."""
        costliest = self.seconds.most_common(top)
        lines = [f"    {seconds:6.2f} s {self.calls[shape]:6,}x  {shape}" for shape, seconds in costliest]
        self.seconds.clear()
        self.calls.clear()
        return "\n".join(lines)


async def import_round(db: Database, settings: Any, feeds: dict[str, Path], store: Path, scratch: Path) -> Round:
    """All feeds, one after the other, each followed by LOAD DATA of the offers it stored."""
    outbox = Outbox(settings)
    totals = Round()
    async with db.writer.begin() as conn:
        await conn.execute(sa.text("DROP TABLE IF EXISTS offer_load_data"))
        await conn.execute(sa.text("CREATE TABLE offer_load_data LIKE supplier_offer"))
    for supplier_id, path in feeds.items():
        started = time.perf_counter()
        result = await import_feed(db, outbox, store, supplier_id, path, "full", "seed")
        totals.seconds += time.perf_counter() - started
        assert result.status == "succeeded", result.error
        totals.rows += result.rows_total
        totals.aggregates_changed += result.aggregates_changed
        rows, seconds = await load_data_reference(db, supplier_id, scratch / f"{supplier_id}.tsv")
        totals.reference_rows += rows
        totals.reference_seconds += seconds
    return totals


async def stock_events(db: Database) -> int:
    async with db.reader.connect() as conn:
        query = sa.select(sa.func.count()).where(OUTBOX.c.message_type == "stock.availability.changed")
        return int((await conn.execute(query.select_from(OUTBOX))).scalar_one())


async def replicate_catalogue(db: Database, data_dir: Path) -> None:
    """What the catalogue events leave in stock-import: the replica of the ERP's article numbers."""
    with (data_dir / "erp" / "articles_full.csv").open(encoding="utf-8") as file:
        rows = [{"article_number": r["article_number"], "article_type": r["article_type"], "ean": r["ean"] or None,
                 "updated_at": datetime(2026, 11, 25)} for r in csv.DictReader(file, delimiter=";")]  # fmt: skip
    async with db.writer.begin() as conn:
        for start in range(0, len(rows), 10_000):
            await conn.execute(sa.insert(known_article), rows[start : start + 10_000])


async def load_data_reference(db: Database, supplier_id: str, tsv: Path) -> tuple[int, float]:
    """The supplier's stored offers as TSV (written untimed), then LOAD DATA LOCAL INFILE of it, timed."""
    offer = supplier_offer
    rows = 0
    with tsv.open("w", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        async with db.reader.connect() as conn:
            query = sa.select(*offer.c).where(offer.c.supplier_id == supplier_id).order_by(offer.c.article_number)
            for row in await conn.execute(query):
                writer.writerow([TSV_NULL if value is None else int(value) if isinstance(value, bool) else value
                                 for value in row])  # fmt: skip
                rows += 1
    async with db.writer.connect() as conn:
        with allow_local_file(tsv) as name:
            started = time.perf_counter()
            await conn.execute(sa.text("LOAD DATA LOCAL INFILE :path INTO TABLE offer_load_data"), {"path": name})
            # A warning means the TSV no longer matches the offer table: the reference would load less.
            if warnings := await conn.scalar(sa.text("SELECT @@warning_count")):
                raise RuntimeError(f"LOAD DATA of {tsv.name} raised {warnings} warnings: the reference is off")
            await conn.commit()
            return rows, time.perf_counter() - started


def changed_copies(feeds: dict[str, Path], share: float, out_dir: Path, seed: int) -> dict[str, Path]:
    """Copies of the feeds with ``share`` of their data lines' stock figure altered (format-agnostic: digits)."""
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    copies = {}
    for supplier_id, path in feeds.items():
        raw = path.read_bytes()
        lines = raw.split(b"\n")
        for index in range(1, len(lines)):
            if rng.random() < share and lines[index]:
                lines[index] = _bump_first_quantity(lines[index])
        target = out_dir / path.name
        target.write_bytes(b"\n".join(lines))
        copies[supplier_id] = target
    return copies


def _bump_first_quantity(line: bytes) -> bytes:
    # Swap the line's first "1"/"2"... digit run after the article field for another value; a change the
    # parser accepts in every format is enough: it alters quantity or price, which alters the aggregate.
    for i, byte in enumerate(line):
        if 48 <= byte <= 56 and i > 12:
            return line[:i] + bytes([byte + 1]) + line[i + 1 :]
    return line


async def main(scale: str, seed: int, changed: float, breakdown: bool) -> None:
    island = next(i for i in discover_islands() if i.name == "stock-import")
    settings = island_settings("stock-import", NAMESPACE, log_level="WARNING")
    data_dir = Path("var/seed") / f"{scale}-{seed}"
    if not is_current(data_dir):
        print(f"generating the {scale} data set into {data_dir} ...")
        generate(scale, seed, data_dir)  # type: ignore[arg-type]
    await drop_schema(settings)
    await upgrade(island, settings)
    db = Database.from_settings(settings)
    times = StatementTimes(db.writer) if breakdown else None

    def show(line: str) -> None:
        print(line)
        if times:
            print(times.report())

    try:
        await register_suppliers(db, data_dir / "suppliers" / "suppliers.json")
        await replicate_catalogue(db, data_dir)
        definitions = json.loads((data_dir / "suppliers" / "suppliers.json").read_text(encoding="utf-8"))
        feeds = {d["supplier_id"]: next((data_dir / "suppliers" / "feeds").glob(f"{d['supplier_id']}.*"))
                 for d in definitions}  # fmt: skip
        with tempfile.TemporaryDirectory() as folder:
            store, scratch = Path(folder) / "store", Path(folder)
            first = await import_round(db, settings, feeds, store, scratch)
            events = await stock_events(db)
            show(first.line("round 1 (empty tables)", events))
            copies = changed_copies(feeds, changed, Path(folder) / "changed", seed)
            second = await import_round(db, settings, copies, store, scratch)
            events2 = await stock_events(db) - events
            show(second.line(f"round 2 ({changed:.0%} of rows changed)", events2))
            third = await import_round(db, settings, copies, store, scratch)
            events3 = await stock_events(db) - events - events2
            show(third.line("round 3 (unchanged re-import)", events3) + "   (events must be 0)")
    finally:
        await db.dispose()
        await drop_schema(settings)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="full", choices=["tiny", "small", "full"])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--changed", type=float, default=0.02)
    parser.add_argument("--breakdown", action="store_true", help="time per statement shape after each round")
    args = parser.parse_args()
    asyncio.run(main(args.scale, args.seed, args.changed, args.breakdown))
