"""Orders from the webshop to the ERP and their status back, against the real MariaDB, RabbitMQ and Redis,
the webshop's API and worker, erp-middleware's worker and the ERP simulator (a real HTTP server) under
faults: the ERP down, 429 with Retry-After, resets, late answers, a refused order replayed from the DLQ.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from erp_middleware.worker import create_worker_app as erp_worker
from foundation.bulk import utc_now
from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk.connectors import CIRCUIT_STATES
from integration_sdk.dead_letters import DeadLetterFilter
from integration_sdk.outbox import DEAD_LETTER
from integration_sdk.partners.simulators.erp import ErpState, create_erp_simulator
from integration_sdk.partners.simulators.faults import Fault
from integration_sdk.partners.simulators.server import SimulatorServer
from integration_sdk.testing import (
    delete_broker_namespace,
    eventually,
    live_settings,
    replay_letters,
    serve,
    truncate_tables,
    wait_until_ready,
)
from integration_sdk.topology import HIGH_PRIORITY, queue_name
from webshop.app import create_app as webshop_app
from webshop.tables import catalog_article
from webshop.worker import create_worker_app as webshop_worker

ARTICLES = {f"TY-{n:03d}": Decimal(f"{80 + n}.50") for n in range(1, 6)}
ORDERS_ROUTE = "POST /api/v1/orders"


@dataclass
class Live:
    """The running apps, the ERP simulator and the settings they run with."""

    shop: httpx.AsyncClient
    erp: ErpState
    sim: SimulatorServer
    settings: dict[str, ServiceSettings]

    async def place(self, key: str, lines: list[tuple[str, int]], customer: str = "dealer-1") -> httpx.Response:
        body = {"customer_id": customer, "lines": [{"article_number": a, "quantity": q} for a, q in lines]}
        return await self.shop.post("/api/v1/orders", json=body, headers={"Idempotency-Key": key})

    async def order(self, order_id: str) -> dict[str, Any]:
        response = await self.shop.get(f"/api/v1/orders/{order_id}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


async def _seed_catalogue(settings: ServiceSettings) -> None:
    db = Database.from_settings(settings)
    try:
        async with db.writer.begin() as conn:
            await conn.execute(catalog_article.insert(), [
                {"article_number": number, "article_type": "tyre", "brand": "Nokian", "model": "WR",
                 "description": f"{number} 205/55 R16", "list_price": price, "version": 1, "updated_at": utc_now(),
                 "sellable_qty": 50} for number, price in ARTICLES.items()])  # fmt: skip
    finally:
        await db.dispose()


@pytest.fixture
async def live(migrated_islands: dict[str, ServiceSettings]) -> AsyncIterator[Live]:
    state = ErpState(ship_after_s=0.3)
    app = create_erp_simulator(state=state)
    sim = SimulatorServer(app)
    sim.start()
    settings = live_settings(migrated_islands, **{
        "erp-middleware": {"erp_url": sim.url, "erp_status_poll_interval_s": 0.2, "connector_timeout_s": 0.5,
                           "connector_budget_s": 3.0, "connector_wait_initial_s": 0.05, "connector_wait_max_s": 0.3,
                           "connector_breaker_ttl_s": 1.0, "retry_tiers_s": (0.5, 1.0, 2.0, 4.0, 8.0)},
    })  # fmt: skip
    for island in ("webshop", "erp-middleware"):
        await truncate_tables(settings[island])
    await _seed_catalogue(settings["webshop"])
    async with AsyncExitStack() as stack:
        shop = await stack.enter_async_context(serve(webshop_app(settings["webshop"])))  # type: ignore[arg-type]
        for factory, island in ((webshop_worker, "webshop"), (erp_worker, "erp-middleware")):
            client = await stack.enter_async_context(serve(factory(settings[island])))  # type: ignore[arg-type]
            assert (await wait_until_ready(client, 20)).status_code == 200, island
        yield Live(shop, state, sim, settings)
    sim.stop()
    await delete_broker_namespace(settings["webshop"])


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def _all_shipped(live: Live, order_ids: list[str]) -> list[dict[str, Any]] | None:
    orders = [await live.order(order_id) for order_id in order_ids]
    return orders if all(order["status"] == "shipped" for order in orders) else None


def _created_once(live: Live, order_ids: list[str]) -> None:
    summary = live.erp.summary()
    created = {order["source_order_id"] for order in summary["orders"].values()}
    assert created == set(order_ids), summary
    assert summary["duplicates"] == 0
    assert summary["created"] == len(order_ids)


async def test_an_order_reaches_the_erp_once_and_its_tracking_comes_back(live: Live) -> None:
    first = await live.place("key-1", [("TY-001", 4), ("TY-002", 2)])
    again = await live.place("key-1", [("TY-001", 4), ("TY-002", 2)])
    reused = await live.place("key-1", [("TY-003", 1)])

    assert first.status_code == 201, first.text
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["order_id"] == first.json()["order_id"]
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    order_id = first.json()["order_id"]
    assert Decimal(first.json()["total"]) == ARTICLES["TY-001"] * 4 + ARTICLES["TY-002"] * 2
    shipped = (await eventually(lambda: _all_shipped(live, [order_id])))[0]
    erp_order = live.erp.orders[f"webshop:{order_id}"]
    assert shipped["erp_order_id"] == erp_order.erp_order_id
    assert shipped["tracking_number"] == erp_order.tracking_number is not None
    assert [line["quantity"] for line in erp_order.body["lines"]] == [4, 2]
    _created_once(live, [order_id])


async def test_an_order_that_cannot_be_placed_names_each_line(live: Live) -> None:
    response = await live.place("key-bad", [("TY-001", 51), ("NOPE-1", 1), ("TY-001", 1)])

    assert response.status_code == 422, response.text
    details = {(d["field"], d["problem"]) for d in response.json()["error"]["details"]}
    assert details == {("lines.0.quantity", "only 50 sellable of TY-001"),
                       ("lines.1.article_number", "no such article in the catalogue"),
                       ("lines.2.article_number", "already ordered on line 0")}  # fmt: skip
    missing_key = await live.shop.post("/api/v1/orders", json={"customer_id": "d", "lines": [
        {"article_number": "TY-001", "quantity": 1}]})  # fmt: skip
    assert missing_key.status_code == 400


OUTAGE_S = 60.0
ERP_CIRCUIT = {"connector": "erp", "target": "erp"}
NETWORK_FAILURES = ("connection", "timeout")  # a call that reached for the stopped ERP


def _erp_calls(*status_classes: str) -> float:
    return sum(_sample("connector_calls_total", **ERP_CIRCUIT, status_class=c) for c in status_classes)


def _dlq_moves() -> float:
    labels = {"island": "erp-middleware", "queue": "erp-middleware.high-priority"}
    return sum(_sample("dlq_moves_total", **labels, reason=reason) for reason in ("exhausted", "permanent"))


async def _circuit_states_until(deadline: float) -> set[float]:
    """The ERP circuit's states (0 closed, 1 half-open, 2 open) seen until ``deadline`` (loop time)."""
    loop = asyncio.get_running_loop()
    seen: set[float] = set()
    while loop.time() < deadline:
        seen.add(_sample("connector_circuit_state", **ERP_CIRCUIT))
        await asyncio.sleep(0.05)
    return seen


