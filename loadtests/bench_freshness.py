"""Stock freshness benchmark at full scale: supplier correction feed → storefront, through the real processes.

    uv run python loadtests/bench_freshness.py [--feeds-per-s 1] [--seconds 60] [--reuse]

Setup as bench_search.py (full data set, 50 full feeds imported, webshop projection filled; the setup's
events are marked sent, as after a drained backlog). Then stock-import's API and worker and the
webshop's worker run as their own processes, and correction feeds (1–500 rows of one supplier, new
quantities and prices) are uploaded on schedule over HTTP, at 3× the load model's 20 feeds/min by
default. Printed, side by side:

- freshness: aggregate change in stock-import (its ``computed_at``, stamped in the import transaction)
  → projection row written in the webshop (``updated_at``, stamped in the consumer's transaction),
  per changed article, p50/p95/p99;
- upload → visible: from the upload's 202 until every article of the feed shows the batch in the
  webshop projection (includes queueing, parsing and the import itself);
- the webshop worker's own ``projection_freshness_seconds`` histogram (event occurred-at → commit).
Target (issue): freshness p95 ≤ 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bench_messaging import percentiles
from bench_search import setup, wait_ready
from foundation.db import Database
from integration_sdk.partners.generator import generate, is_current
from integration_sdk.testing import delete_broker_namespace, island_settings
from stock_import.tables import article_stock_aggregate, supplier_offer
from webshop.tables import article_availability_projection

NAMESPACE = "bsearch_"  # the schemas bench_search.py sets up
TOKEN = {"Authorization": "Bearer local-operator-token"}
PROCESSES = {
    "stock-import": ("stock_import.app:create_app", 8802, "STOCK_IMPORT_"),
    "stock-import worker": ("stock_import.worker:create_worker_app", 9802, "STOCK_IMPORT_"),
    "webshop worker": ("webshop.worker:create_worker_app", 9801, "WEBSHOP_"),
}


def start(name: str, settings: Any, feed_store: Path) -> subprocess.Popen[bytes]:
    factory, port, prefix = PROCESSES[name]
    env = {**os.environ, f"{prefix}DB_URL": settings.db_url, f"{prefix}BROKER_NAMESPACE": NAMESPACE,
           f"{prefix}REDIS_KEY_PREFIX": NAMESPACE, f"{prefix}LOG_LEVEL": "WARNING", f"{prefix}LOG_JSON": "false",
           "STOCK_IMPORT_FEED_STORE_DIR": str(feed_store)}  # fmt: skip
    command = [sys.executable, "-m", "uvicorn", "--factory", factory, "--port", str(port), "--log-level", "warning",
               "--no-access-log", "--loop", "uvloop"]  # fmt: skip
    return subprocess.Popen(command, env=env)


async def offered(stock: Any) -> dict[str, list[str]]:
    db = Database.from_settings(stock)
    try:
        async with db.reader.connect() as conn:
            rows = await conn.execute(sa.select(supplier_offer.c.supplier_id, supplier_offer.c.article_number))
            by_supplier: dict[str, list[str]] = {}
            for supplier_id, number in rows:
                by_supplier.setdefault(supplier_id, []).append(number)
            await conn.execute(sa.text("UPDATE outbox_message SET status = 1 WHERE status = 0"))
        return by_supplier
    finally:
        await db.dispose()


def correction(rng: random.Random, numbers: list[str]) -> bytes:
    # Every supplier's mapping differs; corrections use each supplier's registered CSV/XML shape would be
    # truer, but the load is on the pipeline, not the parser: suppliers SUP-002-like (English CSV) only.
    rows = rng.sample(numbers, min(len(numbers), rng.randint(1, 500)))
    lines = [f"X{i},{rng.randint(0, 60)},{rng.randint(3000, 30000) / 100:.2f},,{n}" for i, n in enumerate(rows)]
    return ("sku,stock,net_price,eta,item_code\n" + "\n".join(lines) + "\n").encode()


async def main(feeds_per_s: float, seconds: float, reuse: bool, seed: int, scale: str) -> None:
    stock = island_settings("stock-import", NAMESPACE, log_level="WARNING")
    shop = island_settings("webshop", NAMESPACE, log_level="WARNING")
    feed_store = Path("var/bench-search/feeds")
    data_dir = Path("var/seed") / f"{scale}-{seed}"
    if not is_current(data_dir):
        generate(scale, seed, data_dir)  # type: ignore[arg-type]
    if not reuse:
        await setup(data_dir, stock.model_copy(update={"feed_store_dir": feed_store}), shop)
    by_supplier = await offered(stock)
    csv_suppliers = [s for s in by_supplier if s == "SUP-002"] or sorted(by_supplier)[:1]
    processes = [start(name, stock if name.startswith("stock") else shop, feed_store) for name in PROCESSES]
    rng = random.Random(time.time_ns())  # new values every run: a repeat of the last run's feeds would change nothing
    uploads: list[tuple[str, float, set[str]]] = []
    try:
        for _, port, _ in PROCESSES.values():
            await wait_ready(port)
        async with httpx.AsyncClient(base_url="http://127.0.0.1:8802", headers=TOKEN, timeout=30) as client:
            start_at = time.perf_counter()
            for index in range(int(feeds_per_s * seconds)):
                await asyncio.sleep(max(0.0, start_at + index / feeds_per_s - time.perf_counter()))
                supplier = rng.choice(csv_suppliers)
                body = correction(rng, by_supplier[supplier])
                sent = time.time()
                response = await client.post(f"/api/v1/suppliers/{supplier}/feeds?kind=delta", content=body)
                response.raise_for_status()
                numbers = {line.split(",")[-1] for line in body.decode().splitlines()[1:]}
                uploads.append((response.json()["batch_id"], sent, numbers))
        visible = await wait_visible(stock, shop, uploads)
        freshness = await measured_freshness(stock, shop, {n for _, _, numbers in uploads for n in numbers})
        async with httpx.AsyncClient(base_url="http://127.0.0.1:9801") as client:
            lines = (await client.get("/metrics")).text.splitlines()
            histogram = [line for line in lines if line.startswith("projection_freshness") and '"stock"' in line]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(20)
        await delete_broker_namespace(shop)
    print(f"{len(uploads)} correction feeds at {feeds_per_s:g}/s over {seconds:g} s, "
          f"{sum(len(n) for _, _, n in uploads):,} rows")  # fmt: skip
    print(f"freshness (aggregate change → projection row): {percentiles(freshness)}   (target p95 ≤ 1 s)")
    print(f"upload → visible in the storefront projection: {percentiles(visible)}")
    buckets = [(h.split('le="')[1].split('"')[0], float(h.rsplit(" ", 1)[1])) for h in histogram if "_bucket" in h]
    total = buckets[-1][1] if buckets else 0
    share = ", ".join(f"≤{le} s {count / total:.0%}" for le, count in buckets if le in ("0.1", "0.25", "0.5", "1.0"))
    print(f"webshop worker histogram (occurred-at → commit), {total:.0f} events: {share}")


async def wait_visible(stock: Any, shop: Any, uploads: list[tuple[str, float, set[str]]]) -> list[float]:
    """Per feed: upload → the last of its articles written to the projection with its batch id.

    Measured after the fact from the projection's ``updated_at`` (same host clock as the upload stamp),
    over the articles whose latest state came from that feed; feeds whose every article was changed
    again by a later feed have nothing left to measure and are skipped. Waits first until stock-import
    has imported every feed and published every event, and the projection has stopped changing.
    """
    stock_db = Database.from_settings(stock)
    try:
        for _ in range(3000):
            async with stock_db.reader.connect() as conn:
                queued = await conn.scalar(sa.text("SELECT COUNT(*) FROM import_batch WHERE status = 'queued'"))
                pending = await conn.scalar(sa.text("SELECT COUNT(*) FROM outbox_message WHERE status = 0"))
            if not queued and not pending:
                break
            await asyncio.sleep(0.1)
    finally:
        await stock_db.dispose()
    db = Database.from_settings(shop)
    proj = article_availability_projection
    numbers = {n for _, _, batch_numbers in uploads for n in batch_numbers}
    try:
        last, stable_since = None, time.time()
        while time.time() - stable_since < 2:
            async with db.reader.connect() as conn:
                latest = await conn.scalar(sa.select(sa.func.max(proj.c.updated_at)))
            if latest != last:
                last, stable_since = latest, time.time()
            await asyncio.sleep(0.2)
        async with db.reader.connect() as conn:
            rows = (await conn.execute(sa.select(proj.c.source_batch_id, sa.func.max(proj.c.updated_at))
                                       .where(proj.c.article_number.in_(numbers))
                                       .group_by(proj.c.source_batch_id))).all()  # fmt: skip
    finally:
        await db.dispose()
    written = dict(rows)
    return [written[batch].replace(tzinfo=UTC).timestamp() - at for batch, at, _ in uploads if batch in written]


async def measured_freshness(stock: Any, shop: Any, numbers: set[str]) -> list[float]:
    """Per article: projection ``updated_at`` − aggregate ``computed_at`` of the same batch."""
    stock_db, shop_db = Database.from_settings(stock), Database.from_settings(shop)
    agg, proj = article_stock_aggregate, article_availability_projection
    try:
        async with stock_db.reader.connect() as conn:
            computed = {r[0]: (r[1], r[2]) for r in await conn.execute(
                sa.select(agg.c.article_number, agg.c.source_batch_id, agg.c.computed_at)
                .where(agg.c.article_number.in_(numbers)))}  # fmt: skip
        async with shop_db.reader.connect() as conn:
            written = {r[0]: (r[1], r[2]) for r in await conn.execute(
                sa.select(proj.c.article_number, proj.c.source_batch_id, proj.c.updated_at)
                .where(proj.c.article_number.in_(numbers)))}  # fmt: skip
    finally:
        await stock_db.dispose()
        await shop_db.dispose()
    return [(written[n][1] - computed[n][1]).total_seconds() for n in numbers
            if n in written and n in computed and written[n][0] == computed[n][0]]  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds-per-s", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scale", default="full", choices=["tiny", "small", "full"])
    parser.add_argument("--reuse", action="store_true", help="keep the bench schemas of a previous bench_search run")
    args = parser.parse_args()
    asyncio.run(main(args.feeds_per_s, args.seconds, args.reuse, args.seed, args.scale))
