"""Export runs against the real MariaDB, RabbitMQ and Redis, platform-export's API and worker and the
platform simulator: full runs by filter, deltas with exactly the changed articles, files and pushed
pages in each format, the schedule, and a worker killed mid-run that resumes without duplicates or gaps.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from contracts import ArticleUpserted, StockAvailabilityChanged
from foundation.app import create_app, default_resources
from foundation.bulk import utc_now
from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk.broker import BrokerResource
from integration_sdk.outbox import Outbox
from integration_sdk.partners.simulators.faults import Fault
from integration_sdk.partners.simulators.platforms import PlatformsState, create_platforms_simulator
from integration_sdk.partners.simulators.server import SimulatorServer, free_port
from integration_sdk.runtime import MessagingSpec, messaging_hook
from integration_sdk.testing import (
    delete_broker_namespace,
    eventually,
    live_settings,
    serve,
    truncate_tables,
    wait_until_ready,
)
from platform_export.app import create_app as export_app
from platform_export.exports.schedule import schedule_due_runs
from platform_export.platforms.service import load_platform_configs
from platform_export.tables import export_article, export_run
from platform_export.worker import create_worker_app as export_worker

TYRES = {f"T{n}": ("Nokian" if n % 2 else "Michelin") for n in range(1, 7)}
WHEELS = ("W1", "W2", "W3")


@dataclass
class Live:
    api: httpx.AsyncClient
    sim: SimulatorServer
    platforms: PlatformsState
    settings: dict[str, ServiceSettings]
    db: Database

    async def runs(self, **where: str) -> list[Any]:
        async with self.db.reader.connect() as conn:
            query = sa.select(export_run).where(*(export_run.c[k] == v for k, v in where.items()))
            return list((await conn.execute(query)).all())


def relay_only(settings: ServiceSettings) -> FastAPI:
    """A worker that only relays its island's outbox (the producer of the events under test)."""
    resources = [*default_resources(settings), BrokerResource(settings)]
    return create_app(settings, title="relay", resources=resources, hooks=[messaging_hook(MessagingSpec())])


def platform_configs(sim_url: str) -> list[dict[str, Any]]:
    def config(platform_id: str, **fields: Any) -> dict[str, Any]:
        return {"platform_id": platform_id, "name": platform_id, "format": "csv", "markup_pct": "10.00",
                "min_stock": 0, "delivery_channel": "file", "delta_interval_min": 15, **fields}  # fmt: skip

    return [
        config("tyres-csv", type_filter=["tyre"], min_stock=2),
        config("wheels-json", type_filter=["wheel"], format="json"),
        config("nokian-xml", brand_filter=["Nokian"], format="xml", delivery_channel="http",
               endpoint_url=f"{sim_url}/platforms/nokian-xml/feed"),
        config("all-http", delivery_channel="http", endpoint_url=f"{sim_url}/platforms/all-http/feed"),
        config("inactive", active=False),
    ]  # fmt: skip


@pytest.fixture
async def live(migrated_islands: dict[str, ServiceSettings], tmp_path: Path) -> AsyncIterator[Live]:
    state = PlatformsState(keep_feed_items=True)
    sim = SimulatorServer(create_platforms_simulator(state=state))
    sim.start()
    settings = live_settings(migrated_islands, **{"platform-export": {
        "export_dir": tmp_path / "exports", "export_page_size": 2, "export_schedule_enabled": False,
        "order_import_enabled": False}})  # fmt: skip
    for island in ("platform-export", "erp-middleware", "stock-import"):
        await truncate_tables(settings[island])
    db = Database.from_settings(settings["platform-export"])
    async with db.writer.begin() as conn:
        await conn.execute(sa.text("INSERT INTO export_change_counter (id, seq) VALUES (1, 0)"))
    (tmp_path / "platforms.json").write_text(json.dumps(platform_configs(sim.url)))
    assert (await load_platform_configs(db, tmp_path / "platforms.json")).errors == []
    async with AsyncExitStack() as stack:
        api = await stack.enter_async_context(serve(export_app(settings["platform-export"])))  # type: ignore[arg-type]
        apps = [export_worker(settings["platform-export"]), relay_only(settings["erp-middleware"]),  # type: ignore[arg-type]
                relay_only(settings["stock-import"])]  # fmt: skip
        for app in apps:
            client = await stack.enter_async_context(serve(app))
            assert (await wait_until_ready(client, 20)).status_code == 200
        yield Live(api, sim, state, settings, db)
    sim.stop()
    await db.dispose()
    await delete_broker_namespace(settings["platform-export"])


def tyre(number: str, brand: str, version: int = 1) -> ArticleUpserted:
    return ArticleUpserted(article_number=number, article_type="tyre", brand=brand, model="M", description=number,
                           list_price=Decimal("100.00"), version=version, width=205, aspect=55,
                           rim_diameter=16)  # fmt: skip


