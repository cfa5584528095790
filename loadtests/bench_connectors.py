"""Connector benchmark at full scale: orders webshop → ERP under faults, and the 60 platforms' exports.

    uv run python loadtests/bench_connectors.py [--minutes 10] [--rate 7.5] [--reuse] [--only orders|exports]

Setup (skipped with ``--reuse`` when the bench schemas exist, namespace ``bconn_``): the full generated
data set (285k articles, 60 platforms). The webshop's ``catalog_article`` and platform-export's
``export_article`` get every article through their handlers' row builders, with a stock state drawn
per article from the seed (quantity, best price); the 60 generated platform configurations go
through platform-export's load path, their HTTP endpoints at the platform simulator.

**Orders**: the webshop API and worker, erp-middleware's worker and the ERP simulator run as their own
processes; the ERP answers 10% of order calls 429 (Retry-After 1 s) and 2% 503. An open-loop
generator places orders at ``--rate`` per second for ``--minutes`` (1–3 lines of articles in stock)
and measures from the intended send time to the ERP's creation of the order. Printed beside it: the
same orders sent straight to the ERP simulator without faults (the floor of one HTTP call), the
orders delivered, duplicates at the ERP (source orders created more than once: must be 0) and the
faults that fired.

**Exports**: a full run of each of the 60 platforms through ``ExportRunner`` (files, or pages pushed
to the platform simulator), one after the other: time, items/s, bytes and the process's peak RSS
growth; beside it the raw floor, one streamed ``SELECT`` of the whole replica written as CSV. Then 2%
of the articles get a new stock state through the replica's stock handler, and a delta run of each
platform carries exactly those in its filters.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import resource
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncmy
import httpx
import sqlalchemy as sa

from bench_messaging import percentiles
from bench_search import wait_ready
from contracts import Envelope, StockAvailabilityChanged
from erp_middleware.articles.parsing import open_article_export
from erp_middleware.articles.service import article_row, article_upserted
from foundation.bulk import chunked
from foundation.db import Database, drop_schema
from foundation.island import discover_islands
from integration_sdk.connectors import Connector
from integration_sdk.consumer import BatchContext
from integration_sdk.migrations import upgrade
from integration_sdk.outbox import Outbox
from integration_sdk.partners.catalog import TYRE_BRANDS
from integration_sdk.partners.generator import generate
from integration_sdk.partners.platforms import generate_platforms
from integration_sdk.testing import delete_broker_namespace, island_settings
from platform_export import replica
from platform_export.exports.runs import ExportRunner, queue_run
from platform_export.platforms.service import load_platform_configs
from platform_export.tables import export_article, export_run
from webshop.projections.catalog import catalog_row
from webshop.tables import catalog_article

NAMESPACE = "bconn_"
ISLANDS = {island.name: island for island in discover_islands()}
PORTS = {"webshop": 8861, "webshop worker": 9861, "erp-middleware worker": 9865, "erp sim": 8871, "platform sim": 8872}
FACTORIES = {
    "webshop": ("webshop.app:create_app", "WEBSHOP_"),
    "webshop worker": ("webshop.worker:create_worker_app", "WEBSHOP_"),
    "erp-middleware worker": ("erp_middleware.worker:create_worker_app", "ERP_MIDDLEWARE_"),
    "erp sim": ("integration_sdk.partners.simulators.erp:create_erp_simulator", "PARTNER_SIM_"),
    "platform sim": ("integration_sdk.partners.simulators.platforms:create_platforms_simulator", "PARTNER_SIM_"),
}
SIM_ENV = {"PARTNER_SIM_ERP_PORT": str(PORTS["erp sim"]), "PARTNER_SIM_PLATFORMS_PORT": str(PORTS["platform sim"])}
ERP_URL = f"http://127.0.0.1:{PORTS['erp sim']}"
PLATFORMS_URL = f"http://127.0.0.1:{PORTS['platform sim']}"


def settings_of(name: str, **overrides: Any) -> Any:
    return island_settings(name, NAMESPACE, log_level="WARNING", **overrides)


def start(name: str) -> subprocess.Popen[bytes]:
    factory, prefix = FACTORIES[name]
    env = {**os.environ, **SIM_ENV, "ERP_MIDDLEWARE_ERP_URL": ERP_URL, "PARTNER_SIM_ERP_SHIP_AFTER_S": "2"}
    if prefix != "PARTNER_SIM_":
        settings = settings_of(name.split()[0])
        env |= {
            f"{prefix}DB_URL": settings.db_url,
            f"{prefix}BROKER_NAMESPACE": NAMESPACE,
            f"{prefix}REDIS_KEY_PREFIX": NAMESPACE,
            f"{prefix}LOG_LEVEL": "WARNING",
            f"{prefix}LOG_JSON": "false",
        }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--port",
        str(PORTS[name]),
        "--log-level",
        "warning",
        "--no-access-log",
        "--loop",
        "uvloop",
    ]
    return subprocess.Popen(command, env=env)


def stock_state(rng: random.Random, list_price: Decimal) -> tuple[int, Decimal]:
    """A plausible stock state: a fifth out of stock, the rest 1–120 pieces at 55–90% of list price."""
    qty = 0 if rng.random() < 0.2 else rng.randint(1, 120)
    return qty, (list_price * Decimal(rng.uniform(0.55, 0.9))).quantize(Decimal("0.01"))


async def setup(data_dir: Path, seed: int) -> None:
    """Both replicas at full scale through their row builders; the 60 platforms through their load path."""
    shop, export = settings_of("webshop"), settings_of("platform-export")
    for name, settings in (
        ("webshop", shop),
        ("platform-export", export),
        ("erp-middleware", settings_of("erp-middleware")),
    ):
        await drop_schema(settings)
        await upgrade(ISLANDS[name], settings)
    shop_db, export_db = Database.from_settings(shop), Database.from_settings(export)
    rng = random.Random(f"{seed}:bench-stock")
    started = time.perf_counter()
    try:
        lines = (line for line in open_article_export(data_dir / "erp" / "articles_full.csv") if line.article)
        for chunk in chunked(lines, 2_000):
            events = [
                article_upserted({**article_row(line.article, "bench"), "version": 1}) for line in chunk if line.article
            ]
            states = [stock_state(rng, event.list_price) for event in events]
            shop_rows = [
                {**catalog_row(e), "sellable_qty": q, "best_price": p} for e, (q, p) in zip(events, states, strict=True)
            ]
            export_rows = [
                {**replica.catalog_columns(e), "sellable_qty": q, "best_price": p, "stock_version": 1, "change_seq": 1}
                for e, (q, p) in zip(events, states, strict=True)
            ]
            async with shop_db.sessions.begin() as session:
                await session.execute(sa.insert(catalog_article), shop_rows)
            async with export_db.sessions.begin() as session:
                await session.execute(sa.insert(export_article), export_rows)
        async with export_db.writer.begin() as conn:
            await conn.execute(sa.text("UPDATE export_change_counter SET seq = 1"))
            await conn.execute(sa.text("ANALYZE TABLE export_article"))
        platforms = generate_platforms(random.Random(f"{seed}:platforms"), 60, sorted(TYRE_BRANDS), PLATFORMS_URL)
        path = data_dir.parent / "bench-connectors-platforms.json"
        path.write_text(json.dumps(platforms))
        await load_platform_configs(export_db, path)
        print(f"setup: {time.perf_counter() - started:.0f} s")
    finally:
        await shop_db.dispose()
        await export_db.dispose()


# --- orders ---------------------------------------------------------------------------------------------


async def orderable(shop: Any) -> list[str]:
    db = Database.from_settings(shop)
    try:
        async with db.reader.connect() as conn:
            query = sa.select(catalog_article.c.article_number).where(catalog_article.c.sellable_qty >= 100)
            return list((await conn.execute(query)).scalars())
    finally:
        await db.dispose()


async def place_orders(articles: list[str], rate: float, seconds: float, base_url: str, direct: bool) -> Any:
    """Open loop: order i is due at start + i / rate; its intended send time is what latency counts from."""
    rng = random.Random(11 if direct else 7)
    intended: dict[str, float] = {}
    errors = 0
    tasks = []
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=httpx.Limits(max_connections=50)) as client:
        start_at = time.time() + 0.5

        async def one(index: int) -> None:
            nonlocal errors
            due = start_at + index / rate
            await asyncio.sleep(max(0.0, due - time.time()))
            lines = [
                {"article_number": a, "quantity": rng.randint(1, 4)} for a in rng.sample(articles, rng.randint(1, 3))
            ]
            key = f"bench-{'direct' if direct else 'order'}-{time.time_ns()}-{index}"
            if direct:
                body = {
                    "order_key": key,
                    "source": "bench",
                    "source_order_id": key,
                    "customer_reference": "bench",
                    "currency": "EUR",
                    "total": "1.00",
                    "lines": [{**line, "unit_price": "1.00"} for line in lines],
                }
                response = await client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": key})
                intended[key] = due
            else:
                body = {"customer_id": f"dealer-{index % 500}", "lines": lines}
                response = await client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": key})
                if response.status_code == 201:
                    intended[f"webshop:{response.json()['order_id']}"] = due
            if response.status_code not in (200, 201):
                errors += 1

        for index in range(int(rate * seconds)):
            tasks.append(asyncio.create_task(one(index)))
        await asyncio.gather(*tasks)
    return intended, errors


async def erp_summary() -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=ERP_URL, timeout=60) as client:
        result: dict[str, Any] = (await client.get("/_control/orders")).json()
        result["faults"] = (await client.get("/_control/faults")).json()["fired"]
        return result


async def orders_phase(minutes: float, rate: float, faulty: bool = True) -> None:
    shop = settings_of("webshop")
    articles = await orderable(shop)
    processes = [start(name) for name in ("erp sim", "webshop", "webshop worker", "erp-middleware worker")]
    try:
        for name in ("erp sim", "webshop", "webshop worker", "erp-middleware worker"):
            await wait_ready(PORTS[name])
        reference, _ = await place_orders(articles, rate, 30, ERP_URL, direct=True)
        floor = await erp_summary()
        reference_latency = [floor["orders"][key]["created_at"] - due for key, due in reference.items()]
        async with httpx.AsyncClient(base_url=ERP_URL) as client:
            faults = [
                {
                    "kind": "status",
                    "status": 429,
                    "retry_after_s": 1,
                    "probability": 0.10,
                    "route": "POST /api/v1/orders",
                },
                {"kind": "status", "status": 503, "probability": 0.02 / 0.9, "route": "POST /api/v1/orders"},
            ]
            if not faulty:
                faults = []
            (await client.put("/_control/faults", json=faults, params={"seed": 42})).raise_for_status()
        print(
            f"orders: {rate}/s for {minutes:g} min through the webshop API "
            f"({'ERP: 10% 429, 2% 503' if faulty else 'no faults'}) ..."
        )
        started = time.perf_counter()
        intended, errors = await place_orders(
            articles, rate, minutes * 60, f"http://127.0.0.1:{PORTS['webshop']}", direct=False
        )
        generation_s = time.perf_counter() - started
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            summary = await erp_summary()
            if all(key in summary["orders"] for key in intended):
                break
            await asyncio.sleep(2)
        drained_s = time.perf_counter() - started - generation_s
        delivered = [key for key in intended if key in summary["orders"]]
        latency = [summary["orders"][key]["created_at"] - intended[key] for key in delivered]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORTS['erp-middleware worker']}") as client:
            metrics = [
                line
                for line in (await client.get("/metrics")).text.splitlines()
                if line.startswith(
                    ("connector_calls_total", "connector_retries_total", "dlq_moves_total", "message_retries_total")
                )
            ]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
    print(
        f"  placed {len(intended):,} orders in {generation_s:.0f} s (HTTP errors {errors}); backlog drained "
        f"{drained_s:.0f} s after the last one"
    )
    duplicates = summary["duplicates"] - floor["duplicates"]
    requests = summary["requests"] - floor["requests"]
    print(
        f"  delivered to the ERP: {len(delivered):,} of {len(intended):,}; duplicates at the ERP: {duplicates}; "
        f"ERP order requests {requests:,}"
    )
    print(f"  faults fired: {summary['faults']}")
    print(f"  order placed → ERP accepted  {percentiles(latency)}")
    print(f"  reference: direct POST to the ERP, no faults  {percentiles(reference_latency)}")
    for line in metrics:
        if not line.startswith("#") and ('erp"' in line or "dlq" in line or "retries" in line):
            print(f"    {line}")


# --- exports --------------------------------------------------------------------------------------------


class RssSampler:
    """Peak resident set size of this process while a block runs (sampled every 50 ms)."""

    def __init__(self) -> None:
        self.peak = 0
        self.task: asyncio.Task[None] | None = None

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    async def _run(self) -> None:
        while True:
            self.peak = max(self.peak, self.rss())
            await asyncio.sleep(0.05)

    def __enter__(self) -> RssSampler:
        self.base = self.rss()
        self.task = asyncio.create_task(self._run())
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self.task is not None
        self.task.cancel()


async def run_all(db: Database, runner: ExportRunner, kind: str) -> tuple[float, list[dict[str, Any]]]:
    async with db.sessions.begin() as session:
        platforms = list((await session.execute(sa.text("SELECT platform_id FROM platform WHERE active"))).scalars())
        run_ids = [await queue_run(session, Outbox(runner.settings), p, kind) for p in platforms]  # type: ignore[arg-type]
    started = time.perf_counter()
    finals = [await runner.run(db, run_id) for run_id in run_ids]
    return time.perf_counter() - started, finals


async def raw_floor(export: Any, out: Path) -> tuple[float, int]:
    """One streamed SELECT of the whole replica with the raw driver, written as CSV: the floor."""
    url = sa.engine.make_url(export.db_url)
    conn = await asyncmy.connect(
        host=url.host, port=url.port or 3306, user=url.username, password=url.password or "", db=url.database
    )
    started = time.perf_counter()
    rows = 0
    try:
        async with conn.cursor(asyncmy.cursors.SSCursor) as cursor:
            await cursor.execute(
                "SELECT article_number, ean, brand, article_type, description, sellable_qty, "
                "best_price, next_delivery_date FROM export_article ORDER BY article_number"
            )
            with out.open("w", newline="") as file:
                writer = csv.writer(file, delimiter=";")
                while batch := await cursor.fetchmany(5000):
                    writer.writerows(batch)
                    rows += len(batch)
    finally:
        conn.close()
    return time.perf_counter() - started, rows


async def change_stock(db: Database, settings: Any, share: float, seed: int) -> set[str]:
    """New stock states for ``share`` of the articles, through the replica's stock handler."""
    async with db.reader.connect() as conn:
        numbers = list(await conn.execute(sa.select(export_article.c.article_number, export_article.c.list_price)))
    rng = random.Random(f"{seed}:delta:{time.time_ns()}")
    changed = rng.sample(numbers, int(len(numbers) * share))
    handler = replica.HANDLERS["stock.availability.changed"]
    for chunk in chunked(changed, 500):
        items = []
        for number, list_price in chunk:
            qty, price = stock_state(rng, list_price)
            event = StockAvailabilityChanged(
                article_number=number,
                sellable_qty=qty,
                best_price=price,
                source_batch_id="bench-delta",
                version=time.time_ns() // 1000,
            )
            items.append((event, Envelope.wrap(event, produced_by="stock-import", correlation_id="bench")))
        async with db.sessions.begin() as session:
            await handler.apply(items, BatchContext(session, Outbox(settings)))  # type: ignore[union-attr]
    return {number for number, _ in changed}


