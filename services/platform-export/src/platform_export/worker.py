"""The platform-export worker process: the outbox relay, the island's consumers and its DLQ archive, the
export schedule and the platform order import.

It runs as its own process (``uvicorn --factory platform_export.worker:create_worker_app``) and serves only the
operational endpoints (health, metrics) on ``worker_port``.
"""

from __future__ import annotations

from fastapi import FastAPI

from foundation.app import create_app as create_service_app
from foundation.app import default_resources
from integration_sdk.broker import BrokerResource
from integration_sdk.consumer import Exclusive
from integration_sdk.runtime import MessagingSpec, messaging_hook, periodic_hook
from integration_sdk.topology import BULK, HIGH_PRIORITY
from platform_export import replica
from platform_export.connectors import PlatformConnectors
from platform_export.exports.schedule import schedule_job
from platform_export.settings import PlatformExportSettings


def create_worker_app(settings: PlatformExportSettings | None = None) -> FastAPI:
    """The worker: consumers of the island's queues, export schedule, order import, with health and metrics."""
    settings = settings or PlatformExportSettings()
    partners = PlatformConnectors(settings)
    # Handlers by work queue and message type; the bindings are in integration_sdk.topology.SUBSCRIPTIONS.
    # An export run holds three connections at once: the inbox's, its platform lock's and its own writes'.
    exports = Exclusive(partners.exports.handle, connections=3)
    messaging = MessagingSpec(handlers={
        BULK: {**replica.HANDLERS, "platform.export.requested": exports},
        HIGH_PRIORITY: partners.pusher.handlers(),
    })  # fmt: skip
    return create_service_app(
        settings,
        title="Atraxion platform-export worker",
        resources=[*default_resources(settings), BrokerResource(settings)],
        hooks=[
            partners.lifespan(),
            messaging_hook(messaging),
            periodic_hook(
                "export-schedule",
                settings.export_schedule_interval_s,
                schedule_job(settings),
                enabled=settings.export_schedule_enabled,
            ),
            periodic_hook(
                "platform-order-import",
                settings.orders_poll_interval_s,
                partners.importer.job,
                enabled=settings.order_import_enabled,
            ),
        ],  # fmt: skip
    )
