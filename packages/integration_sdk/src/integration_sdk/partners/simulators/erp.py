"""The simulated ERP: an order API that deduplicates by ``Idempotency-Key``, and a status change feed.

- ``POST /api/v1/orders`` (header ``Idempotency-Key``): 201 with the new ERP order number; the same key
  with the same body again: 200 with the same answer (a replay); with another body: 409. An order with a
  blocked article (``/_control/blocked-articles``) is refused with 422 and its reason, and not stored,
  so the same order goes through once the article is unblocked.
- ``GET /api/v1/order-status-changes?after=SEQ&limit=N``: accepted, shipped (with tracking number) and
  rejected (with reason) changes in order; a ``duplicate`` fault repeats the previous page's items.
- An accepted order ships by itself after ``ship_after_s`` (or on ``/_control/orders/{key}/ship``).

``/_control/orders`` reports what arrived: requests per key (with their answers and times), orders
created, and duplicates (a source order the ERP created more than once).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse

from integration_sdk.partners.simulators.common import simulator_app
from integration_sdk.partners.simulators.faults import FaultMiddleware, FaultPlan
from integration_sdk.partners.simulators.settings import SimulatorSettings


@dataclass
class ErpOrder:
    """An order the simulated ERP created."""

    order_key: str
    erp_order_id: str
    body_hash: str
    body: dict[str, Any]
    created_at: float
    status: str = "accepted"
    tracking_number: str | None = None


@dataclass
class ErpState:
    """Everything the simulated ERP holds (a test may read it directly when it runs the server in process)."""

    ship_after_s: float = 2.0
    orders: dict[str, ErpOrder] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)  # every order POST: key, time, status
    created_per_source: Counter[tuple[str, str]] = field(default_factory=Counter)
    changes: list[dict[str, Any]] = field(default_factory=list)
    blocked_articles: dict[str, str] = field(default_factory=dict)

    def change(self, order: ErpOrder, status: str, **extra: Any) -> None:
        """Append a status change to the feed."""
        order.status = status
        self.changes.append({"seq": len(self.changes) + 1, "order_key": order.order_key, "status": status,
                             "erp_order_id": order.erp_order_id, "changed_at": time.time(), **extra})  # fmt: skip

    def ship(self, order: ErpOrder, tracking_number: str | None = None) -> None:
        """Ship an accepted order with a tracking number."""
        if order.status == "accepted":
            order.tracking_number = tracking_number or f"TRK{order.erp_order_id[3:]}"
            self.change(order, "shipped", tracking_number=order.tracking_number)

    def summary(self) -> dict[str, Any]:
        """Requests, created orders and duplicates, as ``/_control/orders`` reports them."""
        return {
            "requests": len(self.requests),
            "created": len(self.orders),
            "duplicates": sum(count - 1 for count in self.created_per_source.values() if count > 1),
            "orders": {key: {"erp_order_id": o.erp_order_id, "status": o.status, "created_at": o.created_at,
                             "tracking_number": o.tracking_number, "source_order_id": o.body.get("source_order_id")}
                       for key, o in self.orders.items()},
            "requests_by_key": self.requests_by_key(),
        }  # fmt: skip

    def requests_by_key(self) -> dict[str, list[dict[str, Any]]]:
        """Every order request, grouped by idempotency key, in arrival order."""
        grouped: dict[str, list[dict[str, Any]]] = {}
        for request in self.requests:
            grouped.setdefault(request["key"], []).append(request)
        return grouped


def _hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def erp_router(state: ErpState) -> APIRouter:
    """The ERP's order API and its control routes."""
    router = APIRouter()

    @router.post("/api/v1/orders")
    async def place_order(
        request: Request, idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None
    ) -> JSONResponse:
        """Create an order once per idempotency key."""
        body = await request.json()
        record: dict[str, Any] = {"key": idempotency_key or "", "at": time.time()}
        state.requests.append(record)

        def answer(status: int, content: dict[str, Any]) -> JSONResponse:
            record["status"] = status
            return JSONResponse(content, status_code=status)

        if not idempotency_key:
            return answer(400, {"error": {"code": "idempotency_key_required", "message": "Idempotency-Key missing"}})
        existing = state.orders.get(idempotency_key)
        if existing is not None:
            if existing.body_hash != _hash(body):
                return answer(409, {"error": {"code": "key_reused", "message": "key used for another order"}})
            return answer(200, {"erp_order_id": existing.erp_order_id, "status": "accepted", "replayed": True})
        blocked = [line["article_number"] for line in body.get("lines", [])
                   if line.get("article_number") in state.blocked_articles]  # fmt: skip
        if blocked:
            reasons = "; ".join(f"{article}: {state.blocked_articles[article]}" for article in blocked)
            return answer(422, {"error": {"code": "order_refused", "message": f"refused: {reasons}"}})
        order = ErpOrder(idempotency_key, f"ERP{len(state.orders) + 1:08d}", _hash(body), body, time.time())
        state.orders[idempotency_key] = order
        state.created_per_source[(str(body.get("source")), str(body.get("source_order_id")))] += 1
        state.change(order, "accepted")
        if state.ship_after_s >= 0:
            asyncio.get_running_loop().call_later(state.ship_after_s, state.ship, order)
        return answer(201, {"erp_order_id": order.erp_order_id, "status": "accepted", "replayed": False})

    @router.get("/api/v1/orders/{order_key}")
    async def get_order(order_key: str) -> JSONResponse:
        """One order's state."""
        order = state.orders.get(order_key)
        if order is None:
            return JSONResponse({"error": {"code": "not_found", "message": order_key}}, status_code=404)
        return JSONResponse({"order_key": order_key, "erp_order_id": order.erp_order_id, "status": order.status,
                             "tracking_number": order.tracking_number})  # fmt: skip

    @router.get("/api/v1/order-status-changes")
    async def status_changes(
        request: Request, after: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=1000)] = 200
    ) -> dict[str, Any]:
        """Status changes after sequence number ``after``, oldest first."""
        start = after
        if request.scope.get("state", {}).get("duplicate"):
            start = max(after - limit // 2 - 1, 0)  # deliver part of what the client has seen again
        items = state.changes[start : start + limit]
        return {"items": items, "next_after": items[-1]["seq"] if items else after}

    @router.put("/_control/blocked-articles")
    async def block(articles: dict[str, str]) -> dict[str, int]:
        """Refuse orders with these articles (article -> reason); an empty map unblocks all."""
        state.blocked_articles = dict(articles)
        return {"blocked": len(articles)}

    @router.put("/_control/config")
    async def configure(ship_after_s: float) -> dict[str, float]:
        """Change when accepted orders ship by themselves (negative: never)."""
        state.ship_after_s = ship_after_s
        return {"ship_after_s": ship_after_s}

    @router.post("/_control/orders/{order_key}/ship")
    async def ship(order_key: str, tracking_number: str | None = None) -> dict[str, Any]:
        """Ship an accepted order now."""
        state.ship(state.orders[order_key], tracking_number)
        return {"status": state.orders[order_key].status}

    @router.post("/_control/orders/{order_key}/reject")
    async def reject(order_key: str, reason: str) -> dict[str, Any]:
        """Reject an accepted order (e.g. it cannot be delivered)."""
        order = state.orders[order_key]
        if order.status == "accepted":
            state.change(order, "rejected", reason=reason)
        return {"status": order.status}

    @router.get("/_control/orders")
    async def orders() -> dict[str, Any]:
        """Requests, created orders, duplicates."""
        return state.summary()

    return router


def create_erp_simulator(
    settings: SimulatorSettings | None = None, state: ErpState | None = None, plan: FaultPlan | None = None
) -> FaultMiddleware:
    """The ERP simulator app (``uvicorn --factory integration_sdk.partners.simulators.erp:create_erp_simulator``)."""
    settings = settings or SimulatorSettings()
    state = state or ErpState(ship_after_s=settings.erp_ship_after_s)
    plan = plan or FaultPlan(settings.seed)
    app = simulator_app("Simulated ERP", plan, erp_router(state))
    app.state.erp = state
    return app
