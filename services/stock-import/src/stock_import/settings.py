"""Settings of the stock-import island (environment prefix ``STOCK_IMPORT_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from foundation.settings import LOCAL_MYSQL, ServiceSettings


class StockImportSettings(ServiceSettings):
    """Stock-import settings; every field can be set as ``STOCK_IMPORT_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="STOCK_IMPORT_", extra="ignore", frozen=True)
    island: ClassVar[str] = "stock-import"

    http_port: int = 8002
    worker_port: int = 9002
    db_url: str = f"{LOCAL_MYSQL}/stock_import"
