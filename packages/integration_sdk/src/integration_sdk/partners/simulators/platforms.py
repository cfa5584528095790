"""The simulated sales platforms: order API (paged, rate-limited), tracking pushes and feed uploads.

Per platform id (any id: a platform exists as soon as it is named):

- ``GET /platforms/{id}/orders?after=SEQ&limit=N``: orders after a sequence number, oldest first, with
  ``next_after`` and ``has_more``. Faster than ``orders_min_interval_s`` per platform: 429 with
  Retry-After. A ``duplicate`` fault delivers the previous page's last order again.
- ``POST /platforms/{id}/orders/{order_id}/tracking`` (``Idempotency-Key``): the tracking number of a
  shipped order; a repeated key is acknowledged and not applied again.
- ``POST /platforms/{id}/feed``: one page of a stock feed (headers ``X-Export-Run``, ``-Kind``,
  ``-Page``, ``-Last-Page``, ``Idempotency-Key``); a repeated key is acknowledged, not counted again.

Orders come from ``POST /_control/platforms/{id}/orders`` (explicit, or ``count`` generated from a list
of article numbers); ``GET /_control/platforms/{id}`` reports tracking pushes and feed pages.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from integration_sdk.partners.simulators.common import simulator_app
from integration_sdk.partners.simulators.faults import FaultMiddleware, FaultPlan
from integration_sdk.partners.simulators.settings import SimulatorSettings

ITEM_KEYS = {  # how the article number of an item is found in each feed format
    "csv": re.compile(rb"^([^;\r\n]+);", re.MULTILINE),
    "json": re.compile(rb'"sku":\s*"([^"]+)"'),
    "xml": re.compile(rb"<sku>([^<]+)</sku>"),
}


@dataclass
class PlatformState:
    """One platform's orders, tracking numbers received and feed pages received."""

    orders: list[dict[str, Any]] = field(default_factory=list)
    last_orders_call: float = 0.0
    order_calls: int = 0
    rate_limited: int = 0
    tracking: dict[str, dict[str, Any]] = field(default_factory=dict)
    tracking_requests: int = 0
    tracking_keys: set[str] = field(default_factory=set)
    feed_keys: set[str] = field(default_factory=set)
    feed_pages: list[dict[str, Any]] = field(default_factory=list)
    feed_requests: int = 0
    feed_items: dict[str, list[str]] = field(default_factory=dict)  # run -> article numbers (keep_feed_items)


@dataclass
class PlatformsState:
    """Every simulated platform."""

    seed: int = 42
    orders_min_interval_s: float = 0.0
    keep_feed_items: bool = False
    platforms: dict[str, PlatformState] = field(default_factory=dict)

    def platform(self, platform_id: str) -> PlatformState:
        """The platform's state, created on first mention."""
        return self.platforms.setdefault(platform_id, PlatformState())


class OrderLineIn(BaseModel):
    """A line of an injected order."""

    sku: str
    quantity: int = Field(ge=1)
    unit_price: str


class OrdersIn(BaseModel):
    """Orders to add to a platform: explicit ones, or ``count`` generated from ``articles``."""

    orders: list[dict[str, Any]] = []
    count: int = 0
    articles: list[str] = []
    currency: str = "EUR"


