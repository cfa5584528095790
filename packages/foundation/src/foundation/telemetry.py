"""Prometheus HTTP metrics and Sentry.

Labels stay bounded: the route is the matched template (``/products/{article_number}``, never the
raw path), unmatched paths share one label, and the tenant comes from a configured list.
"""

from __future__ import annotations

import time
from typing import Any

import sentry_sdk
from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from foundation.settings import ServiceSettings

LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.015,
    0.025,
    0.05,
    0.1,
    0.2,
    0.25,
    0.3,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by island, route template, method, status class and tenant.",
    ["island", "route", "method", "status", "tenant"],
    buckets=LATENCY_BUCKETS,
)
UNMATCHED_ROUTE = "<unmatched>"
OTHER_TENANT = "other"


class HttpMetricsMiddleware:
    """Pure ASGI middleware: observes latency once the response has been sent."""

    def __init__(self, app: ASGIApp, settings: ServiceSettings) -> None:
        self.app = app
        self.island = settings.island
        self.tenant_header = settings.tenant_header.lower().encode()
        self.tenants = frozenset(settings.tenants)
        self.default_tenant = settings.tenants[0] if settings.tenants else OTHER_TENANT

    def _tenant(self, scope: Scope) -> str:
        for name, value in scope.get("headers", ()):
            if name == self.tenant_header:
                tenant = value.decode("latin-1")
                return tenant if tenant in self.tenants else OTHER_TENANT
        return self.default_tenant

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED_ROUTE
            HTTP_LATENCY.labels(
                self.island, template, scope["method"], f"{status // 100}xx", self._tenant(scope)
            ).observe(time.perf_counter() - started)


def init_sentry(settings: ServiceSettings, **extra: Any) -> bool:
    """Start Sentry when a DSN is configured; without one, nothing is sent (returns False)."""
    if not settings.sentry_dsn:
        return False
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.environment,
        traces_sample_rate=settings.sentry_traces_sample_rate,
        server_name=settings.island,
        **extra,
    )
    sentry_sdk.set_tag("island", settings.island)
    return True
