"""Settings of the erp-middleware island (environment prefix ``ERP_MIDDLEWARE_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from foundation.settings import LOCAL_MYSQL, ServiceSettings


class ErpMiddlewareSettings(ServiceSettings):
    """ERP middleware settings; every field can be set as ``ERP_MIDDLEWARE_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="ERP_MIDDLEWARE_", extra="ignore", frozen=True)
    island: ClassVar[str] = "erp-middleware"

    http_port: int = 8005
    worker_port: int = 9005
    db_url: str = f"{LOCAL_MYSQL}/erp_middleware"
