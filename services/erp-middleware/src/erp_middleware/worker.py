"""The erp-middleware worker process: the outbox relay, the island's consumers and its DLQ archive.

It runs as its own process (``uvicorn --factory erp_middleware.worker:create_worker_app``) and serves only the
operational endpoints (health, metrics) on ``worker_port``.
"""

from __future__ import annotations

from fastapi import FastAPI

from erp_middleware.orders.bridge import OrderBridge
from erp_middleware.orders.status_feed import status_feed_job
from erp_middleware.settings import ErpMiddlewareSettings
from foundation.app import create_app as create_service_app
from foundation.app import default_resources
from integration_sdk.broker import BrokerResource
from integration_sdk.runtime import MessagingSpec, messaging_hook, periodic_hook
from integration_sdk.topology import HIGH_PRIORITY


def create_worker_app(settings: ErpMiddlewareSettings | None = None) -> FastAPI:
    """The worker: consumers of the island's queues, with health and metrics."""
    settings = settings or ErpMiddlewareSettings()
    bridge = OrderBridge(settings)
    # Handlers by work queue and message type; the bindings are in integration_sdk.topology.SUBSCRIPTIONS.
    messaging = MessagingSpec(handlers={HIGH_PRIORITY: bridge.handlers()})
    status_feed = periodic_hook("erp-status-feed", settings.erp_status_poll_interval_s, status_feed_job(bridge))
    return create_service_app(
        settings,
        title="Atraxion erp-middleware worker",
        resources=[*default_resources(settings), BrokerResource(settings)],
        hooks=[bridge.lifespan(), messaging_hook(messaging), status_feed],
    )
