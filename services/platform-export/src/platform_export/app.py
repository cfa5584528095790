"""The platform-export HTTP service."""

from __future__ import annotations

from fastapi import FastAPI

from foundation.app import create_app as create_service_app
from foundation.app import default_resources
from integration_sdk.broker import BrokerResource
from integration_sdk.runtime import outbox_hook
from platform_export.exports.api import router as exports_router
from platform_export.settings import PlatformExportSettings


def create_app(settings: PlatformExportSettings | None = None) -> FastAPI:
    """The platform-export API: stock feeds to ~60 sales platforms; platform orders and tracking."""
    settings = settings or PlatformExportSettings()
    return create_service_app(
        settings,
        title="Atraxion platform-export",
        description="Stock feeds to ~60 sales platforms; platform orders and tracking.",
        routers=[exports_router],
        resources=[*default_resources(settings), BrokerResource(settings)],
        hooks=[outbox_hook()],
    )
