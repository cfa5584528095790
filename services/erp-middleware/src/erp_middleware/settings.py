"""Settings of the erp-middleware island (environment prefix ``ERP_MIDDLEWARE_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from foundation.settings import LOCAL_MYSQL, ServiceSettings
from integration_sdk.connectors import ConnectorSettings


class ErpMiddlewareSettings(ServiceSettings, ConnectorSettings):
    """ERP middleware settings; every field can be set as ``ERP_MIDDLEWARE_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="ERP_MIDDLEWARE_", extra="ignore", frozen=True)
    island: ClassVar[str] = "erp-middleware"

    http_port: int = 8005
    worker_port: int = 9005
    db_url: str = f"{LOCAL_MYSQL}/erp_middleware"

    # The ERP's order API (the simulator in a local run) and how often its status feed is read.
    erp_url: str = "http://127.0.0.1:8910"
    erp_token: SecretStr = SecretStr("local-erp-token")
    erp_status_poll_interval_s: float = 2.0
    erp_status_page_size: int = 500
