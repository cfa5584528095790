"""The stock-import worker process: the outbox relay, the island's consumers and its DLQ archive.

It runs as its own process (``uvicorn --factory stock_import.worker:create_worker_app``) and serves only the
operational endpoints (health, metrics) on ``worker_port``.
"""

from __future__ import annotations

from fastapi import FastAPI

from foundation.app import create_app as create_service_app
from foundation.app import default_resources
from integration_sdk.broker import BrokerResource
from integration_sdk.runtime import MessagingSpec, messaging_hook
from integration_sdk.topology import BULK, HIGH_PRIORITY
from stock_import import catalogue
from stock_import.imports import handlers as feeds
from stock_import.imports.drop_folder import drop_folder_hook
from stock_import.settings import StockImportSettings

# Handlers by work queue and message type; the bindings are in integration_sdk.topology.SUBSCRIPTIONS.
MESSAGING = MessagingSpec(
    handlers={BULK: {**catalogue.HANDLERS, **feeds.HANDLERS[BULK]}, HIGH_PRIORITY: feeds.HANDLERS[HIGH_PRIORITY]}
)


def create_worker_app(settings: StockImportSettings | None = None) -> FastAPI:
    """The worker: consumers of the island's queues, with health and metrics."""
    settings = settings or StockImportSettings()
    return create_service_app(
        settings,
        title="Atraxion stock-import worker",
        resources=[*default_resources(settings), BrokerResource(settings)],
        hooks=[messaging_hook(MESSAGING), drop_folder_hook()],
    )
