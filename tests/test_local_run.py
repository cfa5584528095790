"""`atraxion up` end to end: every service and worker reaches ready on the real services, serves
metrics, a supplier feed uploaded with `atraxion stock upload` shows in the storefront's search, an
order placed in the webshop and one imported from a simulated platform reach the simulated ERP once
and their tracking comes back, every active platform gets its export, `atraxion status` sees them,
and Ctrl-C stops all of them cleanly."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from foundation.island import discover_islands
from integration_sdk.testing import island_settings

ROOT = Path(__file__).resolve().parents[1]
PORT_BASE = 18000
ERP_SIM_PORT, PLATFORM_SIM_PORT = PORT_BASE + 210, PORT_BASE + 211


@pytest.fixture
def run_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for a private `up`: its own schemas, queue names, Redis keys and ports."""
    namespace = f"u{secrets.token_hex(3)}_"
    env = dict(os.environ)
    for index, island in enumerate(discover_islands(), start=1):
        settings = island_settings(island.name, namespace)
        prefix = island.env_prefix
        env |= {
            f"{prefix}DB_URL": settings.db_url,
            f"{prefix}BROKER_NAMESPACE": namespace,
            f"{prefix}REDIS_KEY_PREFIX": namespace,
            f"{prefix}HTTP_PORT": str(PORT_BASE + index),
            f"{prefix}WORKER_PORT": str(PORT_BASE + 100 + index),
        }
    env |= {
        "PARTNER_SIM_ERP_PORT": str(ERP_SIM_PORT), "PARTNER_SIM_PLATFORMS_PORT": str(PLATFORM_SIM_PORT),
        "PARTNER_SIM_ERP_SHIP_AFTER_S": "0.5", "ERP_MIDDLEWARE_ERP_URL": f"http://127.0.0.1:{ERP_SIM_PORT}",
        "ERP_MIDDLEWARE_ERP_STATUS_POLL_INTERVAL_S": "0.5", "PLATFORM_EXPORT_ORDERS_POLL_INTERVAL_S": "1",
        "PLATFORM_EXPORT_EXPORT_DIR": str(tmp_path / "exports"),
    }  # fmt: skip
    yield env
    schemas = [island_settings(i.name, namespace).db_schema for i in discover_islands()]
    drop = "; ".join(f"DROP DATABASE IF EXISTS `{schema}`" for schema in schemas)
    subprocess.run([sys.executable, "-c", _DROP_SCRIPT, drop], check=True, env=env)


_DROP_SCRIPT = """
import asyncio, sys
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
async def main():
    engine = create_async_engine("mysql+asyncmy://root:@127.0.0.1:3306/", isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        for statement in sys.argv[1].split("; "):
            await conn.execute(text(statement))
    await engine.dispose()
asyncio.run(main())
"""


def _wait_for_line(process: subprocess.Popen[str], needle: str, timeout_s: float) -> str:
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        if needle in line:
            return "".join(seen)
    raise AssertionError(f"{needle!r} not printed within {timeout_s}s; output:\n{''.join(seen)}")


