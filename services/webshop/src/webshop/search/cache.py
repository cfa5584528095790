"""Redis cache of facet counts, invalidated by a catalogue generation counter.

Facets count the whole filter set (a broad search scans every tyre), so they are the expensive part of a
search; the page itself is an index range. A cached answer is keyed by the generation it was computed
at: the projection handlers bump the generation after each commit that changes ``catalog_article``, so
the next search misses and recounts, and stale entries are simply never read again. The TTL is a
backstop for a bump that was lost (Redis blip after the commit). Redis being down slows search, never
breaks it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from foundation.settings import ServiceSettings

log = logging.getLogger(__name__)

FACET_TTL_S = 60
Facets = dict[str, Any]


def generation_key(settings: ServiceSettings) -> str:
    """The Redis key of the catalogue generation (shared with the projection handlers)."""
    return f"{settings.redis_key_prefix}webshop:catalog-generation"


def facet_key(settings: ServiceSettings, generation: int, fingerprint: str) -> str:
    """The key of one filter set's facets at one generation."""
    return f"{settings.redis_key_prefix}webshop:search-facets:{generation}:{fingerprint}"


async def bump_catalog_generation(redis: Redis, settings: ServiceSettings) -> None:
    """Invalidate every cached search answer; call after committing a change to ``catalog_article``."""
    await redis.incr(generation_key(settings))


async def cached_facets(
    redis: Redis, settings: ServiceSettings, fingerprint: str, compute: Callable[[], Awaitable[Facets]]
) -> Facets:
    """The facets of ``fingerprint`` at the current generation, computed and stored on a miss.

    The generation is read before counting: a change committed meanwhile bumps it, so an answer counted
    from older rows lands under a generation nobody reads any more.
    """
    try:
        generation = int(await redis.get(generation_key(settings)) or 0)
        key = facet_key(settings, generation, fingerprint)
        hit = await redis.get(key)
    except (RedisError, OSError) as exc:
        log.warning("facet cache unavailable, counting without it: %s", exc)
        return await compute()
    if hit is not None:
        cached: Facets = orjson.loads(hit)
        return cached
    facets = await compute()
    try:
        await redis.set(key, orjson.dumps(facets), ex=FACET_TTL_S)
    except (RedisError, OSError) as exc:
        log.warning("facet cache unavailable, answer not stored: %s", exc)
    return facets
