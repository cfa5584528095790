"""Pytest plugin for tests against the real MariaDB, RabbitMQ and Redis.

Every test run gets its own namespace (``t<run>_``): schemas ``t<run>_webshop`` ..., broker names and
Redis keys prefixed with it. Migrations run once per run; the namespace is dropped at the end.
Registered from the root ``conftest.py``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from foundation.db import drop_schema
from foundation.island import Island, discover_islands
from foundation.settings import ServiceSettings
from integration_sdk.migrations import upgrade

ISLANDS: dict[str, Island] = {island.name: island for island in discover_islands()}


def island_settings(island_name: str, namespace: str, **overrides: Any) -> ServiceSettings:
    """Settings of ``island_name`` with schema, broker names and Redis keys in ``namespace``."""
    island = ISLANDS[island_name]
    default = island.settings_class()
    values: dict[str, Any] = {
        "db_url": f"{default.db_server_url}{namespace}{default.db_schema}",
        "broker_namespace": namespace,
        "redis_key_prefix": namespace,
        "log_json": False,
    }
    values.update(overrides)
    return island.settings(**values)


@pytest.fixture(scope="session")
def test_namespace() -> str:
    """A prefix unique to this test run."""
    return os.environ.get("ATRAXION_TEST_NAMESPACE") or f"t{secrets.token_hex(3)}_"


@pytest.fixture(scope="session")
async def migrated_islands(test_namespace: str) -> AsyncIterator[dict[str, ServiceSettings]]:
    """Every island's schema migrated to head in this run's namespace; dropped afterwards."""
    settings = {name: island_settings(name, test_namespace) for name in ISLANDS}
    for name, island in ISLANDS.items():
        await upgrade(island, settings[name])
    yield settings
    if not os.environ.get("ATRAXION_KEEP_TEST_SCHEMAS"):
        for island_settings_ in settings.values():
            await drop_schema(island_settings_)


async def truncate_tables(settings: ServiceSettings, *tables: str) -> None:
    """Empty the given tables (or every table but alembic_version) of one island's schema."""
    engine = create_async_engine(settings.db_url)
    try:
        async with engine.begin() as conn:
            if not tables:
                rows = await conn.execute(
                    text(
                        "SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = :schema AND table_name <> 'alembic_version'"
                    ),
                    {"schema": settings.db_schema},
                )
                tables = tuple(row[0] for row in rows)
            await conn.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
            for table in tables:
                await conn.execute(text(f"TRUNCATE TABLE `{table}`"))
            await conn.execute(text("SET FOREIGN_KEY_CHECKS = 1"))
    finally:
        await engine.dispose()


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run ``app``'s lifespan and give an HTTP client talking to it in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://island.test") as client:
            yield client


async def wait_until_ready(client: httpx.AsyncClient, timeout_s: float = 10) -> httpx.Response:
    """Poll ``/health/ready`` until 200 (the broker connects in the background); the last answer."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        response = await client.get("/health/ready")
        if response.status_code == 200 or asyncio.get_running_loop().time() > deadline:
            return response
        await asyncio.sleep(0.1)


async def delete_broker_namespace(settings: ServiceSettings) -> None:
    """Delete the exchange and every queue of every island declared under ``settings.broker_namespace``."""
    import aio_pika

    from integration_sdk.topology import BULK, DLQ, HIGH_PRIORITY, exchange_name, queue_name, retry_queue_name

    namespace = settings.broker_namespace
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        for island in ISLANDS:
            for queue_class in (HIGH_PRIORITY, BULK, DLQ):
                work_queue = queue_name(island, queue_class, namespace)
                names = [work_queue, *(retry_queue_name(work_queue, tier) for tier in settings.retry_tiers_s)]
                for name in names:
                    await channel.queue_delete(name)
        await channel.exchange_delete(exchange_name(namespace))


SHORT_RETRY_TIERS = (0.2, 0.4, 0.6, 0.8, 1.0)


def live_settings(migrated: dict[str, ServiceSettings], **overrides: Any) -> dict[str, ServiceSettings]:
    """Every island's settings for a live test: a broker namespace of its own, short retry tiers, fast relays.

    ``overrides`` maps an island name to the fields it changes (``{"webshop": {...}}``).
    """
    namespace = f"{next(iter(migrated.values())).broker_namespace}{secrets.token_hex(2)}_"
    common = {"broker_namespace": namespace, "outbox_poll_interval_s": 0.2, "retry_tiers_s": SHORT_RETRY_TIERS}
    return {name: base.model_copy(update={**common, **overrides.get(name, {})}) for name, base in migrated.items()}


async def eventually(check: Any, timeout_s: float = 20, interval_s: float = 0.1) -> Any:
    """Await ``check()`` until it returns something truthy (returned), or fail with its last value."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not reached within {timeout_s}s; last: {result!r}")
        await asyncio.sleep(interval_s)


async def replay_letters(settings: ServiceSettings, selection: Any) -> list[int]:
    """Replay the island's archived dead letters matching ``selection`` (as ``atraxion queue replay`` does)."""
    import uuid

    import aio_pika

    from foundation.db import create_engine
    from integration_sdk.dead_letters import replay_dead_letters

    engine = create_engine(settings)
    connection = await aio_pika.connect(settings.amqp_url)
    try:
        return await replay_dead_letters(engine, connection, selection, replay_correlation_id=uuid.uuid4().hex)
    finally:
        await connection.close()
        await engine.dispose()
