"""The webshop worker process: the outbox relay, the island's consumers and its DLQ archive.

It runs as its own process (``uvicorn --factory webshop.worker:create_worker_app``) and serves only the
operational endpoints (health, metrics) on ``worker_port``.
"""

from __future__ import annotations

from fastapi import FastAPI

from foundation.app import create_app as create_service_app
from foundation.app import default_resources
from integration_sdk.broker import BrokerResource
from integration_sdk.runtime import MessagingSpec, messaging_hook
from integration_sdk.topology import BULK, HIGH_PRIORITY
from webshop.orders import handlers as order_status
from webshop.projections import catalog, fitment, stock
from webshop.settings import WebshopSettings
from webshop.wheel_sets import recompute as wheel_sets

# Handlers by work queue and message type; the bindings are in integration_sdk.topology.SUBSCRIPTIONS.
MESSAGING = MessagingSpec(
    handlers={
        BULK: {**catalog.HANDLERS, **stock.HANDLERS, **fitment.HANDLERS, **wheel_sets.HANDLERS},
        HIGH_PRIORITY: order_status.HANDLERS,
    }
)


def create_worker_app(settings: WebshopSettings | None = None) -> FastAPI:
    """The worker: consumers of the island's queues, with health and metrics."""
    settings = settings or WebshopSettings()
    return create_service_app(
        settings,
        title="Atraxion webshop worker",
        resources=[*default_resources(settings), BrokerResource(settings)],
        hooks=[messaging_hook(MESSAGING)],
    )