def platforms_router(state: PlatformsState) -> APIRouter:
    """The platforms' APIs and their control routes."""
    router = APIRouter()

    @router.get("/platforms/{platform_id}/orders")
    async def list_orders(
        platform_id: str,
        request: Request,
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> JSONResponse:
        """Orders after ``after``, oldest first."""
        platform = state.platform(platform_id)
        now = time.monotonic()
        wait = platform.last_orders_call + state.orders_min_interval_s - now
        if wait > 0:
            platform.rate_limited += 1
            return JSONResponse({"error": {"code": "rate_limited", "message": "slow down"}}, status_code=429,
                                headers={"Retry-After": f"{max(wait, 0.05):.2f}"})  # fmt: skip
        platform.last_orders_call = now
        platform.order_calls += 1
        start = after
        if request.scope.get("state", {}).get("duplicate") and after > 0:
            start = after - 1
        page = platform.orders[start : start + limit]
        next_after = page[-1]["seq"] if page else after
        return JSONResponse({"orders": page, "next_after": next_after, "has_more": next_after < len(platform.orders)})

    @router.post("/platforms/{platform_id}/orders/{order_id}/tracking")
    async def push_tracking(
        platform_id: str,
        order_id: str,
        request: Request,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> JSONResponse:
        """Record the tracking number of a shipped order (once per idempotency key)."""
        platform = state.platform(platform_id)
        platform.tracking_requests += 1
        if not any(order["order_id"] == order_id for order in platform.orders):
            return JSONResponse({"error": {"code": "not_found", "message": f"no order {order_id}"}}, status_code=404)
        body = await request.json()
        key = idempotency_key or f"{order_id}:{body.get('tracking_number')}"
        if key in platform.tracking_keys:
            return JSONResponse({"status": "already recorded"}, status_code=200)
        platform.tracking_keys.add(key)
        entry = platform.tracking.setdefault(order_id, {"tracking_number": None, "applied": 0})
        entry.update(tracking_number=body.get("tracking_number"), carrier=body.get("carrier"))
        entry["applied"] += 1
        return JSONResponse({"status": "recorded"}, status_code=201)

    @router.post("/platforms/{platform_id}/feed")
    async def upload_feed(
        platform_id: str,
        request: Request,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
        run: Annotated[str, Header(alias="X-Export-Run")] = "",
        kind: Annotated[str, Header(alias="X-Export-Kind")] = "",
        page: Annotated[int, Header(alias="X-Export-Page")] = 0,
        last_page: Annotated[str, Header(alias="X-Export-Last-Page")] = "false",
        feed_format: Annotated[str, Header(alias="X-Export-Format")] = "csv",
    ) -> JSONResponse:
        """Take one page of a stock feed."""
        platform = state.platform(platform_id)
        platform.feed_requests += 1
        body = await request.body()
        key = idempotency_key or f"{run}:{page}"
        if key in platform.feed_keys:
            return JSONResponse({"status": "already received"}, status_code=200)
        platform.feed_keys.add(key)
        items = [match.decode() for match in ITEM_KEYS.get(feed_format, ITEM_KEYS["csv"]).findall(body)]
        if feed_format == "csv" and items and items[0] == "sku":
            items = items[1:]
        platform.feed_pages.append({"run": run, "kind": kind, "page": page, "last": last_page == "true",
                                    "items": len(items), "bytes": len(body)})  # fmt: skip
        if state.keep_feed_items:
            platform.feed_items.setdefault(run, []).extend(items)
        return JSONResponse({"status": "received", "items": len(items)}, status_code=202)

    @router.post("/_control/platforms/{platform_id}/orders")
    async def add_orders(platform_id: str, orders: OrdersIn) -> dict[str, Any]:
        """Add orders to a platform's order API."""
        platform = state.platform(platform_id)
        rng = random.Random(f"{state.seed}:{platform_id}:{len(platform.orders)}")
        new = list(orders.orders)
        for _ in range(orders.count):
            picked = rng.sample(orders.articles, min(len(orders.articles), rng.randint(1, 2)))
            lines = [{"sku": article, "quantity": rng.randint(1, 4), "unit_price": f"{rng.uniform(40, 250):.2f}"}
                     for article in picked]  # fmt: skip
            new.append({"lines": lines, "currency": orders.currency})
        added = []
        for order in new:
            seq = len(platform.orders) + 1
            full = {"order_id": f"{platform_id.upper()}-{seq:06d}", "customer_reference": f"buyer-{seq}",
                    "currency": orders.currency, "created_at": time.time(), **order, "seq": seq}  # fmt: skip
            platform.orders.append(full)
            added.append(full["order_id"])
        return {"added": added}

    @router.get("/_control/platforms/{platform_id}")
    async def platform_report(platform_id: str) -> dict[str, Any]:
        """Orders served, tracking numbers and feed pages received."""
        platform = state.platform(platform_id)
        return {"orders": len(platform.orders), "order_calls": platform.order_calls,
                "rate_limited": platform.rate_limited, "tracking": platform.tracking,
                "tracking_requests": platform.tracking_requests, "feed_requests": platform.feed_requests,
                "feed_pages": platform.feed_pages, "feed_items": platform.feed_items}  # fmt: skip

    @router.put("/_control/config")
    async def configure(
        orders_min_interval_s: float | None = None, keep_feed_items: bool | None = None
    ) -> dict[str, Any]:
        """Rate limit of the order APIs; whether feed item numbers are kept for reports."""
        if orders_min_interval_s is not None:
            state.orders_min_interval_s = orders_min_interval_s
        if keep_feed_items is not None:
            state.keep_feed_items = keep_feed_items
        return {"orders_min_interval_s": state.orders_min_interval_s, "keep_feed_items": state.keep_feed_items}

    return router


def create_platforms_simulator(
    settings: SimulatorSettings | None = None, state: PlatformsState | None = None, plan: FaultPlan | None = None
) -> FaultMiddleware:
    """The platforms simulator app (``uvicorn --factory ...platforms:create_platforms_simulator``)."""
    settings = settings or SimulatorSettings()
    state = state or PlatformsState(seed=settings.seed)
    plan = plan or FaultPlan(settings.seed)
    app = simulator_app("Simulated sales platforms", plan, platforms_router(state))
    app.state.platforms = state
    return app
