"""The erp-middleware worker process: message consumers and background jobs of the island.

It runs as its own process (``uvicorn --factory erp_middleware.worker:create_worker_app``) and serves only the
operational endpoints (health, metrics) on ``worker_port``.
"""

from __future__ import annotations

from fastapi import FastAPI

from erp_middleware.settings import ErpMiddlewareSettings
from foundation.app import create_app as create_service_app
from foundation.app import default_resources
from integration_sdk.broker import BrokerResource


def create_worker_app(settings: ErpMiddlewareSettings | None = None) -> FastAPI:
    """The worker: consumers of the island's queues, with health and metrics."""
    settings = settings or ErpMiddlewareSettings()
    return create_service_app(
        settings,
        title="Atraxion erp-middleware worker",
        resources=[*default_resources(settings), BrokerResource(settings)],
    )