@pytest.mark.slow
async def test_erp_down_then_back_every_order_delivered_once(live: Live) -> None:
    """The ERP is down for a minute; orders placed at its start and half-way all reach it once afterwards.

    While the circuit is open the orders are parked without spending their attempts (none reaches the
    DLQ), and the ERP is only probed about once per breaker period instead of once per order and retry.
    """
    erp_settings = live.settings["erp-middleware"]
    loop = asyncio.get_running_loop()
    dead_lettered = _dlq_moves()
    refused_before = _erp_calls("circuit_open")
    reached_before = _erp_calls(*NETWORK_FAILURES)
    live.sim.stop()
    down_at = loop.time()
    order_ids = [(await live.place(f"down-{n}", [("TY-004", 1)])).json()["order_id"] for n in range(8)]
    states = await _circuit_states_until(down_at + OUTAGE_S / 2)
    order_ids += [(await live.place(f"down-late-{n}", [("TY-004", 1)])).json()["order_id"] for n in range(8)]
    states |= await _circuit_states_until(down_at + OUTAGE_S)
    reached = _erp_calls(*NETWORK_FAILURES) - reached_before
    refused = _erp_calls("circuit_open") - refused_before
    live.sim.start()
    assert _dlq_moves() == dead_lettered, "orders were dead-lettered during the outage"

    await eventually(lambda: _all_shipped(live, order_ids), timeout_s=60)
    _created_once(live, order_ids)
    created = {
        key: [r.get("status") for r in requests].count(201) for key, requests in live.erp.requests_by_key().items()
    }
    assert created == {f"webshop:{order_id}": 1 for order_id in order_ids}, created
    assert CIRCUIT_STATES["opened"] in states, states
    assert refused > 0, "no call was held back by the open circuit"
    # Parked, not hammering: one probe per breaker period, besides the calls that opened the circuit (the
    # threshold, and at most one in flight per drainer and the status feed). One per order per second: 960.
    probes = OUTAGE_S / erp_settings.connector_breaker_ttl_s + 1
    opening = erp_settings.connector_breaker_threshold + erp_settings.db_pool_size + 1
    assert reached <= probes + opening, (reached, refused)
    assert _dlq_moves() == dead_lettered
    letters = await _dead_letters(erp_settings, None)
    assert letters == [], [(letter.scope_id, letter.error_message) for letter in letters]


