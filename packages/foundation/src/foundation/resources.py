"""Resources an app holds for its lifetime (database, Redis, broker ...) and their readiness checks.

A resource is started in the lifespan, checked by ``/health/ready`` and stopped at shutdown. Starting
never fails because a dependency is down: readiness reports it by name instead, and the service
becomes ready when it comes back.
"""

from __future__ import annotations

from typing import Protocol

from redis.asyncio import Redis

from foundation.cache import create_redis
from foundation.db import Database
from foundation.settings import ServiceSettings


class Resource(Protocol):
    """Something with a lifetime and a readiness probe."""

    name: str

    async def start(self) -> None:
        """Acquire (lazily where possible); must not raise when the dependency is down."""

    async def check(self) -> None:
        """Raise if the dependency is not usable right now."""

    async def stop(self) -> None:
        """Release everything; idempotent."""


class DatabaseResource:
    """The island's MariaDB engines (writer + AUTOCOMMIT reader)."""

    name = "database"

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._db: Database | None = None

    @property
    def db(self) -> Database:
        """The running database; only valid between start and stop."""
        if self._db is None:
            raise RuntimeError("database resource is not started")
        return self._db

    async def start(self) -> None:
        """Build the engines; connections open on first use."""
        self._db = Database.from_settings(self.settings)

    async def check(self) -> None:
        """One SELECT 1 round trip."""
        await self.db.check()

    async def stop(self) -> None:
        """Dispose both pools."""
        if self._db is not None:
            await self._db.dispose()
            self._db = None


class RedisResource:
    """The island's Redis client (cache and locks)."""

    name = "redis"

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._redis: Redis | None = None

    @property
    def redis(self) -> Redis:
        """The running client; only valid between start and stop."""
        if self._redis is None:
            raise RuntimeError("redis resource is not started")
        return self._redis

    async def start(self) -> None:
        """Build the client; it connects on first command."""
        self._redis = create_redis(self.settings)

    async def check(self) -> None:
        """PING."""
        await self.redis.ping()

    async def stop(self) -> None:
        """Close the client's pool."""
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
