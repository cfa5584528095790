"""Wheel-set benchmark at full scale: the full build, one component change, a stock burst, the set APIs.

    uv run python loadtests/bench_wheel_sets.py [--rate 90] [--seconds 30]

Data: the fitment benchmark's webshop schema (``bfit_webshop``: 285k catalogue rows, 20k variants,
the fitment replica), reused as it is; it is brought to the migrations' head first and, when its
availability projection is empty, that is filled from the catalogue rows' copy (best price, else list
price; setup, not timed). ``--namespace bset_ --world tiny`` builds a small world of its own with the
fitment benchmark's functions (for trying the benchmark out; figures come from the full data set).
Afterwards the schema goes back to the revision it was found at, the set tables emptied (the fitment
benchmark's branch may not know the newer migrations; ``--keep-head`` keeps it and the sets).
``--buffer-pool-gib 4`` runs with the buffer pool the figures in RESULTS.md use (restored after);
``--build-only`` stops after the first phase; ``--apis-only`` runs only the last one, on the sets a
``--keep-head`` run left.

Then, in one run:
1. full build: both set tables emptied, then ``maintenance.rebuild`` of every variant (pages of
   ``--page-size``): time, sets and reverse index rows written, sets/s, variants with sets and sets per
   variant, beside the bound ``compose`` states (≤ 20k × 3 seasons × 6 × 3 mountings = 1.08M);
2. one component change → its sets updated: the webshop worker as its own process (core 1, a broker
   namespace of the benchmark's own), ``stock.availability.changed`` of one component at a time
   published onto the events exchange as stock-import's relay does (a newer aggregate version), for
   ~30 components of the reverse index (tyres, wheels and sensors, the most linked of each among
   them); publish → every linked set's ``computed_at`` newer (polled): p50/p95/max, sets per change;
3. stock burst: 5% of the articles get a new availability at once (published in batches of 500 like
   an import round's relay); publish → the worker has applied every event and every recompute request
   they caused, webshop.bulk is empty and every set linked to them has a newer ``computed_at``: time,
   sets touched, sets/s;
4. set APIs at 1.5x the expected peak (90 req/s, open loop, latency from the intended send time), once
   InnoDB has done with the writes of the phases before (at most 3 minutes' wait, printed): the
   webshop API as its own process on core 1, the generator on core 0; 70% set lists of random variants
   with sets (random season, mounting type, in-stock filter and sort; some a second page by cursor),
   30% set details. Beside, closed loop: 40 more lists (first pages, random filters) and 40 details
   through the API, the raw driver (the mix's SQL as literal text through asyncmy) and the reference
   path (``reference_sets`` + ``reference_page`` for those 40 lists), each path timed on its second
   pass over the lists (the first, cold, printed beside); dual-read: those 40 first pages from the API
   against the reference's, row by row.
Targets (issue): set APIs p95 ≤ 25 ms at 90 req/s (SLI 300 ms) and ≥ 20x faster than the reference
path; component change → sets updated p95 ≤ 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aio_pika
import asyncmy
import httpx
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

import bench_fitment
from bench_fitment import p, stop
from bench_messaging import percentiles
from bench_search import wait_ready
from contracts import Envelope, StockAvailabilityChanged, WheelSetRecomputeRequested
from foundation.bulk import chunked, utc_now
from foundation.db import Database
from foundation.island import discover_islands
from http_load import closed_loop, open_loop
from integration_sdk.messaging_schema import OUTBOX_PENDING
from integration_sdk.migrations import current_revision, downgrade, upgrade
from integration_sdk.outbox import APPLIED_VERSION, INBOX, OUTBOX
from integration_sdk.partners.generator import generate, is_current
from integration_sdk.testing import delete_broker_namespace, island_settings, truncate_tables
from integration_sdk.topology import BULK, declare_topology, exchange_name, queue_name
from webshop.projections.stock import STREAM as STOCK_STREAM
from webshop.tables import article_availability_projection, catalog_article, projection_job_checkpoint, vehicle_variant
from webshop.tables import wheel_set_component_index as component_index
from webshop.tables import wheel_set_projection as set_projection
from webshop.wheel_sets import maintenance
from webshop.wheel_sets.candidates import read_candidates, wheel_candidates_query
from webshop.wheel_sets.compose import MOUNTING_FEES, SEASONS, SETS_PER_SEASON, compose
from webshop.wheel_sets.queries import SORTS, SetListing, components_query, detail_query, list_query
from webshop.wheel_sets.reference import reference_page, reference_sets

NAMESPACE = "bfit_"  # the schemas bench_fitment.py sets up
BROKER_NAMESPACE = "bsets_"  # queues, exchange and Redis keys of this benchmark's own
ISLANDS = {island.name: island for island in discover_islands()}
PROCESSES = {  # ports of their own: the fitment benchmark's processes may be up when this one is tried out
    "webshop worker": ("webshop.worker:create_worker_app", 9821),
    "webshop": ("webshop.app:create_app", 8821),
}
API = f"http://127.0.0.1:{PROCESSES['webshop'][1]}"
RECOMPUTE = WheelSetRecomputeRequested.message_type
STOCK_EVENT = StockAvailabilityChanged.message_type
CONSUMER = "webshop.bulk"  # the worker's bulk consumer, as its inbox names it
KIND_NAMES = {"tyre": "tyres", "wheel": "wheels", "tpms": "sensors"}
BOUND = 20_000 * len(SEASONS) * SETS_PER_SEASON * len(MOUNTING_FEES)


class Printed:
    """A progress that prints every few pages (the CLI's bars are for operators)."""

    def task(self, description: str, total: int | None = None) -> Printed.Task:
        return Printed.Task(description, total)

    class Task:
        def __init__(self, description: str, total: int | None) -> None:
            self.description, self.total, self.done, self.started, self.shown = description, total, 0, 0.0, 0.0
            self.started = self.shown = time.perf_counter()

        def advance(self, units: int = 1) -> None:
            self.done += units
            if time.perf_counter() - self.shown > 15:
                self.shown = time.perf_counter()
                print(f"  ... {self.description}: {self.done:,}/{self.total or 0:,} after "
                      f"{self.shown - self.started:.0f} s", flush=True)  # fmt: skip


def start(name: str, settings: Any, core: int) -> subprocess.Popen[bytes]:
    factory, port = PROCESSES[name]
    env = {**os.environ, "WEBSHOP_DB_URL": settings.db_url, "WEBSHOP_BROKER_NAMESPACE": BROKER_NAMESPACE,
           "WEBSHOP_REDIS_KEY_PREFIX": BROKER_NAMESPACE, "WEBSHOP_LOG_LEVEL": "WARNING", "WEBSHOP_LOG_JSON": "false",
           "WEBSHOP_DB_READ_POOL_SIZE": "20"}  # fmt: skip
    command = ["taskset", "-c", str(core), sys.executable, "-m", "uvicorn", "--factory", factory, "--port",
               str(port), "--log-level", "warning", "--no-access-log", "--loop", "uvloop", "--timeout-keep-alive",
               "60"]  # fmt: skip
    return subprocess.Popen(command, env=env)


async def build_world(namespace: str, scale: str, seed: int) -> None:
    """A world of its own for trying the benchmark out: the fitment benchmark's setup and build."""
    if namespace == NAMESPACE:
        raise SystemExit(f"--world builds a schema of its own; {NAMESPACE}* is the fitment benchmark's")
    vehicle = island_settings("vehicle-data", namespace, log_level="WARNING")
    shop = island_settings("webshop", namespace, log_level="WARNING")
    data_dir = Path("var/seed") / f"{scale}-{seed}"
    if not is_current(data_dir):
        generate(scale, seed, data_dir)  # type: ignore[arg-type]
    await bench_fitment.setup(data_dir, vehicle, shop)
    await bench_fitment.full_build(vehicle)
    await bench_fitment.replicate(vehicle, shop)


async def prepare(shop: Any) -> str | None:
    """The schema at head; an empty availability projection filled from the catalogue rows' copy (not timed).
    The revision the schema was at before."""
    found = await current_revision(shop)
    await upgrade(ISLANDS["webshop"], shop)
    db = Database.from_settings(shop)
    a, c = article_availability_projection, catalog_article
    try:
        async with db.writer.begin() as conn:
            if not await conn.scalar(sa.select(sa.func.count()).select_from(a)):
                price = sa.func.coalesce(c.c.best_price, c.c.list_price)
                copied = sa.select(c.c.article_number, c.c.sellable_qty, price, c.c.next_delivery_date,
                                   sa.literal("bench-setup"), sa.func.utc_timestamp(3))  # fmt: skip
                result = await conn.execute(sa.insert(a).from_select(
                    ["article_number", "sellable_qty", "best_price", "next_delivery_date", "source_batch_id",
                     "updated_at"], copied))  # fmt: skip
                print(f"setup: availability projection filled from the catalogue: {result.rowcount:,} rows")
            await conn.execute(sa.text("ANALYZE TABLE article_availability_projection"))
    finally:
        await db.dispose()
    return found


async def restore(shop: Any, found: str | None) -> None:
    """The shared schema back at the revision it was found at (the fitment benchmark's branch may not know
    the newer ones, and its ``--reuse`` upgrades to its own head); the sets go with the columns they need."""
    if found is None or found == await current_revision(shop):
        return
    await truncate_tables(shop, "wheel_set_projection", "wheel_set_component_index")
    await downgrade(ISLANDS["webshop"], shop, found)
    print(f"schema {shop.db_schema} back at {found} (the set tables emptied)")


async def buffer_pool(shop: Any, size: int | None) -> int | None:
    """Set InnoDB's buffer pool to ``size`` bytes (None: leave it); the size it had."""
    if size is None:
        return None
    db = Database.from_settings(shop)
    try:
        async with db.writer.connect() as conn:
            before = int(await conn.scalar(sa.text("SELECT @@innodb_buffer_pool_size")) or 0)
            if before != size:
                await conn.execute(sa.text(f"SET GLOBAL innodb_buffer_pool_size = {int(size)}"))
                for _ in range(600):  # the resize runs in the background
                    status = str(await conn.scalar(sa.text(
                        "SELECT variable_value FROM information_schema.global_status "
                        "WHERE variable_name = 'INNODB_BUFFER_POOL_RESIZE_STATUS'")) or "")  # fmt: skip
                    if "ompleted" in status or not status:
                        break
                    await asyncio.sleep(0.5)
            print(f"InnoDB buffer pool {size / 2**30:g} GiB (was {before / 2**30:g} GiB)")
    finally:
        await db.dispose()
    return before


async def full_build(shop: Any, page_size: int) -> None:
    """Both set tables empty, then a rebuild of every variant, timed."""
    db = Database.from_settings(shop)
    s, i = set_projection, component_index
    try:
        async with db.writer.begin() as conn:
            for table in ("wheel_set_projection", "wheel_set_component_index"):
                await conn.execute(sa.text(f"TRUNCATE TABLE `{table}`"))
            await conn.execute(sa.delete(projection_job_checkpoint).where(
                projection_job_checkpoint.c.job_name == maintenance.REBUILD_JOB))  # fmt: skip
        started = time.perf_counter()
        report = await maintenance.rebuild(db, "all", Printed(), page_size=page_size)
        elapsed = time.perf_counter() - started
        assert report.finished, report
        async with db.writer.begin() as conn:
            await conn.execute(sa.text("ANALYZE TABLE wheel_set_projection, wheel_set_component_index"))
        async with db.reader.connect() as conn:
            sets = int(await conn.scalar(sa.select(sa.func.count()).select_from(s)) or 0)
            links = int(await conn.scalar(sa.select(sa.func.count()).select_from(i)) or 0)
            per_variant = [n for (n,) in await conn.execute(
                sa.select(sa.func.count()).select_from(s).group_by(s.c.vehicle_variant_id))]  # fmt: skip
            kinds = (await conn.execute(sa.select(
                sa.func.sum(sa.cast(s.c.is_staggered, sa.Integer)), sa.func.sum(sa.cast(s.c.tpms_missing, sa.Integer)),
                sa.func.sum(sa.cast(s.c.tpms_article_number.is_not(None), sa.Integer)),
                sa.func.sum(sa.cast(s.c.sellable_quantity > 0, sa.Integer))))).one()  # fmt: skip
    finally:
        await db.dispose()
    print(f"full build (rebuild all, pages of {page_size}): {elapsed:.1f} s for {report.variants:,} variants: "
          f"{sets:,} sets (bound {BOUND:,}: {sets / BOUND:.0%} of it), {links:,} reverse index rows; "
          f"{sets / elapsed:,.0f} sets/s")  # fmt: skip
    print(f"  variants with sets {len(per_variant):,} of {report.variants:,}; sets per variant mean "
          f"{sum(per_variant) / max(len(per_variant), 1):.1f}, max {max(per_variant, default=0)} "
          f"(bound {len(SEASONS) * SETS_PER_SEASON * len(MOUNTING_FEES)}); staggered {kinds[0] or 0:,}, with a sensor "
          f"{kinds[2] or 0:,}, tpms_missing {kinds[1] or 0:,}, in stock {kinds[3] or 0:,}")  # fmt: skip


async def page_profile(db: Database, page_size: int, seed: int) -> None:
    """Where a build page's time goes, for one page of variants (read only, one transaction): the wheel
    candidates' statement, all of ``read_candidates`` (variants, wheels, tyres, sensors) and ``compose``."""
    v = vehicle_variant.c
    async with db.reader.connect() as conn:
        every = list(await conn.scalars(sa.select(v.vehicle_variant_id).order_by(v.vehicle_variant_id)))
    first = random.Random(seed).randrange(max(1, len(every) - page_size))
    ids = every[first : first + page_size]
    async with db.sessions.begin() as session:
        started = time.perf_counter()
        wheels = len((await session.execute(wheel_candidates_query(ids))).all())
        wheel_s = time.perf_counter() - started
        started = time.perf_counter()
        candidates, sensors = await read_candidates(session, ids)
        read = time.perf_counter() - started
        started = time.perf_counter()
        sets = sum(len(compose(variant, wheels, tyres, sensors)) for variant, wheels, tyres in candidates.values())
        composing = time.perf_counter() - started
    tyres = sum(len(tyres) for _, _, tyres in candidates.values())
    print(f"  one page of {len(ids)} variants (ids {ids[0]}..{ids[-1]}), read only: read_candidates "
          f"{read * 1000:,.0f} ms ({tyres:,} tyre candidates; of it the wheel statement {wheel_s * 1000:,.0f} ms, "
          f"{wheels:,} rows); compose {composing * 1000:,.0f} ms for {sets:,} sets")  # fmt: skip


def kind_of(role: str) -> str:
    return "tpms" if role == "tpms" else role.split("_")[0]


async def sample_components(db: Database, per_kind: int, most: int, seed: int) -> list[tuple[str, str, int]]:
    """(article, kind, sets linked) of ``per_kind`` components of each kind: the ``most`` linked, then random."""
    i = component_index.c
    async with db.reader.connect() as conn:
        rows = (await conn.execute(
            sa.select(i.component_article_number, i.component_role, sa.func.count(sa.distinct(i.set_key)))
            .group_by(i.component_article_number, i.component_role)
        )).all()  # fmt: skip
    linked: Counter[str] = Counter()
    kinds: dict[str, str] = {}
    for number, role, count in rows:
        linked[number] += count  # a SKU on both axles of a staggered set counts once per role: an upper bound
        kinds[number] = kind_of(role)
    rng = random.Random(seed)
    chosen: list[tuple[str, str, int]] = []
    for kind in ("tyre", "wheel", "tpms"):
        ranked = sorted((n for n in linked if kinds[n] == kind), key=lambda n: (-linked[n], n))
        top = min(most, per_kind)
        picked = ranked[:top] + rng.sample(ranked[top:], min(per_kind - top, len(ranked[top:])))
        chosen += [(n, kind, linked[n]) for n in picked]
    return chosen


class Publisher:
    """Publishes onto the events exchange as stock-import's outbox relay does (mandatory, confirmed)."""

    def __init__(self, shop: Any) -> None:
        self.shop = shop

    async def __aenter__(self) -> Publisher:
        self.connection = await aio_pika.connect(self.shop.amqp_url)
        channel = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
        await declare_topology(channel, namespace=BROKER_NAMESPACE, retry_tiers_s=self.shop.retry_tiers_s)
        self.channel = channel
        self.exchange = await channel.get_exchange(exchange_name(BROKER_NAMESPACE))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.connection.close()

    async def publish(self, envelopes: list[Envelope]) -> None:
        """One relay batch: every message in flight together, then all confirmed."""
        await asyncio.gather(*(self.exchange.publish(aio_pika.Message(
            body=e.to_bytes(), message_id=str(e.message_id), type=e.message_type, content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT, app_id="stock-import",
            headers={"x-aggregate-id": e.aggregate_id, "x-enqueued-at": time.time()},
        ), routing_key=e.message_type, mandatory=True) for e in envelopes))  # fmt: skip

    async def bulk_ready(self) -> int:
        """Messages ready on webshop.bulk (not those the worker holds unacked)."""
        queue = await self.channel.declare_queue(queue_name("webshop", BULK, BROKER_NAMESPACE), passive=True)
        return int(queue.declaration_result.message_count or 0)


async def new_states(db: Database, numbers: list[str], rng: random.Random, batch: str) -> list[Envelope]:
    """A changed availability of each article (another quantity and price) at the next aggregate version."""
    a, v = article_availability_projection.c, APPLIED_VERSION.c
    current: dict[str, Any] = {}
    versions: dict[str, int] = {}
    async with db.reader.connect() as conn:
        for chunk in chunked(numbers, 2_000):
            rows = await conn.execute(
                sa.select(a.article_number, a.sellable_qty, a.best_price).where(a.article_number.in_(chunk))
            )
            current.update({row.article_number: row for row in rows})
            versions.update(dict((await conn.execute(sa.select(v.aggregate_id, v.version).where(
                v.stream == STOCK_STREAM, v.aggregate_id.in_(chunk)))).all()))  # fmt: skip
    envelopes = []
    for number in numbers:
        row = current.get(number)
        qty = row.sellable_qty if row else 0
        price = row.best_price if row is not None and row.best_price is not None else Decimal("50.00")
        event = StockAvailabilityChanged(
            article_number=number,
            sellable_qty=max(0, qty + rng.choice((-4, -2, 2, 4, 8))) if qty else rng.choice((4, 8)),
            best_price=(price * Decimal(rng.choice(("0.97", "1.02", "1.05")))).quantize(Decimal("0.01")),
            next_delivery_date=None, source_batch_id=batch, version=versions.get(number, 0) + 1,
        )  # fmt: skip
        envelopes.append(Envelope.wrap(event, produced_by="stock-import", correlation_id=batch))
    return envelopes


def stale_sets(numbers: list[str], before: datetime) -> sa.Select[Any]:
    """How many sets linked to these components were computed before ``before``."""
    s, i = set_projection.c, component_index.c
    linked = sa.select(i.set_key).where(i.component_article_number.in_(numbers)).distinct().subquery()
    return sa.select(sa.func.count()).select_from(linked).join(set_projection, s.set_key == linked.c.set_key).where(
        s.computed_at < before)  # fmt: skip


async def recomputed(db: Database, number: str, before: datetime, limit_s: float = 300) -> None:
    """Until every set linked to ``number`` has a ``computed_at`` from ``before`` on.

    Polled cheaply first (the worker's inbox holds a recompute request received since ``before``: it
    commits with the refresh), then the sets themselves are counted (a join over all of them, too
    heavy to repeat every few milliseconds for a sensor in 100k sets).
    """
    n = INBOX.c
    handled = sa.select(sa.func.count()).where(n.consumer == CONSUMER, n.message_type == RECOMPUTE,
                                               n.received_at >= before)  # fmt: skip
    started = time.perf_counter()
    while True:
        async with db.reader.connect() as conn:
            if await conn.scalar(handled) and not await conn.scalar(stale_sets([number], before)):
                return
        if time.perf_counter() - started > limit_s:
            raise RuntimeError(f"{number}: its sets were not all recomputed within {limit_s:g} s")
        await asyncio.sleep(0.005)


async def changed(publisher: Publisher, change: Envelope, db: Database) -> float:
    """Publish one availability change, wait until its sets are recomputed: the seconds it took."""
    await asyncio.sleep(0.002)
    before = utc_now()  # cut to ms; every earlier refresh is older (the previous change was waited for)
    await asyncio.sleep(0.002)
    sent = time.perf_counter()
    await publisher.publish([change])
    await recomputed(db, change.aggregate_id, before)
    return time.perf_counter() - sent


async def one_change(shop: Any, db: Database, components: list[tuple[str, str, int]], seed: int) -> None:
    """Each component's availability changed alone; publish → every linked set recomputed (polled)."""
    rng = random.Random(seed)
    latencies: dict[str, list[float]] = {"tyre": [], "wheel": [], "tpms": []}
    touched: list[int] = []
    async with Publisher(shop) as publisher:
        # not measured: the worker's first message (connections, first statements)
        (warm,) = await new_states(db, [components[0][0]], rng, f"bench-sets-warm-{seed}")
        await changed(publisher, warm, db)
        await asyncio.sleep(0.3)
        for index, (number, kind, _) in enumerate(components):
            (change,) = await new_states(db, [number], rng, f"bench-sets-one-{seed}-{index}")
            async with db.reader.connect() as conn:
                linked = int(await conn.scalar(stale_sets([number], datetime.max)) or 0)
            latencies[kind].append(await changed(publisher, change, db))
            touched.append(linked)
            print(f"  {kind} {number}: {linked:,} sets in {latencies[kind][-1] * 1000:,.0f} ms", flush=True)
            await asyncio.sleep(0.3)
    every = [latency for samples in latencies.values() for latency in samples]
    print(f"one component change → every linked set recomputed (publish → computed_at newer, {len(every)} changes): "
          f"{percentiles(every)}, max {max(every) * 1000:,.0f} ms (target p95 ≤ 2 s)")  # fmt: skip
    for kind, samples in latencies.items():
        print(f"  {KIND_NAMES[kind]}: {percentiles(samples)}")
    print(f"  sets touched per change: p50 {p(touched, 0.5):,}, max {max(touched):,}")


async def burst(shop: Any, db: Database, share: float, seed: int) -> None:
    """``share`` of the articles get a new availability at once; until every linked set is recomputed."""
    rng = random.Random(seed + 1)
    a = article_availability_projection.c
    async with db.reader.connect() as conn:
        numbers = sorted(await conn.scalars(sa.select(a.article_number)))
        chosen = sorted(rng.sample(numbers, round(len(numbers) * share)))
        linked_keys: set[str] = set()
        components: set[str] = set()
        i = component_index.c
        for chunk in chunked(chosen, 1_000):
            for number, key in await conn.execute(
                sa.select(i.component_article_number, i.set_key).where(i.component_article_number.in_(chunk))
            ):
                components.add(number)
                linked_keys.add(key)
        last_outbox = int(await conn.scalar(sa.select(sa.func.coalesce(sa.func.max(OUTBOX.c.id), 0))) or 0)
    events = await new_states(db, chosen, rng, f"bench-sets-burst-{seed}")
    o, n = OUTBOX.c, INBOX.c
    async with Publisher(shop) as publisher:
        before = utc_now()
        await asyncio.sleep(0.002)
        sent = time.perf_counter()
        for batch in chunked(events, 500):
            await publisher.publish(batch)
        published = time.perf_counter() - sent
        applied_at = drained_at = None
        while True:
            async with db.reader.connect() as conn:
                stock_applied = int(await conn.scalar(sa.select(sa.func.count()).where(
                    n.consumer == CONSUMER, n.message_type == STOCK_EVENT, n.received_at >= before)) or 0)  # fmt: skip
                pending = sa.func.sum(sa.cast(o.status == OUTBOX_PENDING, sa.Integer))
                requests = (await conn.execute(sa.select(sa.func.count(), pending).where(
                    o.id > last_outbox, o.message_type == RECOMPUTE))).one()  # fmt: skip
                handled = int(await conn.scalar(sa.select(sa.func.count()).where(
                    n.consumer == CONSUMER, n.message_type == RECOMPUTE, n.received_at >= before)) or 0)  # fmt: skip
            if stock_applied >= len(events) and applied_at is None:
                applied_at = time.perf_counter() - sent
            settled = applied_at is not None and not requests[1] and handled >= requests[0]
            if settled and not await publisher.bulk_ready():
                drained_at = time.perf_counter() - sent
                break
            if time.perf_counter() - sent > 900:
                raise RuntimeError(f"burst not drained after 15 min: {stock_applied:,}/{len(events):,} stock events, "
                                   f"{handled:,}/{requests[0]:,} recompute requests handled")  # fmt: skip
            await asyncio.sleep(0.25)
    s = set_projection.c
    stale, newest = 0, None
    async with db.reader.connect() as conn:
        older = sa.func.sum(sa.cast(s.computed_at < before, sa.Integer))
        for keys in chunked(sorted(linked_keys), 2_000):
            row = (await conn.execute(sa.select(older, sa.func.max(s.computed_at)).where(s.set_key.in_(keys)))).one()
            stale += int(row[0] or 0)
            newest = max([t for t in (newest, row[1]) if t is not None], default=None)
    fresh = (newest - before).total_seconds() if newest else float("nan")
    print(f"stock burst: {len(events):,} articles ({share:.0%}; {len(components):,} of them set components) "
          f"published in batches of 500 in {published:.1f} s; {requests[0]:,} recompute requests")  # fmt: skip
    print(f"  every stock event applied after {applied_at:.1f} s; drained (requests handled and committed, "
          f"webshop.bulk empty) after {drained_at:.1f} s; the newest computed_at of a linked set (stamped when its "
          f"refresh statement runs, before the commit) {fresh:.1f} s after the first publish")  # fmt: skip
    print(f"  sets touched {len(linked_keys):,} ({len(linked_keys) / drained_at:,.0f} sets/s over the drain); linked "
          f"sets left older than the burst: {stale:,} (must be 0)")  # fmt: skip


def list_params(rng: random.Random) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": 24}
    if rng.random() < 0.5:
        params["season"] = rng.choice(SEASONS)
    if rng.random() < 0.4:
        params["mounting_type"] = rng.choice(list(MOUNTING_FEES))
    if rng.random() < 0.5:
        params["in_stock"] = "true"
    if rng.random() < 0.6:
        params["sort"] = rng.choice(list(SORTS))
    return params


async def request_mix(db: Database, count: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """70% set lists of random variants with sets (random filters and sort), 30% set details."""
    rng = random.Random(seed)
    s = set_projection.c
    async with db.reader.connect() as conn:
        variants = sorted(await conn.scalars(sa.select(s.vehicle_variant_id).distinct()))
        picked = rng.sample(variants, min(2_000, len(variants)))
        keys = sorted(await conn.scalars(sa.select(s.set_key).where(s.vehicle_variant_id.in_(picked))))
    mix: list[tuple[str, dict[str, Any]]] = []
    for _ in range(count):
        if rng.random() < 0.7:
            mix.append((f"/api/v1/vehicles/{rng.choice(picked)}/wheel-sets", list_params(rng)))
        else:
            mix.append((f"/api/v1/wheel-sets/{rng.choice(keys)}", {}))
    return mix


async def second_pages(mix: list[tuple[str, dict[str, Any]]], share: float, seed: int) -> int:
    """Turn ``share`` of the lists into their second page (the cursor from their first page; not timed)."""
    rng = random.Random(seed + 3)
    turned = 0
    async with httpx.AsyncClient(base_url=API, timeout=30) as client:
        for index, (path, params) in enumerate(mix):
            if path.endswith("/wheel-sets") and rng.random() < share:
                body = (await client.get(path, params=params)).json()
                if body.get("next_cursor"):
                    mix[index] = (path, {**params, "cursor": body["next_cursor"]})
                    turned += 1
    return turned


def listing_of(path: str, params: dict[str, Any]) -> tuple[SetListing, tuple[Any, str] | None, int] | None:
    """The list request as the API reads it (listing, keyset position, limit); None for a detail."""
    parts = path.strip("/").split("/")
    if parts[-1] != "wheel-sets":
        return None
    seasons = (params["season"],) if "season" in params else ()
    sort = params.get("sort", "price")
    listing = SetListing(int(parts[3]), seasons, params.get("mounting_type"), None, "in_stock" in params, None, None,
                         sort)  # fmt: skip
    after = None
    if "cursor" in params:
        cursor = params["cursor"]
        value, key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["k"]
        after = ((Decimal if SORTS[sort][0] == "set_price" else int)(value), key)
    return listing, after, params["limit"]


async def raw_driver(shop: Any, mix: list[tuple[str, dict[str, Any]]]) -> tuple[list[float], list[float]]:
    """The APIs' statements (``webshop.wheel_sets.queries``) through asyncmy on one connection, one request
    after the other (a list as its SQL text and parameters, a detail as literal SQL): (latencies without
    building or compiling the statements, the time that took)."""
    url = sa.make_url(shop.db_url)
    conn = await asyncmy.connect(host=url.host, port=url.port or 3306, user=url.username, password=url.password or "",
                                 db=url.database)  # fmt: skip
    latencies, compiling = [], []
    try:
        async with conn.cursor() as cursor:
            for path, params in mix:
                started = time.perf_counter()
                if (listed := listing_of(path, params)) is not None:
                    listing, after, limit = listed
                    statements = [list_query(listing, after, limit + 1)]  # compiled once per shape, as the API runs it
                else:
                    key = path.rsplit("/", 1)[1]
                    literal = {"literal_binds": True}
                    statements = [(str(s.compile(dialect=mysql.dialect(), compile_kwargs=literal)), None)
                                  for s in (detail_query(key), components_query(key))]  # fmt: skip
                compiled = time.perf_counter()
                for text, values in statements:
                    await cursor.execute(text, values)
                    await cursor.fetchall()
                latencies.append(time.perf_counter() - compiled)
                compiling.append(compiled - started)
    finally:
        conn.close()
    return latencies, compiling


def shown(item: dict[str, Any]) -> tuple[Any, ...]:
    c = item["components"]
    return (item["set_key"], item["season"], item["mounting_type"], item["is_staggered"], item["rim_diameter"],
            item["match_score"], c["wheel_front"], c["wheel_rear"], c["tyre_front"], c["tyre_rear"], c["tpms"],
            item["flags"]["tpms_missing"], item["sellable_quantity"], Decimal(str(item["set_price"])))  # fmt: skip


def expected(priced: Any) -> tuple[Any, ...]:
    s = priced.wheel_set
    return (s.set_key, s.season, s.mounting_type, s.is_staggered, s.rim_diameter, s.match_score,
            s.wheel_front_article_number, s.wheel_rear_article_number, s.tyre_front_article_number,
            s.tyre_rear_article_number, s.tpms_article_number, s.tpms_missing, priced.sellable_quantity,
            Decimal(priced.set_price))  # fmt: skip


async def reference_path(
    db: Database, requests: list[tuple[str, dict[str, Any]]], answers: list[dict[str, Any]]
) -> tuple[list[float], list[str]]:
    """Each list composed at request time (``reference_sets`` + ``reference_page``), timed; and the dual-read:
    the API's page (``answers``) against it, row by row (the differences, described)."""
    latencies, differences = [], []
    listings = [listing_of(path, params) for path, params in requests]
    for listing, after, limit in filter(None, listings):  # warm, as the API's lists were (see ``apis``)
        async with db.reader.connect() as conn:
            reference_page(await reference_sets(conn, listing.vehicle_variant_id), listing, after, limit)
    for (path, params), answer, listed in zip(requests, answers, listings, strict=True):
        assert listed is not None
        listing, after, limit = listed
        started = time.perf_counter()
        async with db.reader.connect() as conn:
            page = reference_page(await reference_sets(conn, listing.vehicle_variant_id), listing, after, limit)
        latencies.append(time.perf_counter() - started)
        got, want = [shown(item) for item in answer["items"]], [expected(priced) for priced in page]
        if got != want:
            pairs = enumerate(zip(got, want, strict=False))
            first = next((i for i, (g, w) in pairs if g != w), min(len(got), len(want)))
            differences.append(f"{path} {params}: API {len(got)} sets, reference {len(want)}; first difference at "
                               f"row {first}: API {got[first] if first < len(got) else None} vs reference "
                               f"{want[first] if first < len(want) else None}")  # fmt: skip
    return latencies, differences


async def settle_writes(db: Database, limit_s: float = 180) -> None:
    """Wait (at most ``limit_s``) until InnoDB has purged the old row versions of the build and the burst
    and its page cleaner has done with their dirty pages (fewer than 0.5% of the pool flushed in the last
    10 s): the reads are then measured in steady state, both paths alike, not beside that background
    work (it cost the set list about 1 ms at the median here)."""
    status = sa.text("SELECT variable_name, variable_value FROM information_schema.global_status WHERE "
                     "variable_name IN ('INNODB_BUFFER_POOL_PAGES_DIRTY', 'INNODB_BUFFER_POOL_PAGES_TOTAL', "
                     "'INNODB_HISTORY_LIST_LENGTH')")  # fmt: skip
    started = time.perf_counter()
    dirty_seen: list[int] = []
    while True:
        async with db.reader.connect() as conn:
            values = {name.lower(): int(value) for name, value in await conn.execute(status)}
        dirty, total = values.get("innodb_buffer_pool_pages_dirty", 0), values.get("innodb_buffer_pool_pages_total", 1)
        history = values.get("innodb_history_list_length", 0)
        dirty_seen.append(dirty)
        waited = time.perf_counter() - started
        flushing = len(dirty_seen) < 3 or dirty_seen[-3] - dirty > total // 200
        if (history <= 1_000 and not flushing) or waited > limit_s:
            state = "settled" if waited <= limit_s else "still flushing at the limit"
            print(f"settle: {state} after {waited:.0f} s: {dirty:,} dirty pages of {total:,}, {history:,} undo logs "
                  f"to purge")  # fmt: skip
            return
        await asyncio.sleep(5)


async def apis(shop: Any, db: Database, rate: float, seconds: float, seed: int, references: int) -> None:
    mix = await request_mix(db, int(rate * seconds) + int(rate * 3), seed)
    await second_pages(mix, 0.15, seed)
    warm, mix = mix[: int(rate * 3)], mix[int(rate * 3) :]
    await open_loop(warm, rate, API)  # warm up: pools, buffer pool
    latencies, lags, errors = await open_loop(mix, rate, API)
    lists = sum(1 for path, _ in mix if path.endswith("/wheel-sets"))
    turned = sum(1 for _, params in mix if "cursor" in params)
    print(f"set APIs, open loop at {rate:g} req/s for {seconds:g} s ({lists:,} lists, {turned} of them second pages; "
          f"{len(mix) - lists:,} details): {percentiles(latencies)}   errors {errors}   "
          f"(target p95 ≤ 25 ms, SLI 300 ms)")  # fmt: skip
    print(f"  generator lag (start after intended send): p99 {p(lags, 0.99) * 1000:.2f} ms")
    rng = random.Random(seed + 4)
    async with db.reader.connect() as conn:
        variants = sorted(await conn.scalars(sa.select(set_projection.c.vehicle_variant_id).distinct()))
    sample = [(f"/api/v1/vehicles/{v}/wheel-sets", list_params(rng)) for v in rng.sample(variants, references)]
    # Both paths are timed on a second pass over the same lists, their rows in the buffer pool: a first
    # read of a variant's sets (outside the open loop's variants) costs about 0.8 ms more here.
    cold, _ = await closed_loop(sample, API)
    print(f"set lists, a first pass over variants the open loop did not read (not compared): {percentiles(cold)}")
    closed, answers = await closed_loop(sample, API)
    print(f"set lists one after the other (closed loop, first pages, like the reference below): {percentiles(closed)}")
    details = [(path, params) for path, params in mix if not path.endswith("/wheel-sets")][:references]
    detail_closed, _ = await closed_loop(details, API)
    print(f"set details one after the other (closed loop): {percentiles(detail_closed)}")
    through_httpx, _ = await closed_loop(sample, API, client="httpx")
    print(f"  the lists through httpx (its client CPU included, as in earlier runs): {percentiles(through_httpx)}")
    raw, compiling = await raw_driver(shop, mix[:2_000])

    def lists_and_details(timings: list[float]) -> tuple[list[float], list[float]]:
        paired = list(zip(timings, (path.endswith("/wheel-sets") for path, _ in mix), strict=False))
        return [t for t, is_list in paired if is_list], [t for t, is_list in paired if not is_list]

    (raw_lists, raw_details), (lists_built, details_built) = lists_and_details(raw), lists_and_details(compiling)
    print(f"raw driver, the same SQL (list: one statement; detail: set + components), closed loop: lists "
          f"{percentiles(raw_lists)}; details {percentiles(raw_details)}; building the SQL (not included) p50: "
          f"list {p(lists_built, 0.5) * 1000:.2f} ms, detail (compiled each time) "
          f"{p(details_built, 0.5) * 1000:.2f} ms")  # fmt: skip
    reference, differences = await reference_path(db, sample, answers)
    print(f"reference path (reference_sets + reference_page per list), closed loop: {percentiles(reference)}")
    print(f"reference / API, same lists, closed loop: p50 {p(reference, 0.5) / p(closed, 0.5):.0f}x, "
          f"p95 {p(reference, 0.95) / p(closed, 0.95):.0f}x (target ≥ 20x)")  # fmt: skip
    print(f"dual-read: {len(sample)} variants' first pages from the API compared with reference_page: "
          f"{len(sample) - len(differences)} equal, {len(differences)} differ (must be 0)")  # fmt: skip
    for difference in differences:
        print(f"  differs: {difference}")


async def main(args: argparse.Namespace) -> None:
    os.sched_setaffinity(0, {0})  # the generator on core 0; the worker, then the API on core 1
    if args.world:
        await build_world(args.namespace, args.world, args.seed)
    shop = island_settings("webshop", args.namespace, broker_namespace=BROKER_NAMESPACE,
                           redis_key_prefix=BROKER_NAMESPACE, log_level="WARNING")  # fmt: skip
    pool_before = await buffer_pool(shop, int(args.buffer_pool_gib * 2**30) if args.buffer_pool_gib else None)
    found = await prepare(shop)
    db = Database.from_settings(shop)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        if args.apis_only:
            async with db.reader.connect() as conn:
                if not await conn.scalar(sa.select(sa.func.count()).select_from(set_projection)):
                    raise SystemExit("--apis-only measures the sets a --keep-head run left; there are none")
        else:
            await full_build(shop, args.page_size)
            await page_profile(db, args.page_size, args.seed)
            if args.build_only:
                return
            components = await sample_components(db, args.changes // 3, 2, args.seed)
            processes = [start("webshop worker", shop, 1)]
            await wait_ready(PROCESSES["webshop worker"][1])
            await one_change(shop, db, components, args.seed)
            await burst(shop, db, args.burst, args.seed)
            stop(processes)
            await settle_writes(db)
        processes = [start("webshop", shop, 1)]
        await wait_ready(PROCESSES["webshop"][1])
        await apis(shop, db, args.rate, args.seconds, args.seed, args.references)
    finally:
        stop(processes)
        await db.dispose()
        await delete_broker_namespace(shop)
        if not (args.keep_head or args.apis_only):  # sets it did not build stay
            await restore(shop, found)
        await buffer_pool(shop, pool_before)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=90)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--page-size", type=int, default=250, help="variants per rebuild page")
    parser.add_argument("--changes", type=int, default=30, help="single component changes (a third of each kind)")
    parser.add_argument("--burst", type=float, default=0.05, help="share of the articles in the stock burst")
    parser.add_argument("--references", type=int, default=40, help="lists through the reference path (dual-read)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--namespace", default=NAMESPACE, help="schemas to use (bfit_: the fitment benchmark's)")
    parser.add_argument("--world", choices=["tiny", "small"], help="first build a world of this scale in --namespace")
    parser.add_argument("--buffer-pool-gib", type=float, help="InnoDB buffer pool for the run (restored after)")
    parser.add_argument("--build-only", action="store_true", help="the full build (and its page profile) only")
    parser.add_argument("--keep-head", action="store_true", help="leave the schema at head (and the sets) after")
    parser.add_argument("--apis-only", action="store_true", help="the set APIs only, on the sets --keep-head left")
    asyncio.run(main(parser.parse_args()))
