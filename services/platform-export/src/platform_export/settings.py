"""Settings of the platform-export island (environment prefix ``PLATFORM_EXPORT_``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from foundation.settings import LOCAL_MYSQL, ServiceSettings
from integration_sdk.connectors import ConnectorSettings


class PlatformExportSettings(ServiceSettings, ConnectorSettings):
    """Platform-export settings; every field can be set as ``PLATFORM_EXPORT_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="PLATFORM_EXPORT_", extra="ignore", frozen=True)
    island: ClassVar[str] = "platform-export"

    http_port: int = 8003
    worker_port: int = 9003
    db_url: str = f"{LOCAL_MYSQL}/platform_export"

    # Export runs: where file feeds go, rows per page (and per checkpoint), the schedule.
    export_dir: Path = Path("var/platform-export/exports")
    export_page_size: int = 2000
    export_lock_timeout_s: float = 5.0
    export_schedule_enabled: bool = True
    export_schedule_interval_s: float = 60.0
    full_export_interval_s: float = 86_400.0
    # Platform order import: how often, how many per page, at most one request per interval and platform.
    order_import_enabled: bool = True
    orders_poll_interval_s: float = 30.0
    orders_page_size: int = 100
    orders_min_interval_s: float = 0.5
