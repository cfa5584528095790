"""Redis client for cache and locks; keys are namespaced by ``redis_key_prefix``."""

from __future__ import annotations

from redis.asyncio import Redis

from foundation.settings import ServiceSettings


def create_redis(settings: ServiceSettings) -> Redis:
    """A pooled Redis client with bounded socket timeouts (no connection until first use)."""
    return Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout_s,
        socket_connect_timeout=settings.redis_timeout_s,
        health_check_interval=30,
        decode_responses=False,
    )


def cache_key(settings: ServiceSettings, *parts: str) -> str:
    """``<prefix><island>:<part>:<part>...``: one place builds every key."""
    return settings.redis_key_prefix + ":".join((settings.island, *parts))
