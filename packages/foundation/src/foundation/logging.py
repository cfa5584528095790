"""JSON logging with the correlation id of the current request or message on every record.

The correlation id lives in one context variable (``asgi_correlation_id.correlation_id``): the HTTP
middleware sets it from ``X-Correlation-ID`` and the message consumer sets it from the envelope, so
one id follows a flow from the storefront through the outbox and the broker into every log line.
"""

from __future__ import annotations

import logging
import sys

from asgi_correlation_id import CorrelationIdFilter
from asgi_correlation_id import correlation_id as correlation_id_var
from pythonjsonlogger.json import JsonFormatter

from foundation.settings import ServiceSettings

__all__ = ["configure_logging", "correlation_id_var"]


class _IslandFilter(logging.Filter):
    def __init__(self, island: str) -> None:
        super().__init__()
        self.island = island

    def filter(self, record: logging.LogRecord) -> bool:
        record.island = self.island
        return True


def configure_logging(settings: ServiceSettings) -> None:
    """Route every logger through one stdout handler, JSON unless ``log_json`` is off."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(CorrelationIdFilter(uuid_length=None, default_value="-"))
    handler.addFilter(_IslandFilter(settings.island))
    fields = "%(asctime)s %(levelname)s %(name)s %(island)s %(correlation_id)s %(message)s"
    if settings.log_json:
        handler.setFormatter(
            JsonFormatter(fields, rename_fields={"levelname": "level", "asctime": "time"}, timestamp=False)
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-5s [%(correlation_id)s] %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)  # the metrics middleware counts requests