@pytest.mark.slow
def test_up_brings_every_service_and_worker_to_ready(run_env: dict[str, str], tmp_path: Path) -> None:
    atraxion = [sys.executable, "-m", "integration_sdk.cli"]
    process = subprocess.Popen(
        [*atraxion, "up", "--scale", "tiny", "--log-dir", str(tmp_path / "logs"), "--ready-timeout", "120"],
        cwd=ROOT, env=run_env | {"COLUMNS": "200"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        output = _wait_for_line(process, "Ctrl-C", timeout_s=600)
        assert "Atraxion is running" in output
        islands = discover_islands()
        for index, island in enumerate(islands, start=1):
            for port in (PORT_BASE + index, PORT_BASE + 100 + index):
                ready = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=5)
                assert ready.status_code == 200, (island.name, port, ready.text)
                checks = ready.json()["checks"]
                assert {"database", "redis", "broker"} <= set(checks), checks
                assert set(checks.values()) == {"ok"}, checks
            metrics = httpx.get(f"http://127.0.0.1:{PORT_BASE + index}/metrics", timeout=5).text
            assert f'http_request_duration_seconds_count{{island="{island.name}"' in metrics
        article = _supplier_upload_reaches_the_storefront(atraxion, run_env, tmp_path)
        _orders_reach_the_erp_once_and_tracking_comes_back(atraxion, run_env, article)
        _every_active_platform_is_exported(atraxion, run_env)
        status = subprocess.run(
            [*atraxion, "status"], cwd=ROOT, env=run_env | {"COLUMNS": "200"}, capture_output=True, text=True,
            timeout=60, check=True,
        )  # fmt: skip
        for island in islands:
            row = next(line for line in status.stdout.splitlines() if island.name in line)
            assert row.count("ready") == 2, status.stdout
            assert "not ready" not in row, status.stdout
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, rest
    assert "stopped." in rest
    for index in range(1, len(discover_islands()) + 1):
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{PORT_BASE + index}/health/live", timeout=2)


def _supplier_upload_reaches_the_storefront(atraxion: list[str], env: dict[str, str], tmp_path: Path) -> str:
    """The seeded catalogue reaches the webshop; an uploaded correction then shows in product detail."""
    webshop = f"http://127.0.0.1:{PORT_BASE + _index('webshop')}"
    deadline = time.monotonic() + 120
    items: list[dict[str, object]] = []
    while not items and time.monotonic() < deadline:
        items = httpx.get(f"{webshop}/api/v1/products", params={"type": "tyre", "limit": 1}, timeout=5).json()["items"]
        time.sleep(0.5)
    assert items, "the seeded catalogue never reached the webshop"
    article = str(items[0]["article_number"])
    feed = tmp_path / "correction.csv"
    feed.write_text(f"sku,stock,net_price,eta,item_code\nE2E,777,12.34,,{article}\n")  # SUP-002: English CSV
    upload = subprocess.run(
        [*atraxion, "stock", "upload", "SUP-002", str(feed), "--kind", "delta"], cwd=ROOT,
        env=env | {"COLUMNS": "200"}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert upload.returncode == 0, upload.stdout + upload.stderr
    assert "succeeded" in upload.stdout, upload.stdout
    availability: dict[str, object] = {}
    while time.monotonic() < deadline:
        availability = httpx.get(f"{webshop}/api/v1/products/{article}", timeout=5).json()["availability"]
        if str(availability["best_price"]) == "12.34":
            break
        time.sleep(0.2)
    assert str(availability["best_price"]) == "12.34", availability
    assert int(str(availability["sellable_qty"])) >= 777, availability
    return article


def _until(check: Any, timeout_s: float = 90) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"not reached within {timeout_s}s: {check()!r}")


def _orders_reach_the_erp_once_and_tracking_comes_back(atraxion: list[str], env: dict[str, str], article: str) -> None:
    """A webshop order and a platform order: each created once by the ERP, tracking back to the source."""
    webshop = f"http://127.0.0.1:{PORT_BASE + _index('webshop')}"
    erp, platforms = f"http://127.0.0.1:{ERP_SIM_PORT}", f"http://127.0.0.1:{PLATFORM_SIM_PORT}"
    body = {"customer_id": "dealer-e2e", "lines": [{"article_number": article, "quantity": 2}]}
    placed = httpx.post(f"{webshop}/api/v1/orders", json=body, headers={"Idempotency-Key": "e2e-1"}, timeout=10)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    shipped = _until(lambda: (o := httpx.get(f"{webshop}/api/v1/orders/{order_id}", timeout=5).json())["status"]
                     == "shipped" and o)  # fmt: skip
    assert shipped["tracking_number"]
    platform_id = "p04-tyrepro"  # the tiny data set's platforms with an order API: p01, p04, p05
    added = httpx.post(f"{platforms}/_control/platforms/{platform_id}/orders",
                       json={"count": 1, "articles": [article]}, timeout=5).json()["added"]  # fmt: skip
    tracking = _until(lambda: httpx.get(f"{platforms}/_control/platforms/{platform_id}", timeout=5).json()["tracking"])
    assert list(tracking) == added
    summary = httpx.get(f"{erp}/_control/orders", timeout=5).json()
    assert summary["created"] == 2
    assert summary["duplicates"] == 0
    listed = subprocess.run([*atraxion, "erp", "orders"], cwd=ROOT, env=env | {"COLUMNS": "250"},
                            capture_output=True, text=True, timeout=60, check=True).stdout  # fmt: skip
    assert f"webshop:{order_id}" in listed, listed
    assert f"{platform_id}:{added[0]}" in listed, listed


def _every_active_platform_is_exported(atraxion: list[str], env: dict[str, str]) -> None:
    """The schedule's first round: a successful full export of every active platform, shown by the CLI."""
    api = f"http://127.0.0.1:{PORT_BASE + _index('platform-export')}"

    def all_exported() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = httpx.get(f"{api}/api/v1/platforms", timeout=5).json()["items"]
        return items if all(p["last_full_at"] for p in items if p["active"]) else None

    platforms = _until(all_exported)
    command = [*atraxion, "platforms", "runs", "--status", "succeeded"]
    runs = subprocess.run(command, cwd=ROOT, env=env | {"COLUMNS": "250"}, capture_output=True, text=True, timeout=60,
                          check=True)  # fmt: skip
    for platform in platforms:
        if platform["active"]:
            assert platform["platform_id"] in runs.stdout, runs.stdout


def _index(island_name: str) -> int:
    return next(i for i, island in enumerate(discover_islands(), start=1) if island.name == island_name)
