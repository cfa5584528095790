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
    """The key of one filter set's facets (``Facets`` as JSON) at one generation."""
    return f"{_facets_prefix(settings)}{generation}:{fingerprint}"


def _facets_prefix(settings: ServiceSettings) -> str:
    return f"{settings.redis_key_prefix}webshop:facets:"


async def bump_catalog_generation(redis: Redis, settings: ServiceSettings) -> None:
    """Invalidate every cached search answer; call after committing a change to ``catalog_article``."""
    await redis.incr(generation_key(settings))


# One round trip for a hit: the generation and the answer cached under it. The answer's key is built in
# the script from its prefix (fine on one Redis; a cluster would need both keys in one hash slot).
READ_AT_GENERATION = """
local generation = redis.call('GET', KEYS[1]) or '0'
return {generation, redis.call('GET', ARGV[1] .. generation .. ':' .. ARGV[2])}
"""


async def cached_facets(
    redis: Redis, settings: ServiceSettings, fingerprint: str, compute: Callable[[], Awaitable[Facets]]
) -> bytes:
    """The facets of ``fingerprint`` at the current generation as JSON, computed and stored on a miss.

    The generation is read before counting: a change committed meanwhile bumps it, so an answer counted
    from older rows lands under a generation nobody reads any more. The JSON is handed on as stored, so a
    hit costs no parsing.
    """
    try:
        generation, hit = await redis.eval(
            READ_AT_GENERATION, 1, generation_key(settings), _facets_prefix(settings), fingerprint
        )
    except (RedisError, OSError) as exc:
        log.warning("facet cache unavailable, counting without it: %s", exc)
        return orjson.dumps(await compute())
    if hit:
        return bytes(hit)
    answer = orjson.dumps(await compute())
    try:
        await redis.set(facet_key(settings, int(generation), fingerprint), answer, ex=FACET_TTL_S)
    except (RedisError, OSError) as exc:
        log.warning("facet cache unavailable, answer not stored: %s", exc)
    return answer