def wheel(number: str) -> ArticleUpserted:
    return ArticleUpserted(article_number=number, article_type="wheel", brand="BBS", model="CH", description=number,
                           list_price=Decimal("300.00"), version=1, pcd=Decimal("112.0"),
                           wheel_diameter=18)  # fmt: skip


def stock(number: str, qty: int, price: str, version: int) -> StockAvailabilityChanged:
    return StockAvailabilityChanged(article_number=number, sellable_qty=qty, best_price=Decimal(price),
                                    source_batch_id="b1", version=version)  # fmt: skip


async def emit(settings: ServiceSettings, events: list[Any]) -> None:
    db = Database.from_settings(settings)
    try:
        async with db.sessions.begin() as session:
            await Outbox(settings).add_many(session, events)
    finally:
        await db.dispose()


async def replica_has(live: Live, condition: Any) -> bool:
    async with live.db.reader.connect() as conn:
        return bool(await conn.scalar(sa.select(sa.func.count()).where(condition)))


def items_of(live: Live, run: Any) -> dict[str, dict[str, str]]:
    """The items a run delivered: parsed from its file, or as the platform simulator received them."""
    if run.file_path and run.file_path.startswith("http"):
        return {sku: {} for sku in live.platforms.platforms[run.platform_id].feed_items.get(run.run_id, [])}
    text = Path(run.file_path).read_text()
    if run.file_path.endswith(".csv"):
        return {row["sku"]: row for row in csv.DictReader(io.StringIO(text), delimiter=";")}
    if run.file_path.endswith(".json"):
        return {item["sku"]: {k: str(v) for k, v in item.items()} for item in json.loads(text)["items"]}
    return {item.findtext("sku") or "": {child.tag: child.text or "" for child in item}
            for item in ET.fromstring(text).iter("item")}  # fmt: skip


async def finished_runs(live: Live, kind: str, expected: int) -> list[Any] | None:
    runs = await live.runs(kind=kind, status="succeeded")
    return runs if len(runs) == expected else None


async def start_deltas(live: Live, platforms: list[str]) -> None:
    for platform_id in platforms:
        response = await live.api.post(f"/api/v1/platforms/{platform_id}/exports", params={"kind": "delta"})
        assert response.status_code == 202, response.text


async def test_full_then_deltas_carry_exactly_the_changed_articles_of_each_platforms_filters(live: Live) -> None:
    erp, stock_import = live.settings["erp-middleware"], live.settings["stock-import"]
    await emit(erp, [tyre(n, brand) for n, brand in TYRES.items()] + [wheel(n) for n in WHEELS])
    await emit(stock_import, [stock(n, 10, "50.00", 1) for n in (*TYRES, *WHEELS)])
    await eventually(lambda: _replica_complete(live))

    export_settings = live.settings["platform-export"]
    queued = await schedule_due_runs(live.db, Outbox(export_settings), export_settings)  # type: ignore[arg-type]
    assert sorted(queued) == [(p, "full") for p in ("all-http", "nokian-xml", "tyres-csv", "wheels-json")]
    fulls = {run.platform_id: run for run in await eventually(lambda: finished_runs(live, "full", 4))}
    nothing_due = await schedule_due_runs(live.db, Outbox(export_settings), export_settings)  # type: ignore[arg-type]
    assert nothing_due == []

    everything = {*TYRES, *WHEELS}
    assert set(items_of(live, fulls["tyres-csv"])) == set(TYRES)
    assert set(items_of(live, fulls["wheels-json"])) == set(WHEELS)
    assert set(items_of(live, fulls["nokian-xml"])) == {n for n, b in TYRES.items() if b == "Nokian"}
    assert sorted(items_of(live, fulls["all-http"])) == sorted(everything)  # each once
    assert items_of(live, fulls["tyres-csv"])["T1"]["price"] == "55.00"  # best price 50.00 + 10 %
    assert fulls["tyres-csv"].items == 6
    assert fulls["all-http"].pages == 5  # 9 items, 2 per page

    await emit(stock_import, [stock("T1", 1, "50.00", 2), stock("W2", 10, "60.00", 2)])
    await eventually(lambda: replica_has(live, (export_article.c.article_number == "W2")
                                         & (export_article.c.stock_version == 2)))  # fmt: skip
    await eventually(lambda: replica_has(live, (export_article.c.article_number == "T1")
                                         & (export_article.c.stock_version == 2)))  # fmt: skip
    await start_deltas(live, ["tyres-csv", "wheels-json", "nokian-xml", "all-http"])
    deltas = {run.platform_id: run for run in await eventually(lambda: finished_runs(live, "delta", 4))}

    assert items_of(live, deltas["tyres-csv"]) == {"T1": {**items_of(live, deltas["tyres-csv"])["T1"], "quantity": "0"}}
    assert set(items_of(live, deltas["wheels-json"])) == {"W2"}
    assert items_of(live, deltas["wheels-json"])["W2"]["price"] == "66.00"
    assert set(items_of(live, deltas["nokian-xml"])) == {"T1"}  # T1 is a Nokian
    assert sorted(items_of(live, deltas["all-http"])) == ["T1", "W2"]

    await start_deltas(live, ["tyres-csv", "all-http"])
    empty = await eventually(lambda: finished_runs(live, "delta", 6))
    assert all(run.items == 0 for run in empty if run.run_id not in {r.run_id for r in deltas.values()})


