"""Stock import benchmark at full scale: 50 full supplier feeds through the import path beside LOAD DATA.

    uv run python loadtests/bench_stock_import.py [--scale full] [--seed 42] [--changed 0.02]

Prints, side by side:
1. round 1: the 50 full feeds (~1M rows) through ``import_feed`` (streaming parse, validation, bulk
   offer upserts, aggregate recompute, stock events into the outbox) — time, rows/s, events — beside
   ``LOAD DATA LOCAL INFILE`` of the same valid rows into a copy of ``supplier_offer`` (the raw floor:
   no parsing, validation, change detection, aggregates or events);
2. round 2: the same feeds with a share of rows changed (``--changed``): rows/s, aggregates changed
   and events emitted (only changed aggregates may emit);
3. round 3: the unchanged feeds again: events must be 0.
Target (issue): import ≥ 50% of the LOAD DATA rate. Runs in its own schema (``bench_stock_import``).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from foundation.db import Database, drop_schema
from foundation.island import discover_islands
from integration_sdk.migrations import upgrade
from integration_sdk.outbox import OUTBOX, Outbox
from integration_sdk.partners.generator import generate, is_current
from integration_sdk.testing import island_settings
from stock_import.imports.feeds import OfferRow, read_feed
from stock_import.imports.mapping import FeedMapping
from stock_import.imports.service import import_feed, register_suppliers

NAMESPACE = "bench_"


async def import_round(db: Database, settings: Any, feeds: dict[str, Path], store: Path) -> tuple[float, int, int]:
    """All feeds, one after the other; (seconds, rows, aggregates changed)."""
    outbox = Outbox(settings)
    rows = changed = 0
    started = time.perf_counter()
    for supplier_id, path in feeds.items():
        result = await import_feed(db, outbox, store, supplier_id, path, "full", "seed")
        assert result.status == "succeeded", result.error
        rows += result.rows_total
        changed += result.aggregates_changed
    return time.perf_counter() - started, rows, changed


async def stock_events(db: Database) -> int:
    async with db.reader.connect() as conn:
        query = sa.select(sa.func.count()).where(OUTBOX.c.message_type == "stock.availability.changed")
        return int((await conn.execute(query.select_from(OUTBOX))).scalar_one())


async def load_data_reference(
    db: Database, settings: Any, feeds: dict[str, Path], mappings: dict[str, Any]
) -> tuple[float, int]:
    """The same valid rows as TSV through LOAD DATA LOCAL INFILE into a copy of supplier_offer."""
    with tempfile.TemporaryDirectory() as folder:
        tsv = Path(folder) / "offers.tsv"
        rows = 0
        with tsv.open("w", newline="") as out:
            writer = csv.writer(out, delimiter="\t", lineterminator="\n")
            for supplier_id, path in feeds.items():
                seen = set()
                for item in read_feed(path, FeedMapping.model_validate(mappings[supplier_id])):
                    if isinstance(item, OfferRow) and item.article_number not in seen:
                        seen.add(item.article_number)
                        values = (item.supplier_sku or "", item.quantity, item.price, item.delivery_date or "\\N")
                        writer.writerow([supplier_id, item.article_number, *values, "bench", "2026-11-25 00:00:00"])
                        rows += 1
        async with db.writer.begin() as conn:
            await conn.execute(sa.text("DROP TABLE IF EXISTS offer_load_data"))
            await conn.execute(sa.text("CREATE TABLE offer_load_data LIKE supplier_offer"))
        columns = (
            "supplier_id, article_number, supplier_sku, quantity, purchase_price, delivery_date, batch_id, updated_at"
        )
        sql = f"LOAD DATA LOCAL INFILE '{tsv}' INTO TABLE offer_load_data FIELDS TERMINATED BY '\\t' ({columns})"
        started = time.perf_counter()
        subprocess.run(
            ["mysql", "-uroot", "-h127.0.0.1", "--local-infile=1", settings.db_schema, "-e", sql], check=True
        )
        return time.perf_counter() - started, rows


def changed_copies(feeds: dict[str, Path], share: float, out_dir: Path, seed: int) -> dict[str, Path]:
    """Copies of the feeds with ``share`` of their data lines' stock figure altered (format-agnostic: digits)."""
    rng = random.Random(seed)
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


async def main(scale: str, seed: int, changed: float) -> None:
    island = next(i for i in discover_islands() if i.name == "stock-import")
    settings = island_settings("stock-import", NAMESPACE, log_level="WARNING")
    data_dir = Path("var/seed") / f"{scale}-{seed}"
    if not is_current(data_dir):
        print(f"generating the {scale} data set into {data_dir} ...")
        generate(scale, seed, data_dir)  # type: ignore[arg-type]
    await drop_schema(settings)
    await upgrade(island, settings)
    db = Database.from_settings(settings)
    try:
        await register_suppliers(db, data_dir / "suppliers" / "suppliers.json")
        import json

        definitions = json.loads((data_dir / "suppliers" / "suppliers.json").read_text(encoding="utf-8"))
        mappings = {d["supplier_id"]: d["mapping"] for d in definitions}
        feeds = {d["supplier_id"]: next((data_dir / "suppliers" / "feeds").glob(f"{d['supplier_id']}.*"))
                 for d in definitions}  # fmt: skip
        with tempfile.TemporaryDirectory() as folder:
            store = Path(folder) / "store"
            seconds, rows, aggregates = await import_round(db, settings, feeds, store)
            events = await stock_events(db)
            ref_seconds, ref_rows = await load_data_reference(db, settings, feeds, mappings)
            import_rate, ref_rate = rows / seconds, ref_rows / ref_seconds
            print(f"round 1 (50 full feeds)  import {rows:,} rows in {seconds:6.1f} s = {import_rate:8,.0f} rows/s   "
                  f"LOAD DATA {ref_rows:,} rows in {ref_seconds:5.1f} s = {ref_rate:8,.0f} rows/s   "
                  f"import/LOAD DATA {import_rate / ref_rate:4.0%} (target ≥ 50%)   events {events:,}")  # fmt: skip
            copies = changed_copies(feeds, changed, Path(folder), seed)
            seconds2, rows2, aggregates2 = await import_round(db, settings, copies, store)
            events2 = await stock_events(db) - events
            print(f"round 2 ({changed:.0%} of rows changed)  {rows2 / seconds2:8,.0f} rows/s in {seconds2:6.1f} s   "
                  f"aggregates changed {aggregates2:,}   events {events2:,} (= aggregates changed)")  # fmt: skip
            seconds3, rows3, aggregates3 = await import_round(db, settings, copies, store)
            events3 = await stock_events(db) - events - events2
            print(f"round 3 (unchanged re-import)  {rows3 / seconds3:8,.0f} rows/s in {seconds3:6.1f} s   "
                  f"events {events3} (must be 0)")  # fmt: skip
    finally:
        await db.dispose()
        await drop_schema(settings)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="full", choices=["tiny", "small", "full"])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--changed", type=float, default=0.02)
    args = parser.parse_args()
    asyncio.run(main(args.scale, args.seed, args.changed))