async def exports_phase(seed: int) -> None:
    export = settings_of("platform-export", export_dir=Path("var/bench-connectors/exports"), export_page_size=2000)
    sim = start("platform sim")
    db = Database.from_settings(export)
    connector = Connector("platform-feed", export.connector_policy())
    runner = ExportRunner(export, connector)
    try:
        await wait_ready(PORTS["platform sim"])
        async with db.writer.begin() as conn:
            await conn.execute(sa.delete(export_run))
            total = await conn.scalar(sa.select(sa.func.count()).select_from(export_article))
        Path("var/bench-connectors").mkdir(parents=True, exist_ok=True)
        floor_s, floor_rows = await raw_floor(export, Path("var/bench-connectors/raw.csv"))
        with RssSampler() as rss:
            full_s, fulls = await run_all(db, runner, "full")
        items = sum(run["items"] for run in fulls)
        size = sum(run["bytes"] for run in fulls)
        print(f"exports: {len(fulls)} active platforms, replica {total:,} articles")
        growth, base = (rss.peak - rss.base) / 1e6, rss.base / 1e6
        print(
            f"  full, all platforms one after the other: {full_s:.1f} s, {items:,} items "
            f"({items / full_s:,.0f} items/s), {size / 1e6:,.0f} MB; peak RSS +{growth:.0f} MB over {base:.0f} MB"
        )
        slowest = max(fulls, key=lambda run: run["finished_at"] - run["started_at"])
        print(
            f"  slowest full run: {slowest['platform_id']} {slowest['items']:,} items "
            f"{(slowest['finished_at'] - slowest['started_at']).total_seconds():.1f} s"
        )
        print(
            f"  reference: raw streamed SELECT of the whole replica to CSV: {floor_s:.1f} s, "
            f"{floor_rows / floor_s:,.0f} rows/s (one pass; the runs make {len(fulls)})"
        )
        started = time.perf_counter()
        changed = await change_stock(db, export, 0.02, seed)
        print(
            f"  2% change: {len(changed):,} articles through the replica's stock handler in "
            f"{time.perf_counter() - started:.1f} s"
        )
        with RssSampler() as rss:
            delta_s, deltas = await run_all(db, runner, "delta")
        items = sum(run["items"] for run in deltas)
        print(
            f"  delta, all platforms: {delta_s:.1f} s, {items:,} items ({items / delta_s:,.0f} items/s), "
            f"peak RSS +{(rss.peak - rss.base) / 1e6:.0f} MB"
        )
        exact = await delta_is_exact(db, deltas, changed)
        print(f"  every delta holds exactly the changed articles in its platform's filters: {exact}")
    finally:
        await connector.aclose()
        await db.dispose()
        sim.terminate()
        sim.wait(30)


