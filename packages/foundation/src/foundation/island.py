"""How an island describes itself to the operator CLI and to the test harness.

Each service publishes one ``Island`` under the entry-point group ``atraxion.islands``; the CLI finds
them there, so nothing in the shared packages imports service code.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from foundation.settings import ServiceSettings

ENTRY_POINT_GROUP = "atraxion.islands"
# Start order for seeding and `up`: the ERP article master first, consumers of it after.
ISLAND_ORDER = ("erp-middleware", "stock-import", "vehicle-data", "platform-export", "webshop")


@dataclass(frozen=True)
class Island:
    """Name, settings and entry points of one deployable."""

    name: str  # "stock-import": queue names, compose service name
    package: str  # "stock_import": python package, migrations folder
    settings_class: type[ServiceSettings]
    app_factory: str  # "stock_import.app:create_app"
    worker_factory: str  # "stock_import.worker:create_worker_app"
    demo_loader: str | None = None  # "stock_import.demo:load", fed by `atraxion seed`

    def settings(self, **overrides: Any) -> ServiceSettings:
        """The island's settings from the environment, with explicit overrides on top."""
        return self.settings_class(**overrides)

    @property
    def env_prefix(self) -> str:
        """Environment variable prefix of this island's settings, e.g. ``STOCK_IMPORT_``."""
        return str(self.settings_class.model_config.get("env_prefix", ""))


def load(reference: str) -> Any:
    """Import ``module:attribute``."""
    module, _, attribute = reference.partition(":")
    return getattr(import_module(module), attribute)


def discover_islands() -> list[Island]:
    """Every installed island, in start order."""
    found = {ep.name: ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)}
    ordered = [found.pop(name) for name in ISLAND_ORDER if name in found]
    return ordered + [found[name] for name in sorted(found)]
