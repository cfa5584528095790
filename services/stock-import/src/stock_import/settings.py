"""Settings of the stock-import island (environment prefix ``STOCK_IMPORT_``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from foundation.settings import LOCAL_MYSQL, ServiceSettings


class StockImportSettings(ServiceSettings):
    """Stock-import settings; every field can be set as ``STOCK_IMPORT_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="STOCK_IMPORT_", extra="ignore", frozen=True)
    island: ClassVar[str] = "stock-import"

    http_port: int = 8002
    worker_port: int = 9002
    db_url: str = f"{LOCAL_MYSQL}/stock_import"
    # Feeds stream into staging tables with LOAD DATA LOCAL INFILE (the import's own files only).
    db_local_infile: bool = True

    # Received feeds, one folder per batch; shared by the API (writes) and the workers (read): a shared
    # volume when they run on different hosts.
    feed_store_dir: Path = Path("var/stock-import/feeds")
    # Suppliers (or an SFTP server) drop files into <dir>/<supplier_id>/full/ or .../delta/.
    feed_drop_dir: Path = Path("var/stock-import/drop")
    drop_poll_interval_s: float = 2.0
    # Bearer token of operators and supplier integrations for uploads and batch reports. The default
    # only suits a local run: set a real one everywhere else.
    operator_token: SecretStr = SecretStr("local-operator-token")
    max_upload_bytes: int = 200 * 1024 * 1024
