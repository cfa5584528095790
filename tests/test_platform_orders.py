"""Platform orders end to end against the real services and both simulators: imported page by page under
the platform's rate limit and duplicate deliveries, each handed to the ERP once, and the tracking number
pushed back to the platform once (through connection resets).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from erp_middleware.worker import create_worker_app as erp_worker
from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk.partners.simulators.erp import ErpState, create_erp_simulator
from integration_sdk.partners.simulators.faults import Fault
from integration_sdk.partners.simulators.platforms import PlatformsState, create_platforms_simulator
from integration_sdk.partners.simulators.server import SimulatorServer
from integration_sdk.testing import (
    delete_broker_namespace,
    eventually,
    live_settings,
    serve,
    truncate_tables,
    wait_until_ready,
)
from platform_export.platforms.service import load_platform_configs
from platform_export.tables import platform_order
from platform_export.worker import create_worker_app as export_worker

PLATFORM = "market-1"


@pytest.fixture
async def simulators() -> AsyncIterator[tuple[SimulatorServer, ErpState, SimulatorServer, PlatformsState]]:
    erp_state, platforms_state = ErpState(ship_after_s=0.2), PlatformsState(orders_min_interval_s=0.25)
    with SimulatorServer(create_erp_simulator(state=erp_state)) as erp, \
         SimulatorServer(create_platforms_simulator(state=platforms_state)) as platforms:  # fmt: skip
        yield erp, erp_state, platforms, platforms_state


async def _stored_orders(settings: ServiceSettings) -> list[Any]:
    db = Database.from_settings(settings)
    try:
        async with db.reader.connect() as conn:
            return list(await conn.execute(sa.select(platform_order).order_by(platform_order.c.platform_order_id)))
    finally:
        await db.dispose()


async def test_platform_orders_reach_the_erp_once_and_tracking_goes_back_once(
    migrated_islands: dict[str, ServiceSettings], tmp_path: Path, simulators: Any
) -> None:
    erp, erp_state, platforms, platforms_state = simulators
    settings = live_settings(migrated_islands, **{
        "platform-export": {"export_schedule_enabled": False, "orders_poll_interval_s": 0.3, "orders_page_size": 3,
                            "orders_min_interval_s": 0.05, "connector_wait_initial_s": 0.05},
        "erp-middleware": {"erp_url": erp.url, "erp_status_poll_interval_s": 0.2},
    })  # fmt: skip
    for island in ("platform-export", "erp-middleware"):
        await truncate_tables(settings[island])
    db = Database.from_settings(settings["platform-export"])
    config = {"platform_id": PLATFORM, "name": "Market", "format": "csv", "markup_pct": "5.00", "min_stock": 0,
              "delivery_channel": "file", "delta_interval_min": 15,
              "orders_url": f"{platforms.url}/platforms/{PLATFORM}/orders"}  # fmt: skip
    (tmp_path / "platforms.json").write_text(json.dumps([config]))
    await load_platform_configs(db, tmp_path / "platforms.json")
    await db.dispose()
    platforms.app.state.faults.set([
        Fault(kind="duplicate", route=f"GET /platforms/{PLATFORM}/orders", probability=0.5),
        Fault(kind="reset", route=f"POST /platforms/{PLATFORM}/orders/*/tracking", times=2),
    ], seed=5)  # fmt: skip
    bad = {"order_id": "BROKEN-1", "lines": [{"sku": "T1", "quantity": 0, "unit_price": "10.00"}]}
    async with httpx.AsyncClient(base_url=platforms.url) as control:
        await control.post(f"/_control/platforms/{PLATFORM}/orders", json={"count": 10, "articles": ["T1", "T2", "W1"]})
        await control.post(f"/_control/platforms/{PLATFORM}/orders", json={"orders": [bad]})

    async with AsyncExitStack() as stack:
        for app in (export_worker(settings["platform-export"]), erp_worker(settings["erp-middleware"])):  # type: ignore[arg-type]
            client = await stack.enter_async_context(serve(app))
            assert (await wait_until_ready(client, 20)).status_code == 200

        def pushed() -> Any:
            async def check() -> Any:
                tracking = platforms_state.platform(PLATFORM).tracking
                return tracking if len(tracking) == 10 else None

            return check

        tracking = await eventually(pushed(), timeout_s=60)
        stored = await eventually(lambda: _all_tracked(settings["platform-export"]), timeout_s=30)

    platform = platforms_state.platform(PLATFORM)
    ids = [order["order_id"] for order in platform.orders if order["order_id"] != "BROKEN-1"]
    assert sorted(tracking) == sorted(ids)
    assert all(entry["applied"] == 1 for entry in tracking.values()), tracking  # once each, through the resets
    summary = erp_state.summary()
    assert summary["created"] == 10
    assert summary["duplicates"] == 0
    assert sorted(o["source_order_id"] for o in summary["orders"].values()) == sorted(f"{PLATFORM}:{i}" for i in ids)
    for order_id, entry in tracking.items():
        assert entry["tracking_number"] == erp_state.orders[f"{PLATFORM}:{order_id}"].tracking_number
    broken = next(row for row in stored if row.platform_order_id == "BROKEN-1")
    assert broken.status == "invalid"
    assert "lines.0.quantity" in broken.error
    assert len(stored) == 11  # each order once, though some were delivered twice
    assert platform.rate_limited > 0  # the platform's limit was hit and honoured
    assert platforms.app.state.faults.fired["duplicate"] > 0
    await delete_broker_namespace(settings["platform-export"])


async def _all_tracked(settings: ServiceSettings) -> list[Any] | None:
    rows = await _stored_orders(settings)
    valid = [row for row in rows if row.status != "invalid"]
    return rows if valid and all(row.tracking_pushed_at is not None for row in valid) else None
