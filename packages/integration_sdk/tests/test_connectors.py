"""The connector's circuit breaker against a real partner (the ERP simulator, a uvicorn server) that goes down
and comes back: an open circuit defers work, the failure that opens it included, and lets one probe through.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client import REGISTRY

from integration_sdk.connectors import CircuitOpen, Connector, ConnectorPolicy
from integration_sdk.errors import Deferred
from integration_sdk.partners.simulators.erp import create_erp_simulator
from integration_sdk.partners.simulators.faults import Fault
from integration_sdk.partners.simulators.server import SimulatorServer

STATUS_PATH = "/api/v1/order-status-changes"
POLICY = ConnectorPolicy(timeout_s=2.0, attempts=3, budget_s=3.0, wait_initial_s=0.01, wait_max_s=0.02,
                         wait_jitter_s=0.0, breaker_threshold=3, breaker_ttl_s=0.5)  # fmt: skip


@dataclass
class Partner:
    sim: SimulatorServer
    connector: Connector

    def calls(self, status_class: str) -> float:
        labels = {"connector": self.connector.name, "target": "erp", "status_class": status_class}
        return REGISTRY.get_sample_value("connector_calls_total", labels) or 0.0

    async def read(self) -> httpx.Response:
        return await self.connector.request("erp", "GET", STATUS_PATH)

    async def read_together(self, n: int) -> list[httpx.Response | BaseException]:
        return await asyncio.gather(*(self.read() for _ in range(n)), return_exceptions=True)


@pytest.fixture
async def partner() -> AsyncIterator[Partner]:
    sim = SimulatorServer(create_erp_simulator())  # not started: the partner is down
    connector = Connector(f"test-{secrets.token_hex(3)}", POLICY, base_url=sim.url)
    try:
        yield Partner(sim, connector)
    finally:
        sim.stop()
        await connector.aclose()


async def test_the_failure_that_opens_the_circuit_is_deferred_and_an_open_circuit_calls_nobody(
    partner: Partner,
) -> None:
    with pytest.raises(CircuitOpen) as opened:
        await partner.read()  # three refused connections in process: the third opens the circuit

    assert isinstance(opened.value, Deferred)
    assert opened.value.retry_after_s is not None
    assert 0.3 < opened.value.retry_after_s <= POLICY.breaker_ttl_s
    assert partner.calls("connection") == POLICY.breaker_threshold
    with pytest.raises(CircuitOpen):
        await partner.read()
    assert partner.calls("connection") == POLICY.breaker_threshold
    assert partner.calls("circuit_open") == 1


async def test_after_the_open_period_one_probe_goes_out_while_the_other_calls_wait(partner: Partner) -> None:
    with pytest.raises(CircuitOpen):
        await partner.read()
    reached = partner.calls("connection")

    await asyncio.sleep(POLICY.breaker_ttl_s + 0.05)
    still_down = await partner.read_together(5)

    assert all(isinstance(result, CircuitOpen) for result in still_down), still_down
    assert partner.calls("connection") == reached + 1  # the probe, refused: the circuit is open again

    partner.sim.start()
    partner.sim.app.state.faults.set([Fault(kind="slow", delay_s=0.3, route=f"GET {STATUS_PATH}")])
    await asyncio.sleep(POLICY.breaker_ttl_s + 0.05)
    back = await partner.read_together(5)

    answered = [result for result in back if isinstance(result, httpx.Response)]
    held = [result for result in back if isinstance(result, CircuitOpen)]
    assert len(answered) == 1, back
    assert len(held) == 4, back
    assert all("probe is in flight" in str(result) for result in held)
    assert partner.calls("2xx") == 1
    assert (await partner.read()).status_code == 200  # the probe's answer closed the circuit
