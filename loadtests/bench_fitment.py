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
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncmy
import httpx
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.dialects.mysql import asyncmy as asyncmy_dialect
from sqlalchemy.exc import OperationalError

from bench_messaging import percentiles
from bench_search import wait_ready
from contracts import Envelope, WheelSetRecomputeRequested
from erp_middleware.articles.parsing import open_article_export
from erp_middleware.articles.service import article_row, article_upserted
from foundation.bulk import chunked
from foundation.db import Database, drop_schema
from foundation.island import discover_islands
from http_load import closed_loop, cost_line, open_loop, usage
from integration_sdk.consumer import BatchContext, Consumer, is_deadlock
from integration_sdk.messaging_schema import OUTBOX_PENDING
from integration_sdk.migrations import alembic_config, current_revision, upgrade
from integration_sdk.outbox import APPLIED_VERSION, OUTBOX, Outbox
from integration_sdk.partners.generator import generate, is_current
from integration_sdk.testing import delete_broker_namespace, island_settings
from integration_sdk.topology import BULK
from vehicle_data import product_specs
from vehicle_data.fitment.manual_rules import RuleInput, add_rule, delete_rule
from vehicle_data.fitment.recompute import (
    BUCKET_CHUNK,
    RecomputeReport,
    process_pending,
    recompute_articles,
    recompute_vehicles,
)
from vehicle_data.fitment.reference import reference_for_axle
from vehicle_data.fitment.rules import tyre_bucket
from vehicle_data.tables import fitment_version, product_spec, product_vehicle_mappings, vehicle_tyre_bucket
from vehicle_data.vehicles.parsing import read_variants
from vehicle_data.vehicles.service import sync_variants, variant_event
from webshop.projections import fitment as webshop_fitment
from webshop.projections import fitment_maintenance as webshop_fitment_maintenance
from webshop.projections.catalog import catalog_row
from webshop.projections.fitment_maintenance import FitmentSource
from webshop.tables import catalog_article
from webshop.tables import vehicle_tyre_fitment as webshop_tyre_fitment
from webshop.tables import vehicle_variant as webshop_variant
from webshop.vehicles.queries import items_query, tyre_candidates, wheel_candidates

NAMESPACE = "bfit_"
VEHICLE_DATA_API = "http://127.0.0.1:8804"
WEBSHOP_API = "http://127.0.0.1:8801"
ISLANDS = {island.name: island for island in discover_islands()}


def envelope(event: Any, produced_by: str = "erp-middleware") -> Envelope:
    return Envelope.wrap(event, produced_by=produced_by, correlation_id="bench")


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
        await replicate_variants(data_dir, shop)
        print(f"setup: {result.records_ok} variants synced, and into the webshop's selector; "
              f"{time.perf_counter() - started:.0f} s in all")  # fmt: skip
        async with vehicle_db.writer.begin() as conn:
            await conn.execute(sa.delete(OUTBOX))  # the setup's own announcements and requests
        async with shop_db.writer.begin() as conn:
            await conn.execute(sa.text("ANALYZE TABLE catalog_article"))
    finally:
        await vehicle_db.dispose()
        await shop_db.dispose()


async def replicate_variants(data_dir: Path, shop: Any) -> int:
    """The variants' first announcements (version 1, as the sync made them) through the webshop's
    consumer: its vehicle selector replica. Idempotent (versioned upserts)."""
    db = Database.from_settings(shop)
    consumer = Consumer(settings=shop, queue_class=BULK, handlers=webshop_fitment.HANDLERS, sessions=db.sessions,
                        outbox=Outbox(shop))  # fmt: skip
    count = 0
    try:
        records = (line.variant for line in read_variants(data_dir / "vehicles" / "variants.jsonl") if line.variant)
        for chunk in chunked(records, 500):
            events = [envelope(variant_event(record, 1), "vehicle-data") for record in chunk]
            outcomes = await consumer.apply_batch(events)
            assert not any(isinstance(outcome, Exception) for outcome in outcomes), outcomes
            count += len(chunk)
    finally:
        await db.dispose()
    return count