async def test_rate_limited_calls_are_delivered_after_their_retry_after(live: Live) -> None:
    live.sim.app.state.faults.set([Fault(kind="status", status=429, retry_after_s=1, probability=0.2,
                                         route=ORDERS_ROUTE)], seed=7)  # fmt: skip
    order_ids = [(await live.place(f"limited-{n}", [("TY-005", 1)])).json()["order_id"] for n in range(15)]

    await eventually(lambda: _all_shipped(live, order_ids), timeout_s=60)
    _created_once(live, order_ids)
    refusals = [entry for entry in live.sim.app.state.faults.log if entry["fault"] == "429"]
    assert refusals, "no call was answered 429"
    arrivals: dict[str, list[float]] = {}
    for entry in live.sim.app.state.faults.log:
        arrivals.setdefault(entry["key"], []).append(entry["at"])
    for request in live.erp.requests:
        arrivals.setdefault(request["key"], []).append(request["at"])
    for refusal in refusals:
        later = [at for at in arrivals[refusal["key"]] if at > refusal["at"]]
        assert later, f"{refusal['key']} was never retried after its 429"
        assert min(later) - refusal["at"] >= 1.0 - 0.005, f"{refusal['key']} retried before its Retry-After"


async def test_resets_late_answers_and_5xx_deliver_each_order_once(live: Live) -> None:
    live.sim.app.state.faults.set([
        Fault(kind="timeout", delay_s=0.8, times=3, route=ORDERS_ROUTE),  # the ERP created them; we timed out
        Fault(kind="reset", probability=0.15, route=ORDERS_ROUTE),
        Fault(kind="status", status=503, probability=0.15, route=ORDERS_ROUTE),
        Fault(kind="duplicate", route="GET /api/v1/order-status-changes"),
    ], seed=3)  # fmt: skip
    order_ids = [(await live.place(f"faulty-{n}", [("TY-003", 1)])).json()["order_id"] for n in range(12)]

    await eventually(lambda: _all_shipped(live, order_ids), timeout_s=60)
    _created_once(live, order_ids)
    assert live.sim.app.state.faults.fired["timeout"] > 0, live.sim.app.state.faults.fired
    replays = sum(1 for r in live.erp.requests if r.get("status") == 200)
    assert replays > 0, "no order was sent again after a late answer"


async def _dead_letters(settings: ServiceSettings, scope: str | None) -> list[Any]:
    """The island's archived dead letters (of one scope, or all)."""
    query = sa.select(DEAD_LETTER)
    if scope is not None:
        query = query.where(DEAD_LETTER.c.scope_id == scope)
    db = Database.from_settings(settings)
    try:
        async with db.reader.connect() as conn:
            return list((await conn.execute(query)).all())
    finally:
        await db.dispose()


async def test_a_refused_order_reaches_the_dlq_with_the_reason_and_replays_after_a_fix(live: Live) -> None:
    live.erp.blocked_articles = {"TY-002": "article blocked for sale in the ERP"}
    order_id = (await live.place("refused-1", [("TY-001", 1), ("TY-002", 1)])).json()["order_id"]
    key = f"webshop:{order_id}"
    erp_settings = live.settings["erp-middleware"]

    letters = await eventually(lambda: _dead_letters(erp_settings, key))
    assert "TY-002: article blocked for sale in the ERP" in letters[0].error_message
    assert letters[0].queue == queue_name("erp-middleware", HIGH_PRIORITY, erp_settings.broker_namespace)
    bridge = await live.shop.get(f"/api/v1/orders/{order_id}")
    assert bridge.json()["status"] == "placed"
    assert key not in live.erp.orders

    live.erp.blocked_articles = {}
    replayed = await replay_letters(erp_settings, DeadLetterFilter(scope_id=key))
    again = await replay_letters(erp_settings, DeadLetterFilter(scope_id=key, include_replayed=True))

    assert len(replayed) == 1
    assert again == replayed
    await eventually(lambda: _all_shipped(live, [order_id]))
    _created_once(live, [order_id])


async def test_an_order_the_erp_rejects_later_shows_rejected_with_the_reason(live: Live) -> None:
    live.erp.ship_after_s = -1  # the ERP accepts it and then rejects it instead of shipping
    order_id = (await live.place("rejected-later", [("TY-001", 1)])).json()["order_id"]
    key = f"webshop:{order_id}"

    async def accepted() -> bool:
        return (await live.order(order_id))["status"] == "accepted"

    await eventually(accepted)
    async with httpx.AsyncClient(base_url=live.sim.url) as control:
        answer = await control.post(f"/_control/orders/{key}/reject", params={"reason": "customer account blocked"})
    assert answer.json() == {"status": "rejected"}

    async def rejected() -> dict[str, Any] | None:
        order = await live.order(order_id)
        return order if order["status"] == "rejected" else None

    order = await eventually(rejected)
    assert order["status_reason"] == "customer account blocked"
    assert order["erp_order_id"] == live.erp.orders[key].erp_order_id
