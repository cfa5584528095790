"""Product search benchmark at full scale: the projection API beside the raw driver and the reference path.

    uv run python loadtests/bench_search.py [--rate 300] [--seconds 30] [--reuse]

Setup (skipped with ``--reuse`` when the bench schemas exist): the full generated data set; stock-import
imports the 50 full supplier feeds (~1M offers) through its import path; the webshop's catalogue rows
are built from the ERP export with the catalogue handler's row builder and get their availability
from stock-import's aggregates through the stock handler's write path (the state the event pipeline
produces, without waiting for 285k + 250k events).

Then, in one run:
1. open-loop load on the webshop API (a uvicorn process pinned to core 1; this generator on core 0): a mix
   of tyre searches by size (sizes drawn from the catalogue, so popular sizes come often), wheel searches
   by bolt pattern and diameter, and product details; latency measured from each request's intended
   send time, so queueing is not hidden; the generator's own lag is printed;
2. the same search SQL through the bare driver (asyncmy, literal SQL, one connection, closed loop);
3. the reference path, as the old system answered: the catalogue rows matching the filter, availability
   aggregated at read time from every supplier's offers (stock-import's ``availability``), then
   in-stock filter, sort and page in the application.
Targets (issue): search p95 ≤ 15 ms at 300 req/s (SLI 200 ms); ≥ 20× faster than the reference path.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncmy
import httpx
import sqlalchemy as sa

from bench_messaging import percentiles
from erp_middleware.articles.parsing import open_article_export
from erp_middleware.articles.service import article_row, article_upserted
from foundation.bulk import chunked
from foundation.db import Database, drop_schema
from foundation.island import discover_islands
from http_load import closed_loop, cost_line, open_loop, usage
from integration_sdk.migrations import upgrade
from integration_sdk.outbox import Outbox
from integration_sdk.partners.generator import generate, is_current
from integration_sdk.testing import island_settings
from stock_import.imports.service import import_feed, register_suppliers
from stock_import.stock.aggregates import availability
from stock_import.tables import article_stock_aggregate
from webshop.projections.catalog import catalog_row
from webshop.projections.stock import write_availability
from webshop.search.filters import SearchParams
from webshop.search.queries import page_segments
from webshop.tables import catalog_article

NAMESPACE = "bsearch_"
PORT = 8801
API = f"http://127.0.0.1:{PORT}"
ISLANDS = {island.name: island for island in discover_islands()}


def p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def setup(data_dir: Path, stock: Any, shop: Any) -> None:
    """Stock-import's offers through its import path; the webshop's rows through the handlers' builders."""
    for name, settings in (("stock-import", stock), ("webshop", shop)):
        await drop_schema(settings)
        await upgrade(ISLANDS[name], settings)
    stock_db, shop_db = Database.from_settings(stock), Database.from_settings(shop)
    try:
        started = time.perf_counter()
        await register_suppliers(stock_db, data_dir / "suppliers" / "suppliers.json")
        definitions = json.loads((data_dir / "suppliers" / "suppliers.json").read_text(encoding="utf-8"))
        for definition in definitions:
            feed = next((data_dir / "suppliers" / "feeds").glob(f"{definition['supplier_id']}.*"))
            await import_feed(stock_db, Outbox(stock), stock.feed_store_dir, definition["supplier_id"], feed)
        print(f"setup: 50 feeds imported in {time.perf_counter() - started:.0f} s")
        lines = (line for line in open_article_export(data_dir / "erp" / "articles_full.csv") if line.article)
        for chunk in chunked(lines, 2_000):
            rows = [catalog_row(article_upserted({**article_row(line.article, "bench"), "version": 1}))
                    for line in chunk if line.article]  # fmt: skip
            async with shop_db.sessions.begin() as session:
                await session.execute(sa.insert(catalog_article), rows)
        agg = article_stock_aggregate
        async with stock_db.reader.connect() as conn:
            aggregates = (await conn.execute(sa.select(agg).where(agg.c.version > 0))).mappings().all()
        for chunk in chunked(aggregates, 2_000):
            names = ("article_number", "sellable_qty", "best_price", "next_delivery_date", "source_batch_id")
            rows = [{**{n: a[n] for n in names}, "updated_at": a["computed_at"]} for a in chunk]
            async with shop_db.sessions.begin() as session:
                await write_availability(session, rows)
        async with shop_db.writer.begin() as conn:
            await conn.execute(sa.text("ANALYZE TABLE catalog_article, article_availability_projection"))
        print(f"setup: done in {time.perf_counter() - started:.0f} s")
    finally:
        await stock_db.dispose()
        await shop_db.dispose()


