"""What every webshop projection does once its transaction committed."""

from __future__ import annotations

import time

from contracts import Envelope
from integration_sdk import metrics
from integration_sdk.consumer import BatchContext
from webshop.search.cache import bump_catalog_generation


def after_projection_commit(
    context: BatchContext, projection: str, envelopes: list[Envelope], *, search_changed: bool = True
) -> None:
    """Once committed: record how fresh the projection is and (if search reads it) invalidate the search cache."""

    async def committed() -> None:
        now = time.time()
        histogram = metrics.PROJECTION_FRESHNESS.labels("webshop", projection)
        for envelope in envelopes:
            histogram.observe(max(now - envelope.occurred_at.timestamp(), 0))
        if search_changed and context.redis is not None:  # cached answers hold the generation they were computed at
            await bump_catalog_generation(context.redis, context.outbox.settings)

    context.after_commit(committed)