async def migrate(name: str, settings: Any) -> None:
    """A reused schema gets this code's newer migrations (a new index, say); one already past them (a
    later migration, of another benchmark that shares the schemas) is left as it is."""
    current = await current_revision(settings)
    known = {script.revision for script in ScriptDirectory.from_config(alembic_config(ISLANDS[name], settings))
             .walk_revisions()}  # fmt: skip
    if current is not None and current not in known:
        print(f"setup: {name}'s bench schema is at {current}, past this code's migrations: left as it is")
        return
    await upgrade(ISLANDS[name], settings)


async def reset_derived(vehicle: Any, shop: Any) -> None:
    """Back to the state after the setup: sources kept, every derived row gone and all of it pending."""
    derived = ("vehicle_axle_size", "vehicle_tyre_bucket", "product_tyre_bucket", "vehicle_wheel_bucket",
               "product_wheel_bucket", "product_vehicle_mappings", "vehicle_tyre_exclusion", "fitment_version",
               "fitment_pending", "outbox_message")  # fmt: skip
    vehicle_db, shop_db = Database.from_settings(vehicle), Database.from_settings(shop)
    try:
        async with vehicle_db.writer.begin() as conn:
            for table in derived:
                await conn.execute(sa.text(f"TRUNCATE TABLE `{table}`"))
            await conn.execute(sa.text("INSERT INTO fitment_pending SELECT 'vehicle', vehicle_variant_id, NOW(3) "
                                       "FROM vehicle_variant"))  # fmt: skip
            await conn.execute(sa.text("INSERT INTO fitment_pending SELECT 'article', article_number, NOW(3) "
                                       "FROM product_spec"))  # fmt: skip
        async with shop_db.writer.begin() as conn:
            for table in ("product_vehicle_mappings", "vehicle_tyre_fitment", "vehicle_tyre_exclusion",
                          "inbox_message", "applied_version"):  # fmt: skip
                await conn.execute(sa.text(f"TRUNCATE TABLE `{table}`"))
    finally:
        await vehicle_db.dispose()
        await shop_db.dispose()


async def full_build(vehicle: Any, chains: int = 2) -> RecomputeReport:
    """Everything pending, chunk by chunk as the worker's request chains run it.

    ``chains`` steps run at once, each in its own transaction, as the worker's drainers run the bulk
    queue's recompute requests (a catalogue load sends one per batch, so several chains are under way):
    one step's Python work overlaps another's statements. A step that deadlocks with another is run
    again, as the consumer does.
    """
    db, outbox = Database.from_settings(vehicle), Outbox(vehicle)
    total, started, steps = RecomputeReport(), time.perf_counter(), 0

    async def chain() -> None:
        nonlocal steps
        more = True
        while more:
            try:
                async with db.sessions.begin() as session:
                    report, more = await process_pending(session, outbox)
            except OperationalError as exc:
                if not is_deadlock(exc):
                    raise
                continue
            total.add(report)
            steps += 1
            if steps % 20 == 0:
                print(f"  ... {time.perf_counter() - started:.0f} s: {total.vehicles:,} variants, "
                      f"{total.mapping_rows_written:,} mapping rows", flush=True)  # fmt: skip

    try:
        await asyncio.gather(*(chain() for _ in range(chains)))
        elapsed = time.perf_counter() - started
        async with db.reader.connect() as conn:
            mappings = await conn.scalar(sa.select(sa.func.count()).select_from(product_vehicle_mappings))
            tyre_rows = await conn.scalar(sa.select(sa.func.count()).select_from(vehicle_tyre_bucket))
        rows = total.mapping_rows_written + total.tyre_rows_written
        print(f"full build: {elapsed:.1f} s for {total.vehicles:,} variants ({total.articles_folded:,} article changes "
              f"folded in): {mappings:,} mapping rows, {tyre_rows:,} tyre size rows, {total.events:,} announcements; "
              f"{rows / elapsed:,.0f} rows/s; {chains} chains at once (target ≤ 2 min)")  # fmt: skip
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
        async with vehicle_db.writer.begin() as conn:  # applied above: the relay must not send them again
            await conn.execute(sa.delete(OUTBOX).where(OUTBOX.c.id <= last_id))
        # The webshop asked for every variant's wheel sets to be composed again (about ten minutes of its
        # worker at this scale). They are the wheel-set benchmark's subject, which builds them itself;
        # here they would only load the machine under the fitment measurements, so they are not sent.
        async with shop_db.writer.begin() as conn:
            unsent = OUTBOX.c.message_type == WheelSetRecomputeRequested.message_type
            dropped = (await conn.execute(sa.delete(OUTBOX).where(unsent))).rowcount
        print(f"  (the {dropped:,} wheel-set recompute requests this made in the webshop are left out, see the code)")
    finally:
        await vehicle_db.dispose()
        await shop_db.dispose()


