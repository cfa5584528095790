"""Settings of the webshop island (environment prefix ``WEBSHOP_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from foundation.settings import LOCAL_MYSQL, ServiceSettings


class WebshopSettings(ServiceSettings):
    """Webshop settings; every field can be set as ``WEBSHOP_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="WEBSHOP_", extra="ignore", frozen=True)
    island: ClassVar[str] = "webshop"

    http_port: int = 8001
    worker_port: int = 9001
    db_url: str = f"{LOCAL_MYSQL}/webshop"

    # stock-import's HTTP API: reconcile and rebuild read its aggregates there, never its schema.
    stock_import_url: str = "http://127.0.0.1:8002"
    # stock-import's operator token (its STOCK_IMPORT_OPERATOR_TOKEN); the default only suits a local run.
    stock_import_token: SecretStr = SecretStr("local-operator-token")
    # vehicle-data's HTTP API: the fitment replica is reconciled and rebuilt from its snapshots there.
    vehicle_data_url: str = "http://127.0.0.1:8004"
    # vehicle-data's operator token (its VEHICLE_DATA_OPERATOR_TOKEN); the default only suits a local run.
    vehicle_data_token: SecretStr = SecretStr("local-operator-token")