async def request_mix(shop: Any, count: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """(path, params) drawn from the catalogue: 70% tyre searches, 15% wheel searches, 15% details."""
    rng = random.Random(seed)
    db = Database.from_settings(shop)
    try:
        async with db.reader.connect() as conn:
            tyres = (await conn.execute(sa.select(catalog_article.c.width, catalog_article.c.aspect,
                                                  catalog_article.c.rim_diameter)
                                        .where(catalog_article.c.article_type == "tyre"))).all()  # fmt: skip
            wheels = (await conn.execute(sa.select(catalog_article.c.pcd, catalog_article.c.wheel_diameter)
                                         .where(catalog_article.c.article_type == "wheel"))).all()  # fmt: skip
            numbers = list(await conn.scalars(sa.select(catalog_article.c.article_number)))
    finally:
        await db.dispose()
    mix: list[tuple[str, dict[str, Any]]] = []
    for _ in range(count):
        draw = rng.random()
        if draw < 0.70:
            width, aspect, rim = rng.choice(tyres)
            params: dict[str, Any] = {"type": "tyre", "width": width, "aspect": aspect, "diameter": rim,
                                      "sort": rng.choice(["price", "availability"])}  # fmt: skip
            if rng.random() < 0.5:
                params["season"] = rng.choice(["summer", "winter", "all_season"])
            if rng.random() < 0.7:
                params["in_stock"] = "true"
            mix.append(("/api/v1/products", params))
        elif draw < 0.85:
            pcd, diameter = rng.choice(wheels)
            mix.append(("/api/v1/products", {"type": "wheel", "pcd": str(pcd), "diameter": diameter, "sort": "price"}))
        else:
            mix.append((f"/api/v1/products/{rng.choice(numbers)}", {}))
    return mix


def search_params(params: dict[str, Any]) -> SearchParams:
    values = {**params, "in_stock": params.get("in_stock") == "true" or None}
    if "season" in values:
        values["season"] = [values["season"]]
    return SearchParams.model_validate(values)


async def raw_driver(shop: Any, mix: list[tuple[str, dict[str, Any]]]) -> list[float]:
    """The first page's SQL text and parameters, as the API sends them, through asyncmy on one connection."""
    url = sa.make_url(shop.db_url)
    conn = await asyncmy.connect(host=url.host, port=url.port or 3306, user=url.username, password=url.password or "",
                                 db=url.database)  # fmt: skip
    latencies = []
    try:
        async with conn.cursor() as cursor:
            for path, params in mix:
                if path != "/api/v1/products":
                    continue
                sql, parameters = page_segments(search_params(params), None)[0].read(25)
                started = time.perf_counter()
                await cursor.execute(sql, parameters)
                await cursor.fetchall()
                latencies.append(time.perf_counter() - started)
    finally:
        conn.close()
    return latencies


async def reference_path(stock: Any, shop: Any, mix: list[tuple[str, dict[str, Any]]]) -> list[float]:
    """Catalogue rows of the filter, availability aggregated from the offers at read time, sort and page here."""
    shop_db, stock_db = Database.from_settings(shop), Database.from_settings(stock)
    latencies = []
    c = catalog_article.c
    try:
        for path, params in mix:
            if path != "/api/v1/products":
                continue
            started = time.perf_counter()
            where = [c.article_type == params["type"]]
            if params["type"] == "tyre":
                where += [
                    c.width == params["width"],
                    c.aspect == params["aspect"],
                    c.rim_diameter == params["diameter"],
                ]
                if "season" in params:
                    where.append(c.season == params["season"])
            else:
                where += [c.pcd == params["pcd"], c.wheel_diameter == params["diameter"]]
            async with shop_db.reader.connect() as conn:
                rows = (await conn.execute(sa.select(c.article_number, c.brand, c.model, c.description)
                                           .where(*where))).all()  # fmt: skip
            async with stock_db.reader.connect() as conn:
                live = await availability(conn, [row.article_number for row in rows])
            items = [(row, live[row.article_number]) for row in rows]
            if params.get("in_stock") == "true":
                items = [item for item in items if item[1].sellable_qty > 0]
            if params["sort"] == "price":
                items.sort(key=lambda item: (item[1].best_price, item[0].article_number))
            else:
                items.sort(key=lambda item: (-item[1].sellable_qty, item[0].article_number))
            _page = items[:24]
            latencies.append(time.perf_counter() - started)
    finally:
        await shop_db.dispose()
        await stock_db.dispose()
    return latencies


def start_server(shop: Any) -> subprocess.Popen[bytes]:
    env = {**os.environ, "WEBSHOP_DB_URL": shop.db_url, "WEBSHOP_REDIS_KEY_PREFIX": NAMESPACE,
           "WEBSHOP_BROKER_NAMESPACE": NAMESPACE, "WEBSHOP_LOG_LEVEL": "WARNING",
           "WEBSHOP_DB_READ_POOL_SIZE": "20"}  # fmt: skip
    command = ["taskset", "-c", "1", sys.executable, "-m", "uvicorn", "--factory", "webshop.app:create_app",
               "--port", str(PORT), "--log-level", "warning", "--no-access-log", "--loop", "uvloop",
               "--timeout-keep-alive", "60"]  # fmt: skip
    return subprocess.Popen(command, env=env)


async def wait_ready(port: int = PORT) -> None:
    """Until the process on ``port`` answers ready (a minute at most)."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(600):
            try:
                if (await client.get("/health/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"port {port} did not become ready")


async def main(rate: float, seconds: float, reuse: bool, seed: int, scale: str) -> None:
    os.sched_setaffinity(0, {0})  # the generator on core 0; the API server on core 1
    stock = island_settings("stock-import", NAMESPACE, log_level="WARNING")
    stock = stock.model_copy(update={"feed_store_dir": Path("var/bench-search/feeds")})
    shop = island_settings("webshop", NAMESPACE, log_level="WARNING")
    data_dir = Path("var/seed") / f"{scale}-{seed}"
    if not is_current(data_dir):
        generate(scale, seed, data_dir)  # type: ignore[arg-type]
    if not reuse:
        await setup(data_dir, stock, shop)
    else:  # kept schemas get this code's migrations (new indexes), as a deployment would
        for name, settings in (("stock-import", stock), ("webshop", shop)):
            await upgrade(ISLANDS[name], settings)
    mix = await request_mix(shop, int(rate * seconds), seed)
    server = start_server(shop)
    try:
        await wait_ready()
        await open_loop(mix[: int(rate * 3)], rate, API)  # warm up: pools, caches, buffer pool
        since = usage(server.pid)
        latencies, lags, errors = await open_loop(mix, rate, API)
        cost = cost_line(server.pid, since, len(mix), seconds)
        searches = sum(1 for path, _ in mix if path == "/api/v1/products")
        print(f"webshop API, open loop at {rate:g} req/s for {seconds:g} s ({searches} searches, "
              f"{len(mix) - searches} details): {percentiles(latencies)}   errors {errors}   "
              f"(target p95 ≤ 15 ms, SLI 200 ms)")  # fmt: skip
        print(cost)
        print(f"  generator lag (start after intended send): p99 {p(lags, 0.99) * 1000:.2f} ms")
        searched = [(path, params) for path, params in mix[:300] if path == "/api/v1/products"]
        closed, _ = await closed_loop(searched, API)
        print(
            f"webshop API, searches one after the other (closed loop, like the reference below): {percentiles(closed)}"
        )
        through_httpx, _ = await closed_loop(searched, API, client="httpx")
        print(f"  the same through httpx (its client CPU included, as in earlier runs): {percentiles(through_httpx)}")
    finally:
        server.terminate()
        server.wait(10)
    raw = await raw_driver(shop, mix[:2000])
    print(f"raw driver, same first-page SQL, closed loop: {percentiles(raw)}")
    reference = await reference_path(stock, shop, mix[:300])
    print(f"reference path (aggregation at read time), closed loop: {percentiles(reference)}")
    if closed and reference:
        print(f"reference / API, same searches, closed loop: p50 {p(reference, 0.5) / p(closed, 0.5):.0f}x, "
              f"p95 {p(reference, 0.95) / p(closed, 0.95):.0f}x (target ≥ 20x)")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scale", default="full", choices=["tiny", "small", "full"], help="full for figures")
    parser.add_argument("--reuse", action="store_true", help="keep the bench schemas of a previous run")
    args = parser.parse_args()
    asyncio.run(main(args.rate, args.seconds, args.reuse, args.seed, args.scale))
