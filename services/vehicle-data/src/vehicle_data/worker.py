"""The vehicle-data worker process: the outbox relay, the island's consumers and its DLQ archive.

It runs as its own process (``uvicorn --factory vehicle_data.worker:create_worker_app``) and serves only the
operational endpoints (health, metrics) on ``worker_port``.
"""

from __future__ import annotations

from fastapi import FastAPI

from foundation.app import create_app as create_service_app
from foundation.app import default_resources
from integration_sdk.broker import BrokerResource
from integration_sdk.runtime import MessagingSpec, messaging_hook
from integration_sdk.topology import BULK, HIGH_PRIORITY
from vehicle_data import product_specs
from vehicle_data.fitment import handlers as fitment
from vehicle_data.settings import VehicleDataSettings

# Handlers by work queue and message type; the bindings are in integration_sdk.topology.SUBSCRIPTIONS.
MESSAGING = MessagingSpec(
    handlers={
        BULK: {**product_specs.HANDLERS, **fitment.HANDLERS[BULK]},
        HIGH_PRIORITY: fitment.HANDLERS[HIGH_PRIORITY],
    }
)


def create_worker_app(settings: VehicleDataSettings | None = None) -> FastAPI:
    """The worker: consumers of the island's queues, with health and metrics."""
    settings = settings or VehicleDataSettings()
    return create_service_app(
        settings,
        title="Atraxion vehicle-data worker",
        resources=[*default_resources(settings), BrokerResource(settings)],
        hooks=[messaging_hook(MESSAGING)],
    )
