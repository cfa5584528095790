"""Fitment benchmark at full scale: the mapping build, incremental recomputes, propagation and lookups.

    uv run python loadtests/bench_fitment.py [--reuse] [--rate 150] [--seconds 30]

Setup (skipped with ``--reuse`` when the bench schemas exist): the full generated data set (285k
articles, 20k variants); vehicle-data gets the articles through its catalogue handler (as the consumer
applies catalogue events, in batches of 1,000) and the variants through the vehicle sync; the webshop
gets the catalogue rows with a generated availability (the search benchmark measures the stock flow).

Then, in one run:
1. full build: vehicle-data works off everything pending (the worker's ``process_pending`` loop) from
   empty tables: time, variants, tyre size rows and mapping rows written, rows/s; then the webshop
   applies every announcement through its consumer's batch path (time, rows/s);
2. incremental recomputes, each its own transaction as the worker runs it: one rule change (a tyre size
   excluded for one variant: one bucket), one wheel spec change (its bucket intersection), one variant
   changed (all its buckets), and the most popular tyre bucket recomputed whole; latency p50/p95 and
   what each touched;
3. change → visible in the webshop: vehicle-data's API and worker and the webshop's worker as their own
   processes; rule changes posted over HTTP, the time until the webshop's lookup shows them;
4. lookups at 1.5x the expected peak (150 req/s, open loop, latency from the intended send time) on the
   webshop API (its own process on core 1), beside the raw driver running the same SQL and the reference
   path (vehicle-data's rules over every article of the type, no buckets, no mapping), closed loop.
Targets (issue): full build ≤ 2 min; one bucket ≤ 1 s; lookup p95 ≤ 15 ms at 150 req/s (SLI 250 ms) and
≥ 20x faster than the reference path.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench_messaging import percentiles
from contracts import Envelope
from erp_middleware.articles.parsing import open_article_export
from erp_middleware.articles.service import article_row, article_upserted
from foundation.bulk import chunked
from foundation.db import Database, drop_schema
from foundation.island import discover_islands
from integration_sdk.consumer import BatchContext, Consumer
from integration_sdk.migrations import upgrade
from integration_sdk.outbox import OUTBOX, Outbox
from integration_sdk.partners.generator import generate, is_current
from integration_sdk.testing import island_settings
from integration_sdk.topology import BULK
from vehicle_data import product_specs
from vehicle_data.fitment.recompute import RecomputeReport, process_pending
from vehicle_data.tables import product_vehicle_mappings, vehicle_tyre_bucket
from vehicle_data.vehicles.service import sync_variants
from webshop.projections import fitment as webshop_fitment
from webshop.projections.catalog import catalog_row
from webshop.tables import catalog_article

NAMESPACE = "bfit_"
ISLANDS = {island.name: island for island in discover_islands()}


def envelope(event: Any) -> Envelope:
    return Envelope.wrap(event, produced_by="erp-middleware", correlation_id="bench")


async def setup(data_dir: Path, vehicle: Any, shop: Any) -> None:
    """vehicle-data's specs through its catalogue handler and variants through the sync; the webshop's rows."""
    for name, settings in (("vehicle-data", vehicle), ("webshop", shop)):
        await drop_schema(settings)
        await upgrade(ISLANDS[name], settings)
    vehicle_db, shop_db = Database.from_settings(vehicle), Database.from_settings(shop)
    outbox = Outbox(vehicle)
    rng = random.Random(7)
    try:
        started = time.perf_counter()
        lines = (line for line in open_article_export(data_dir / "erp" / "articles_full.csv") if line.article)
        for chunk in chunked(lines, 1_000):
            events = [article_upserted({**article_row(line.article, "bench"), "version": 1})
                      for line in chunk if line.article]  # fmt: skip
            async with vehicle_db.sessions.begin() as session:
                await product_specs.apply_upserts([(e, envelope(e)) for e in events], BatchContext(session, outbox))
            rows = [{**catalog_row(e), "sellable_qty": rng.choice((0, 0, 2, 4, 8, 20)),
                     "best_price": round(e.list_price * rng.choice((6, 7, 8))) / 10} for e in events]  # fmt: skip
            async with shop_db.sessions.begin() as session:
                await session.execute(sa.insert(catalog_article), rows)
        print(f"setup: 285k articles into vehicle-data's replica and the webshop's catalogue in "
              f"{time.perf_counter() - started:.0f} s")  # fmt: skip
        result = await sync_variants(vehicle_db, outbox, data_dir / "vehicles" / "variants.jsonl")
        print(f"setup: {result.records_ok} variants synced; {time.perf_counter() - started:.0f} s in all")
        async with vehicle_db.writer.begin() as conn:
            await conn.execute(sa.delete(OUTBOX))  # the setup's own announcements and requests
        async with shop_db.writer.begin() as conn:
            await conn.execute(sa.text("ANALYZE TABLE catalog_article"))
    finally:
        await vehicle_db.dispose()
        await shop_db.dispose()


async def full_build(vehicle: Any) -> RecomputeReport:
    """Everything pending, chunk by chunk as the worker's request chain runs it."""
    db, outbox = Database.from_settings(vehicle), Outbox(vehicle)
    total, started, chunks = RecomputeReport(), time.perf_counter(), 0
    try:
        while True:
            async with db.sessions.begin() as session:
                report, more = await process_pending(session, outbox)
            total.add(report)
            chunks += 1
            if chunks % 20 == 0:
                print(f"  ... {time.perf_counter() - started:.0f} s: {total.vehicles:,} variants, "
                      f"{total.mapping_rows_written:,} mapping rows", flush=True)  # fmt: skip
            if not more:
                break
        elapsed = time.perf_counter() - started
        async with db.reader.connect() as conn:
            mappings = await conn.scalar(sa.select(sa.func.count()).select_from(product_vehicle_mappings))
            tyre_rows = await conn.scalar(sa.select(sa.func.count()).select_from(vehicle_tyre_bucket))
        rows = total.mapping_rows_written + total.tyre_rows_written
        print(f"full build: {elapsed:.1f} s for {total.vehicles:,} variants ({total.articles_folded:,} article changes "
              f"folded in): {mappings:,} mapping rows, {tyre_rows:,} tyre size rows, {total.events:,} announcements; "
              f"{rows / elapsed:,.0f} rows/s (target ≤ 2 min)")  # fmt: skip
    finally:
        await db.dispose()
    return total


