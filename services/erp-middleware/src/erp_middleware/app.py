"""The erp-middleware HTTP service."""

from __future__ import annotations

from fastapi import FastAPI

from erp_middleware.orders.api import router as orders_router
from erp_middleware.settings import ErpMiddlewareSettings
from foundation.app import create_app as create_service_app
from foundation.app import default_resources
from integration_sdk.broker import BrokerResource
from integration_sdk.runtime import outbox_hook


def create_app(settings: ErpMiddlewareSettings | None = None) -> FastAPI:
    """The erp-middleware API: eRP article master in, catalogue events out; orders to the ERP and status back."""
    settings = settings or ErpMiddlewareSettings()
    return create_service_app(
        settings,
        title="Atraxion erp-middleware",
        description="ERP article master in, catalogue events out; orders to the ERP and status back.",
        routers=[orders_router],
        resources=[*default_resources(settings), BrokerResource(settings)],
        hooks=[outbox_hook()],
    )