def p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def sample_variants(vehicle: Any, count: int, seed: int) -> list[tuple[int, str, tuple[int, int, int]]]:
    """(variant, its first axle, that axle's OE tyre size) of random variants."""
    db = Database.from_settings(vehicle)
    try:
        async with db.reader.connect() as conn:
            rows = (await conn.execute(
                sa.select(vehicle_tyre_bucket.c.vehicle_variant_id, vehicle_tyre_bucket.c.axle,
                          vehicle_tyre_bucket.c.width, vehicle_tyre_bucket.c.aspect, vehicle_tyre_bucket.c.rim_diameter)
                .where(vehicle_tyre_bucket.c.is_original_equipment.is_(True))
            )).all()  # fmt: skip
    finally:
        await db.dispose()
    first = {}
    for variant_id, axle, width, aspect, rim in sorted(rows):
        first.setdefault(variant_id, (variant_id, axle, (width, aspect, rim)))
    return random.Random(seed).sample(sorted(first.values()), count)


async def incremental(vehicle: Any, seed: int, samples: int) -> None:
    """Each kind of change recomputed as the worker does it, in its own transaction, timed."""
    db, outbox = Database.from_settings(vehicle), Outbox(vehicle)
    rng = random.Random(seed)
    try:
        targets = await sample_variants(vehicle, samples, seed)
        timings: dict[str, list[float]] = {"rule": [], "wheel": [], "variant": []}
        touched: dict[str, list[int]] = {"rule": [], "wheel": [], "variant": []}
        for variant_id, axle, (width, aspect, rim) in targets:
            rule = RuleInput(vehicle_variant_id=variant_id, axle=axle, action="exclude", reason="bench",  # type: ignore[arg-type]
                             created_by="bench", tyre_size=f"{width}/{aspect}R{rim}")  # fmt: skip
            async with db.sessions.begin() as session:
                stored = await add_rule(session, outbox, rule)
            started = time.perf_counter()
            async with db.sessions.begin() as session:
                report = await recompute_vehicles(session, outbox, [variant_id],
                                                  tyre_buckets=[tyre_bucket(width, aspect, rim, axle)])  # fmt: skip
            timings["rule"].append(time.perf_counter() - started)
            touched["rule"].append(report.tyre_rows_evaluated + report.mapping_rows_evaluated)
            async with db.sessions.begin() as session:
                await delete_rule(session, outbox, stored["rule_id"])
                await recompute_vehicles(
                    session, outbox, [variant_id], tyre_buckets=[tyre_bucket(width, aspect, rim, axle)]
                )
        async with db.reader.connect() as conn:
            wheels = list(await conn.scalars(sa.select(product_spec.c.article_number)
                                             .where(product_spec.c.product_type == "wheel")))  # fmt: skip
        for number in rng.sample(wheels, samples):
            async with db.sessions.begin() as session:
                await session.execute(product_spec.update().where(product_spec.c.article_number == number)
                                      .values(offset=product_spec.c.offset + 1))  # fmt: skip
            started = time.perf_counter()
            async with db.sessions.begin() as session:
                report = await recompute_articles(session, outbox, [number])
            timings["wheel"].append(time.perf_counter() - started)
            touched["wheel"].append(report.mapping_rows_evaluated)
        for variant_id, _, _ in targets[: max(5, samples // 3)]:
            started = time.perf_counter()
            async with db.sessions.begin() as session:
                report = await recompute_vehicles(session, outbox, [variant_id])
            timings["variant"].append(time.perf_counter() - started)
            touched["variant"].append(report.tyre_rows_evaluated + report.mapping_rows_evaluated)
        labels = {"rule": "a rule change (one variant, one tyre bucket)",
                  "wheel": "a wheel spec change (its intersection)",
                  "variant": "a variant recomputed whole (all its buckets)"}  # fmt: skip
        for kind, label in labels.items():
            print(f"incremental, {label}: {percentiles(timings[kind])}; rows evaluated p50 "
                  f"{p(touched[kind], 0.5):,.0f}, max {max(touched[kind]):,} (target one bucket ≤ 1 s)")  # fmt: skip
        async with db.reader.connect() as conn:
            column = vehicle_tyre_bucket.c.tyre_bucket
            popular = sa.select(column, sa.func.count()).group_by(column).order_by(sa.func.count().desc()).limit(1)
            bucket, members = (await conn.execute(popular)).one()
            variants = sorted(set(await conn.scalars(sa.select(vehicle_tyre_bucket.c.vehicle_variant_id)
                                                     .where(vehicle_tyre_bucket.c.tyre_bucket == bucket))))  # fmt: skip
        seconds = []
        for _ in range(2):  # the first run also fills this process's rule caches, which a worker has warm
            started = time.perf_counter()
            for chunk in chunked(variants, BUCKET_CHUNK):  # as the worker steps through a bucket
                async with db.sessions.begin() as session:
                    await recompute_vehicles(session, outbox, chunk, tyre_buckets=[bucket])
            seconds.append(time.perf_counter() - started)
        print(f"incremental, the most popular tyre bucket {bucket} recomputed whole ({members:,} memberships of "
              f"{len(variants):,} variants, steps of {BUCKET_CHUNK:,}): {seconds[0]:.2f} s, again "
              f"{seconds[1]:.2f} s")  # fmt: skip
    finally:
        await db.dispose()


PROCESSES = {
    "vehicle-data": ("vehicle_data.app:create_app", 8804, "VEHICLE_DATA_"),
    "vehicle-data worker": ("vehicle_data.worker:create_worker_app", 9804, "VEHICLE_DATA_"),
    "webshop worker": ("webshop.worker:create_worker_app", 9801, "WEBSHOP_"),
    "webshop": ("webshop.app:create_app", 8801, "WEBSHOP_"),
}


def start(name: str, settings: Any, core: int) -> subprocess.Popen[bytes]:
    factory, port, prefix = PROCESSES[name]
    env = {**os.environ, f"{prefix}DB_URL": settings.db_url, f"{prefix}BROKER_NAMESPACE": NAMESPACE,
           f"{prefix}REDIS_KEY_PREFIX": NAMESPACE, f"{prefix}LOG_LEVEL": "WARNING", f"{prefix}LOG_JSON": "false",
           f"{prefix}DB_READ_POOL_SIZE": "20"}  # fmt: skip
    command = ["taskset", "-c", str(core), sys.executable, "-m", "uvicorn", "--factory", factory, "--port",
               str(port), "--log-level", "warning", "--no-access-log", "--loop", "uvloop", "--timeout-keep-alive",
               "60"]  # fmt: skip
    return subprocess.Popen(command, env=env)


async def settle(vehicle: Any, shop: Any) -> None:
    """Wait until the webshop has applied every variant's latest fitment version (the incremental phase's
    announcements relayed and applied): the propagation phase measures one change on a quiet pipeline.

    With ``--reuse`` some announcements of the previous run may be gone with its broker namespace; once
    the outbox has sent everything and variants are still behind, the webshop's reconcile repairs them
    from vehicle-data's API (as an operator would after losing messages).
    """
    vehicle_db, shop_db, started = Database.from_settings(vehicle), Database.from_settings(shop), time.perf_counter()
    applied = sa.select(APPLIED_VERSION.c.aggregate_id, APPLIED_VERSION.c.version).where(
        APPLIED_VERSION.c.stream == webshop_fitment.STREAM
    )
    unsent = sa.select(sa.func.count()).select_from(OUTBOX).where(OUTBOX.c.status == OUTBOX_PENDING)
    quiet_since = None
    try:
        while True:
            async with vehicle_db.reader.connect() as conn:
                latest = {row.vehicle_variant_id: row for row in await conn.execute(sa.select(fitment_version))}
                pending = await conn.scalar(unsent)
            async with shop_db.reader.connect() as conn:
                seen = {int(key): version for key, version in (await conn.execute(applied)).all()}
            behind = [row for variant_id, row in latest.items() if seen.get(variant_id, 0) < row.version]
            if not behind:
                break
            quiet_since = None if pending else quiet_since or time.perf_counter()
            if quiet_since and time.perf_counter() - quiet_since > 15:
                since = min(row.changed_at for row in behind)
                async with FitmentSource(VEHICLE_DATA_API, shop.vehicle_data_token.get_secret_value()) as source:
                    report = await webshop_fitment_maintenance.reconcile(shop_db, source, since)
                print(f"settle: {len(behind)} variants behind with nothing left to send; reconcile since {since}: "
                      f"{report.counts()}")  # fmt: skip
                quiet_since = None
            if time.perf_counter() - started > 900:
                raise RuntimeError(f"the webshop is {len(behind)} variants behind after 15 min")
            await asyncio.sleep(1)
    finally:
        await vehicle_db.dispose()
        await shop_db.dispose()
    print(f"settle: every variant's latest fitment applied in the webshop after {time.perf_counter() - started:.1f} s")


async def propagation(vehicle: Any, shop: Any, seed: int, changes: int) -> None:
    """Rule changes over vehicle-data's API → visible in the webshop's replica, through the real processes."""
    targets = await sample_variants(vehicle, changes, seed + 1)
    shop_db = Database.from_settings(shop)
    latencies: list[float] = []
    token = {"Authorization": "Bearer local-operator-token"}
    try:
        async with httpx.AsyncClient(base_url=VEHICLE_DATA_API, headers=token, timeout=30) as client:
            for variant_id, axle, (width, aspect, rim) in targets:
                body = {"vehicle_variant_id": variant_id, "axle": axle, "action": "exclude", "reason": "bench",
                        "created_by": "bench", "tyre_size": f"{width}/{aspect}R{rim}"}  # fmt: skip
                response = await client.post("/api/v1/fitment-rules", json=body)
                response.raise_for_status()
                committed = time.perf_counter()
                fit = webshop_tyre_fitment.c
                gone = sa.select(sa.func.count()).where(
                    fit.vehicle_variant_id == variant_id,
                    fit.axle == axle,
                    fit.width == width,
                    fit.aspect == aspect,
                    fit.rim_diameter == rim,
                )
                while True:
                    async with shop_db.reader.connect() as conn:
                        if not await conn.scalar(gone):
                            break
                    if time.perf_counter() - committed > 30:
                        raise RuntimeError(f"variant {variant_id}: the rule did not reach the webshop in 30 s")
                    await asyncio.sleep(0.005)
                latencies.append(time.perf_counter() - committed)
                await client.delete(f"/api/v1/fitment-rules/{response.json()['rule_id']}")
                await asyncio.sleep(0.5)
    finally:
        await shop_db.dispose()
    print(f"change → visible in the webshop (rule over the API → replica row gone, real processes): "
          f"{percentiles(latencies)} (target: within seconds)")  # fmt: skip


async def request_mix(vehicle: Any, count: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """60% tyre lookups, 30% wheel lookups, 10% selector calls, over random variants."""
    rng = random.Random(seed)
    targets = await sample_variants(vehicle, 2_000, seed + 2)
    mix: list[tuple[str, dict[str, Any]]] = []
    for _ in range(count):
        variant_id, axle, _ = rng.choice(targets)
        draw = rng.random()
        if draw < 0.6:
            params: dict[str, Any] = {"axle": axle, "limit": 24}
            if rng.random() < 0.4:
                params["season"] = rng.choice(["summer", "winter", "all_season"])
            if rng.random() < 0.5:
                params["in_stock"] = "true"
            mix.append((f"/api/v1/vehicles/{variant_id}/tyres", params))
        elif draw < 0.9:
            mix.append((f"/api/v1/vehicles/{variant_id}/wheels", {"axle": axle, "limit": 24}))
        else:
            mix.append((rng.choice(["/api/v1/vehicles/makes", f"/api/v1/vehicles/{variant_id}"]), {}))
    return mix


def lookup_of(path: str, params: dict[str, Any]) -> tuple[int, str, str] | None:
    parts = path.strip("/").split("/")
    if len(parts) == 5 and parts[4] in ("tyres", "wheels"):
        return int(parts[3]), parts[4][:-1], params["axle"]
    return None


async def raw_driver(shop: Any, mix: list[tuple[str, dict[str, Any]]]) -> tuple[list[float], list[float]]:
    """The lookup's statements and page merge (``webshop.vehicles.queries``, as the API runs them) with
    literal SQL through asyncmy on one connection, one lookup after the other, then the page's rows.
    (latencies without compiling the statements, the compile times)"""
    url = sa.make_url(shop.db_url)
    conn = await asyncmy.connect(host=url.host, port=url.port or 3306, user=url.username, password=url.password or "",
                                 db=url.database)  # fmt: skip
    latencies, compiling = [], []
    dialect = asyncmy_dialect.dialect(paramstyle="format")
    try:
        async with conn.cursor() as cursor:
            spent = 0.0

            async def run(statement: Any, params: tuple[Any, ...] | None) -> list[Any]:
                nonlocal spent
                if isinstance(statement, str):  # the class reads: SQL text and parameters, as the API runs them
                    await cursor.execute(statement, params)
                else:
                    started = time.perf_counter()
                    sql = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
                    spent += time.perf_counter() - started
                    await cursor.execute(sql)
                return list(await cursor.fetchall())

            for path, params in mix:
                if (lookup := lookup_of(path, params)) is None:
                    continue
                variant_id, product_type, axle = lookup
                seasons = [params["season"]] if "season" in params else []
                spent, started = 0.0, time.perf_counter()
                if product_type == "tyre":
                    page = await tyre_candidates(run, variant_id, axle, seasons, "in_stock" in params, None, 25)
                else:
                    page = await wheel_candidates(run, variant_id, axle, False, None, 25)
                if page:
                    await run(*items_query([number for number, _, _, _ in page[:24]]))
                latencies.append(time.perf_counter() - started - spent)
                compiling.append(spent)
    finally:
        conn.close()
    return latencies, compiling


async def reference_path(
    vehicle: Any, shop: Any, requests: list[tuple[str, dict[str, Any]]]
) -> tuple[list[float], int, int]:
    """The old way: the variant's fitments from the rules over every article of the type (no buckets, no
    mapping), then availability from the catalogue, filter, sort and page in the application. Also the
    dual-read check: the API's whole answer (every page) against the reference's."""
    vehicle_db, shop_db = Database.from_settings(vehicle), Database.from_settings(shop)
    latencies, compared, mismatches = [], 0, 0
    c = catalog_article.c
    try:
        async with httpx.AsyncClient(base_url=WEBSHOP_API, timeout=60) as client:
            for path, params in requests:
                if (lookup := lookup_of(path, params)) is None:
                    continue
                variant_id, product_type, axle = lookup
                started = time.perf_counter()
                async with vehicle_db.reader.connect() as conn:
                    fits = await reference_for_axle(conn, variant_id, product_type, axle)
                async with shop_db.reader.connect() as conn:
                    rows = {row.article_number: row for row in await conn.execute(
                        sa.select(c.article_number, c.best_price, c.sellable_qty, c.season)
                        .where(c.article_number.in_(list(fits))))} if fits else {}  # fmt: skip
                ranked = sorted((-score, rows[n].best_price if rows[n].best_price is not None else 10**9, n)
                                for n, (score, _) in fits.items() if n in rows
                                and ("season" not in params or rows[n].season == params["season"])
                                and ("in_stock" not in params or rows[n].sellable_qty > 0))  # fmt: skip
                _page = ranked[:24]
                latencies.append(time.perf_counter() - started)
                answered, cursor = [], None
                while True:
                    query = {**params, "limit": 100, **({"cursor": cursor} if cursor else {})}
                    body = (await client.get(path, params=query)).json()
                    answered += [(i["article_number"], i["fitment"]["match_score"]) for i in body["items"]]
                    if (cursor := body["next_cursor"]) is None:
                        break
                compared += 1
                mismatches += answered != [(n, -s) for s, _, n in ranked]
    finally:
        await vehicle_db.dispose()
        await shop_db.dispose()
    return latencies, compared, mismatches


async def lookups(
    vehicle: Any, shop: Any, api_pid: int, rate: float, seconds: float, seed: int, references: int
) -> None:
    mix = await request_mix(vehicle, int(rate * seconds), seed)
    await open_loop(mix[: int(rate * 3)], rate, WEBSHOP_API)  # warm up: pools, buffer pool
    since = usage(api_pid)
    latencies, lags, errors = await open_loop(mix, rate, WEBSHOP_API)
    cost = cost_line(api_pid, since, len(mix), seconds)
    print(f"webshop lookups, open loop at {rate:g} req/s for {seconds:g} s (60% tyres, 30% wheels, 10% selector): "
          f"{percentiles(latencies)}   errors {errors}   (target p95 ≤ 15 ms, SLI 250 ms)")  # fmt: skip
    print(cost)
    print(f"  generator lag (start after intended send): p99 {p(lags, 0.99) * 1000:.2f} ms")
    sample = [(path, params) for path, params in mix if lookup_of(path, params)][:references]
    closed, _ = await closed_loop(sample, WEBSHOP_API)
    print(f"webshop lookups one after the other (closed loop, like the reference below): {percentiles(closed)}")
    through_httpx, _ = await closed_loop(sample, WEBSHOP_API, client="httpx")
    print(f"  the same through httpx (its client CPU included, as in earlier runs): {percentiles(through_httpx)}")
    raw, compiling = await raw_driver(shop, mix[:2000])
    print(f"raw driver, the same lookup SQL and page merge (page + its rows), closed loop: {percentiles(raw)}; "
          f"SQLAlchemy compile (not included) p50 {p(compiling, 0.5) * 1000:.2f} ms")  # fmt: skip
    reference, compared, mismatches = await reference_path(vehicle, shop, sample)
    print(
        f"reference path (rules over every article of the type at request time), closed loop: {percentiles(reference)}"
    )
    print(f"reference / API, same lookups, closed loop: p50 {p(reference, 0.5) / p(closed, 0.5):.0f}x, "
          f"p95 {p(reference, 0.95) / p(closed, 0.95):.0f}x (target ≥ 20x)")  # fmt: skip
    print(f"dual-read: {compared} lookups' whole answers compared with the reference: {mismatches} differ")


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """Terminate the service processes and wait for them (killing any that hangs)."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(60)  # a worker finishes the batch in hand first
        except subprocess.TimeoutExpired:
            process.kill()


async def main(args: argparse.Namespace) -> None:
    os.sched_setaffinity(0, {0})
    vehicle = island_settings("vehicle-data", NAMESPACE, log_level="WARNING")
    shop = island_settings("webshop", NAMESPACE, log_level="WARNING")
    data_dir = Path("var/seed") / f"{args.scale}-{args.seed}"
    if not is_current(data_dir):
        generate(args.scale, args.seed, data_dir)
    if args.reuse:
        for name, settings in (("vehicle-data", vehicle), ("webshop", shop)):
            await migrate(name, settings)
        shop_db = Database.from_settings(shop)
        async with shop_db.reader.connect() as conn:
            listed = await conn.scalar(sa.select(sa.func.count()).select_from(webshop_variant))
        await shop_db.dispose()
        if not listed:  # schemas of an earlier bench version: the selector replica was not filled
            print(f"setup: {await replicate_variants(data_dir, shop):,} variants into the webshop's selector")
    else:
        if not args.build_only:
            await setup(data_dir, vehicle, shop)
        else:
            for name, settings in (("vehicle-data", vehicle), ("webshop", shop)):
                await migrate(name, settings)
            await reset_derived(vehicle, shop)
        await full_build(vehicle)
        await replicate(vehicle, shop)
        if args.build_only:
            return
    await incremental(vehicle, args.seed, args.samples)
    processes = [start(name, vehicle if name.startswith("vehicle") else shop, 1) for name in PROCESSES]
    try:
        for _, port, _ in PROCESSES.values():
            await wait_ready(port)
        await settle(vehicle, shop)
        await propagation(vehicle, shop, args.seed, args.samples)
        for process in processes[:3]:  # only the webshop API stays for the lookups
            process.terminate()
            process.wait(60)
        await lookups(vehicle, shop, processes[3].pid, args.rate, args.seconds, args.seed, args.references)
    finally:
        stop(processes)
        await delete_broker_namespace(shop)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=150)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--samples", type=int, default=30, help="changes per kind of incremental recompute")
    parser.add_argument("--references", type=int, default=40, help="lookups through the reference path")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scale", default="full", choices=["tiny", "small", "full"], help="full for figures")
    parser.add_argument("--reuse", action="store_true", help="keep the bench schemas of a previous run")
    parser.add_argument("--build-only", action="store_true", help="reset the derived rows and time the build only")
    asyncio.run(main(parser.parse_args()))
