"""platform-export's partner connectors (feeds, orders, tracking: one circuit per platform each) and the
jobs and handlers built on them, created once per worker process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from foundation.app import LifespanHook
from integration_sdk.connectors import Connector
from platform_export.exports.runs import ExportRunner
from platform_export.orders.importer import OrderImporter
from platform_export.orders.tracking import TrackingPusher
from platform_export.settings import PlatformExportSettings


class PlatformConnectors:
    """The connectors and what uses them."""

    def __init__(self, settings: PlatformExportSettings) -> None:
        policy = settings.connector_policy()
        self.feeds = Connector("platform-feed", policy)
        self.orders = Connector("platform-orders", policy)
        self.tracking = Connector("platform-tracking", policy)
        self.exports = ExportRunner(settings, self.feeds)
        self.importer = OrderImporter(settings, self.orders)
        self.pusher = TrackingPusher(self.tracking)

    def lifespan(self) -> LifespanHook:
        """Give the export runner the worker's database; close the HTTP clients at shutdown."""

        @asynccontextmanager
        async def hook(app: FastAPI) -> AsyncIterator[None]:
            self.exports.db = app.state.resources["database"].db
            try:
                yield
            finally:
                for connector in (self.feeds, self.orders, self.tracking):
                    await connector.aclose()

        return hook
