"""Apply by aggregate version: an older event that arrives late never overwrites newer state.

Retries, replays and several relays mean events of one aggregate can arrive out of order. A
projection handler calls ``newer_than_applied`` first, in its transaction: it raises the aggregate's
row in ``applied_version`` to this version if that is higher, and answers whether this version is now
the applied one. Two concurrent deliveries of one aggregate serialise on that row's lock.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.ext.asyncio import AsyncSession

from integration_sdk.outbox import APPLIED_VERSION, utcnow


async def newer_than_applied(session: AsyncSession, stream: str, aggregate_id: str, version: int) -> bool:
    """True (and recorded) when ``version`` is newer than what ``stream`` applied for the aggregate."""
    statement = mysql_insert(APPLIED_VERSION).values(
        stream=stream, aggregate_id=aggregate_id, version=version, applied_at=utcnow()
    )
    # One atomic upsert keeps the highest version and leaves this transaction holding the row lock,
    # so the read below sees the winner among concurrent deliveries of the same aggregate.
    await session.execute(
        statement.on_duplicate_key_update(
            version=sa.func.greatest(APPLIED_VERSION.c.version, statement.inserted.version),
            applied_at=sa.case(
                (statement.inserted.version > APPLIED_VERSION.c.version, statement.inserted.applied_at),
                else_=APPLIED_VERSION.c.applied_at,
            ),
        )
    )
    stored = await session.scalar(
        sa.select(APPLIED_VERSION.c.version).where(
            APPLIED_VERSION.c.stream == stream, APPLIED_VERSION.c.aggregate_id == aggregate_id
        )
    )
    # Equal means this version won (a repeat of the same version is stopped earlier, by the inbox).
    return stored == version