async def replicate(vehicle: Any, shop: Any) -> None:
    """Every announcement of the build through the webshop consumer's batch path, 100 per transaction."""
    vehicle_db, shop_db = Database.from_settings(vehicle), Database.from_settings(shop)
    consumer = Consumer(settings=shop, queue_class=BULK, handlers=webshop_fitment.HANDLERS, sessions=shop_db.sessions,
                        outbox=Outbox(shop))  # fmt: skip
    applied, rows, last_id, started = 0, 0, 0, time.perf_counter()
    try:
        while True:
            async with vehicle_db.reader.connect() as conn:
                page = (await conn.execute(
                    sa.select(OUTBOX.c.id, OUTBOX.c.body).where(OUTBOX.c.id > last_id,
                                                                OUTBOX.c.message_type == "fitment.mapping.changed")
                    .order_by(OUTBOX.c.id).limit(100)
                )).all()  # fmt: skip
            if not page:
                break
            last_id = page[-1].id
            envelopes = [Envelope.from_bytes(row.body) for row in page]
            outcomes = await consumer.apply_batch(envelopes)
            assert not any(isinstance(outcome, Exception) for outcome in outcomes), outcomes
            applied += len(envelopes)
            rows += sum(len(e.payload["mappings_upserted"]) + len(e.payload["tyre_sizes"] or []) for e in envelopes)
        elapsed = time.perf_counter() - started
        print(f"webshop replica from the build's announcements: {applied:,} events, {rows:,} rows in {elapsed:.1f} s "
              f"({rows / max(elapsed, 1e-9):,.0f} rows/s)")  # fmt: skip
    finally:
        await vehicle_db.dispose()
        await shop_db.dispose()


async def main(args: argparse.Namespace) -> None:
    os.sched_setaffinity(0, {0})
    vehicle = island_settings("vehicle-data", NAMESPACE, log_level="WARNING")
    shop = island_settings("webshop", NAMESPACE, log_level="WARNING")
    data_dir = Path("var/seed") / f"{args.scale}-{args.seed}"
    if not is_current(data_dir):
        generate(args.scale, args.seed, data_dir)
    if not args.reuse:
        await setup(data_dir, vehicle, shop)
        await full_build(vehicle)
        await replicate(vehicle, shop)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=150)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scale", default="full", choices=["tiny", "small", "full"], help="full for figures")
    parser.add_argument("--reuse", action="store_true", help="keep the bench schemas of a previous run")
    asyncio.run(main(parser.parse_args()))
    _ = uuid
