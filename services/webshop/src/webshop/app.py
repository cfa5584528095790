"""The webshop HTTP service."""

from __future__ import annotations

from fastapi import FastAPI

from foundation.app import create_app as create_service_app
from foundation.app import default_resources
from integration_sdk.broker import BrokerResource
from integration_sdk.runtime import outbox_hook
from webshop.orders.api import router as orders_router
from webshop.search.api import router as search_router
from webshop.settings import WebshopSettings
from webshop.vehicles.api import router as vehicles_router
from webshop.wheel_sets.api import router as wheel_sets_router


def create_app(settings: WebshopSettings | None = None) -> FastAPI:
    """The webshop API: storefront projections (catalogue, stock, fitment, wheel sets) and orders."""
    settings = settings or WebshopSettings()
    return create_service_app(
        settings,
        title="Atraxion webshop",
        description="Storefront read projections (catalogue, availability, fitment replica, wheel sets) and orders.",
        routers=[search_router, vehicles_router, wheel_sets_router, orders_router],
        resources=[*default_resources(settings), BrokerResource(settings)],
        hooks=[outbox_hook()],
    )
