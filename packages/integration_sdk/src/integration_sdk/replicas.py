"""Batched handlers that keep a replica table of another island's aggregates, applied by version.

``versioned_upsert`` writes the newest state of each aggregate in a batch (one multi-row upsert);
``versioned_delete`` removes aggregates that ended (e.g. a discontinued article). Both check versions
on the ``applied_version`` stream, so a late or replayed older event never wins; upserts and deletes
of one aggregate must share the stream.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import Envelope
from foundation.bulk import upsert
from integration_sdk.consumer import BatchContext, Batched
from integration_sdk.versioning import newest_events


def versioned_upsert(
    table: sa.Table, stream: str, to_row: Callable[[Any], dict[str, Any]], update: Iterable[str] | None = None
) -> Batched:
    """Upsert ``to_row(event)`` for the newest event per aggregate (``update``: columns it owns)."""
    columns = None if update is None else list(update)

    async def apply(items: list[tuple[Any, Envelope]], context: BatchContext) -> None:
        events = await newest_events(context.session, stream, items)
        await upsert(context.session, table, [to_row(event) for event in events], columns)

    return Batched(apply)


def versioned_delete(
    table: sa.Table,
    stream: str,
    key: str = "article_number",
    also: Callable[[AsyncSession, list[str]], Awaitable[None]] | None = None,
) -> Batched:
    """Delete the rows of aggregates whose ending event is the newest applied (``also``: what else their
    end changes, in the same transaction)."""

    async def apply(items: list[tuple[Any, Envelope]], context: BatchContext) -> None:
        events = await newest_events(context.session, stream, items)
        if events:
            ids = [event.aggregate_id() for event in events]
            await context.session.execute(sa.delete(table).where(table.c[key].in_(ids)))
            if also is not None:
                await also(context.session, ids)

    return Batched(apply)