async def delta_is_exact(db: Database, deltas: list[dict[str, Any]], changed: set[str]) -> bool:
    async with db.reader.connect() as conn:
        configs = {row.platform_id: row for row in await conn.execute(sa.text("SELECT * FROM platform"))}
        articles = {
            row.article_number: row
            for row in await conn.execute(
                sa.select(export_article.c.article_number, export_article.c.article_type, export_article.c.brand)
            )
        }
    for run in deltas:
        config = configs[run["platform_id"]]
        types, brands = json.loads(config.type_filter or "null"), json.loads(config.brand_filter or "null")
        expected = {
            n
            for n in changed
            if (not types or articles[n].article_type in types) and (not brands or articles[n].brand in brands)
        }
        if run["items"] != len(expected):
            print(f"    {run['platform_id']}: {run['items']} items, expected {len(expected)}")
            return False
    return True


async def main(minutes: float, rate: float, reuse: bool, seed: int, only: str | None, faulty: bool) -> None:
    data_dir = Path("var/seed") / f"full-{seed}"
    if not (data_dir / "erp" / "articles_full.csv").exists():
        generate("full", seed, data_dir)
    if not reuse:
        await setup(data_dir, seed)
    try:
        if only in (None, "exports"):
            await exports_phase(seed)
        if only in (None, "orders"):
            await orders_phase(minutes, rate, faulty)
    finally:
        await delete_broker_namespace(settings_of("webshop"))
    print(f"benchmark process: max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=7.5)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--only", choices=("orders", "exports"))
    parser.add_argument(
        "--no-faults", action="store_true", help="The ERP answers every call (the pipeline's own latency)."
    )
    args = parser.parse_args()
    asyncio.run(main(args.minutes, args.rate, args.reuse, args.seed, args.only, not args.no_faults))
