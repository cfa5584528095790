"""The vehicle-data HTTP service."""

from __future__ import annotations

from fastapi import FastAPI

from foundation.app import create_app as create_service_app
from foundation.app import default_resources
from integration_sdk.broker import BrokerResource
from integration_sdk.runtime import outbox_hook
from vehicle_data.fitment.api import router as fitment_router
from vehicle_data.settings import VehicleDataSettings


def create_app(settings: VehicleDataSettings | None = None) -> FastAPI:
    """The vehicle-data API: vehicle variants, fitment rules and the product-vehicle mapping."""
    settings = settings or VehicleDataSettings()
    return create_service_app(
        settings,
        title="Atraxion vehicle-data",
        description="Vehicle variants, fitment rules and the product-vehicle mapping.",
        routers=[fitment_router],
        resources=[*default_resources(settings), BrokerResource(settings)],
        hooks=[outbox_hook()],
    )
