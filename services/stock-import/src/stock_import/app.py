"""The stock-import HTTP service."""

from __future__ import annotations

from fastapi import FastAPI

from foundation.app import create_app as create_service_app
from foundation.app import default_resources
from integration_sdk.broker import BrokerResource
from integration_sdk.runtime import outbox_hook
from stock_import.api import router
from stock_import.settings import StockImportSettings


def create_app(settings: StockImportSettings | None = None) -> FastAPI:
    """The stock-import API: supplier feeds in, per-article availability aggregates and stock events out."""
    settings = settings or StockImportSettings()
    return create_service_app(
        settings,
        title="Atraxion stock-import",
        description="Supplier feeds in, per-article availability aggregates and stock events out.",
        resources=[*default_resources(settings), BrokerResource(settings)],
        hooks=[outbox_hook()],
        routers=[router],
    )