async def _replica_complete(live: Live) -> bool:
    async with live.db.reader.connect() as conn:
        count = await conn.scalar(sa.select(sa.func.count()).where(export_article.c.catalog_version > 0,
                                                                   export_article.c.stock_version > 0))  # fmt: skip
    return count == len(TYRES) + len(WHEELS)


# --- a worker killed during a run ----------------------------------------------------------------------


def _environment(settings: ServiceSettings, **extra: Any) -> dict[str, str]:
    env = dict(os.environ)
    prefix = "PLATFORM_EXPORT_"
    values = {"db_url": settings.db_url, "broker_namespace": settings.broker_namespace,
              "redis_key_prefix": settings.redis_key_prefix, "retry_tiers_s": json.dumps(settings.retry_tiers_s),
              "export_schedule_enabled": "false", "order_import_enabled": "false", "log_json": "false",
              **extra}  # fmt: skip
    return env | {f"{prefix}{key.upper()}": str(value) for key, value in values.items()}


async def _seed_replica(db: Database, count: int) -> list[str]:
    numbers = [f"A{n:05d}" for n in range(count)]
    async with db.writer.begin() as conn:
        await conn.execute(export_article.insert(), [
            {"article_number": n, "article_type": "tyre", "brand": "Nokian", "description": n,
             "list_price": Decimal("10.00"), "sellable_qty": 5, "best_price": Decimal("8.00"), "catalog_version": 1,
             "stock_version": 1, "changed_at": utc_now(), "change_seq": 1} for n in numbers])  # fmt: skip
    return numbers


@pytest.mark.slow
@pytest.mark.parametrize("platform_id", ["tyres-csv", "all-http"])
async def test_a_worker_killed_during_a_run_resumes_without_duplicates_or_gaps(
    live: Live, tmp_path: Path, platform_id: str
) -> None:
    numbers = await _seed_replica(live.db, 400)
    settings = live.settings["platform-export"]
    if platform_id == "all-http":  # each page takes a while at the platform: the kill lands mid-run
        live.sim.app.state.faults.set([Fault(kind="slow", delay_s=0.05, route="POST /platforms/*/feed")])
    page_size = 1 if platform_id == "tyres-csv" else 5
    port = free_port()
    export_dir = settings.export_dir  # type: ignore[attr-defined]
    env = _environment(settings, export_page_size=page_size, export_dir=export_dir, worker_port=port)
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "platform_export.worker:create_worker_app",
        "--port",
        str(port),
    ]
    worker = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await eventually(lambda: _ready(client), timeout_s=30)
        run_id = (await live.api.post(f"/api/v1/platforms/{platform_id}/exports", params={"kind": "full"})).json()[
            "run_id"
        ]

        async def some_pages_done() -> bool:
            runs = await live.runs(run_id=run_id)
            return bool(runs) and runs[0].pages >= 10

        await eventually(some_pages_done, timeout_s=60, interval_s=0.02)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    crashed = (await live.runs(run_id=run_id))[0]
    assert crashed.status == "running"
    assert 0 < crashed.items < len(numbers)

    resumed = settings.model_copy(update={"export_page_size": page_size})
    async with serve(export_worker(resumed)) as client:  # type: ignore[arg-type]
        assert (await wait_until_ready(client, 20)).status_code == 200

        async def finished() -> Any:
            runs = await live.runs(run_id=run_id)
            return runs[0] if runs and runs[0].status == "succeeded" else None

        run = await eventually(finished, timeout_s=120)
    delivered = (list(items_of(live, run)) if platform_id == "tyres-csv"
                 else live.platforms.platforms[platform_id].feed_items[run_id])  # fmt: skip
    if platform_id == "tyres-csv":
        rows = list(csv.DictReader(io.StringIO(Path(run.file_path).read_text()), delimiter=";"))
        delivered = [row["sku"] for row in rows]
        assert not list(Path(run.file_path).parent.glob("*.part"))
    assert delivered == sorted(numbers)  # every article once, in order
    assert run.items == len(numbers)


async def _ready(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/health/ready")).status_code == 200
    except httpx.TransportError:
        return False
