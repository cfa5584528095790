"""Settings of the platform-export island (environment prefix ``PLATFORM_EXPORT_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from foundation.settings import LOCAL_MYSQL, ServiceSettings


class PlatformExportSettings(ServiceSettings):
    """Platform-export settings; every field can be set as ``PLATFORM_EXPORT_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="PLATFORM_EXPORT_", extra="ignore", frozen=True)
    island: ClassVar[str] = "platform-export"

    http_port: int = 8003
    worker_port: int = 9003
    db_url: str = f"{LOCAL_MYSQL}/platform_export"
