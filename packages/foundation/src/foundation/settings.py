"""Service settings: one pydantic-settings model per island, each with its own env prefix.

Every URL, pool size and timeout is configurable by environment, e.g. ``WEBSHOP_DB_URL``,
``STOCK_IMPORT_DB_POOL_SIZE``. Defaults point at the local services on 127.0.0.1.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_MYSQL = "mysql+asyncmy://root:@127.0.0.1:3306"


class ServiceSettings(BaseSettings):
    """Settings every island shares; subclasses set ``env_prefix`` and their defaults."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    island: ClassVar[str] = ""

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    worker_port: int = 9000
    environment: str = "local"

    # MariaDB: one schema (database) per island.
    db_url: str = f"{LOCAL_MYSQL}/atraxion"
    db_pool_size: int = 10
    db_max_overflow: int = 5
    db_read_pool_size: int = 10
    db_pool_timeout_s: float = 5.0
    db_connect_timeout_s: int = 5
    # A statement running longer is aborted by the server and its connection discarded.
    db_statement_timeout_s: float = 15.0
    db_pool_recycle_s: int = 1800
    # A pooled connection idle longer than this is pinged before it is handed out (a dropped one is
    # replaced); one used more recently is handed out as it is, saving a round trip per request.
    db_ping_after_idle_s: float = 1.0
    # LOAD DATA LOCAL INFILE on the writer engine (bulk loads into staging tables); the server must
    # allow it too (MariaDB's local_infile, on by default). Only files a task allows are ever sent.
    db_local_infile: bool = False

    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    # Prefix for exchange and queue names: lets test runs share one broker without colliding.
    broker_namespace: str = ""
    broker_prefetch: int = 200
    consumer_batch_max: int = 100  # deliveries applied in one transaction (one commit per batch)
    # Messaging: retry tiers (seconds) and attempts before the DLQ; outbox relay and retention.
    retry_tiers_s: tuple[float, ...] = (15.0, 60.0, 300.0, 900.0, 1800.0)
    max_attempts: int = 5
    outbox_batch_size: int = 500
    outbox_poll_interval_s: float = 1.0
    outbox_max_publish_attempts: int = 10
    outbox_retry_base_s: float = 1.0  # publish backoff: base * 2^attempt, at most 300 s
    outbox_retention_s: int = 3600
    inbox_retention_days: int = 14

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_key_prefix: str = ""
    redis_timeout_s: float = 2.0

    sentry_dsn: str | None = None
    sentry_traces_sample_rate: float = 0.0

    log_level: str = "INFO"
    log_json: bool = True

    # Tenant label on HTTP metrics: taken from the header, kept only if in this bounded list.
    tenant_header: str = "X-Tenant"
    tenants: list[str] = ["default"]

    # Bearer token of operators (and other islands' jobs) on an island's operator API. The default only
    # suits a local run: set a real one everywhere else.
    operator_token: SecretStr = SecretStr("local-operator-token")

    readiness_timeout_s: float = 2.0
    shutdown_timeout_s: float = 15.0

    @property
    def db_schema(self) -> str:
        """The database (schema) name this island owns, taken from ``db_url``."""
        return self.db_url.rsplit("/", 1)[-1].split("?", 1)[0]

    @property
    def db_server_url(self) -> str:
        """``db_url`` without the schema: for creating/dropping the schema itself."""
        return self.db_url.rsplit("/", 1)[0] + "/"
