"""Apply by aggregate version: an older event that arrives late never overwrites newer state.

Retries, replays and several relays mean events of one aggregate can arrive out of order. A
projection handler calls ``newer_than_applied`` first, in its transaction: it raises the aggregate's
row in ``applied_version`` to this version if that is higher, and answers whether this version is now
the applied one. Two concurrent deliveries of one aggregate serialise on that row's lock.

State events (each carries the full state) need only "newer wins". Change events (a delta on the
previous version) must apply in unbroken sequence: ``locked_applied_versions`` and ``record_applied``
let a handler check ``version == applied + 1`` itself and wait (retry) for a missing predecessor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import Envelope
from integration_sdk.outbox import APPLIED_VERSION, utcnow

T = TypeVar("T")
E = TypeVar("E")


async def newer_than_applied(session: AsyncSession, stream: str, aggregate_id: str, version: int) -> bool:
    """True (and recorded) when ``version`` is newer than what ``stream`` applied for the aggregate."""
    return aggregate_id in await newest_applied(session, stream, {aggregate_id: version})


async def newest_applied(session: AsyncSession, stream: str, versions: Mapping[str, int]) -> set[str]:
    """Batch form of ``newer_than_applied``: the aggregate ids whose given version is now the applied one.

    Two statements for the whole batch. Rows are written in key order, so concurrent batches lock
    ``applied_version`` rows in the same order and do not deadlock each other.
    """
    if not versions:
        return set()
    now = utcnow()
    ordered = sorted(versions.items())
    statement = mysql_insert(APPLIED_VERSION).values(
        [{"stream": stream, "aggregate_id": aggregate_id, "version": version, "applied_at": now}
         for aggregate_id, version in ordered]
    )  # fmt: skip
    await session.execute(
        statement.on_duplicate_key_update(
            version=sa.func.greatest(APPLIED_VERSION.c.version, statement.inserted.version),
            applied_at=sa.case(
                (statement.inserted.version > APPLIED_VERSION.c.version, statement.inserted.applied_at),
                else_=APPLIED_VERSION.c.applied_at,
            ),
        )
    )
    stored = await session.execute(
        sa.select(APPLIED_VERSION.c.aggregate_id, APPLIED_VERSION.c.version).where(
            APPLIED_VERSION.c.stream == stream, APPLIED_VERSION.c.aggregate_id.in_(list(versions))
        )
    )
    return {aggregate_id for aggregate_id, version in stored if versions.get(aggregate_id) == version}


def latest_per_aggregate(items: Iterable[tuple[str, int, T]]) -> dict[str, tuple[int, T]]:
    """Of several (aggregate id, version, item) in one batch, the newest per aggregate (the rest is superseded)."""
    latest: dict[str, tuple[int, T]] = {}
    for aggregate_id, version, item in items:
        if aggregate_id not in latest or version > latest[aggregate_id][0]:
            latest[aggregate_id] = (version, item)
    return latest


async def newest_events(session: AsyncSession, stream: str, items: Sequence[tuple[E, Envelope]]) -> list[E]:
    """Of a batch of events, those to apply: the newest per aggregate, if newer than what ``stream`` applied."""
    latest = latest_per_aggregate(
        (envelope.aggregate_id, envelope.aggregate_version, event) for event, envelope in items
    )
    winners = await newest_applied(
        session, stream, {aggregate_id: version for aggregate_id, (version, _) in latest.items()}
    )
    return [event for aggregate_id, (_, event) in latest.items() if aggregate_id in winners]


async def locked_applied_versions(session: AsyncSession, stream: str, aggregate_ids: Iterable[str]) -> dict[str, int]:
    """The applied version of each aggregate (0 where none was), locked until the transaction ends.

    For streams of changes that must apply in unbroken sequence (a change only right after its
    predecessor): read here, apply, then ``record_applied``. Locks are taken in key order.
    """
    ordered = sorted(set(aggregate_ids))
    if not ordered:
        return {}
    now = utcnow()
    await session.execute(
        mysql_insert(APPLIED_VERSION).prefix_with("IGNORE"),
        [{"stream": stream, "aggregate_id": aggregate_id, "version": 0, "applied_at": now} for aggregate_id in ordered],
    )
    rows = await session.execute(
        sa.select(APPLIED_VERSION.c.aggregate_id, APPLIED_VERSION.c.version)
        .where(APPLIED_VERSION.c.stream == stream, APPLIED_VERSION.c.aggregate_id.in_(ordered))
        .order_by(APPLIED_VERSION.c.aggregate_id)
        .with_for_update()
    )
    return {row[0]: row[1] for row in rows}


async def record_applied(session: AsyncSession, stream: str, versions: Mapping[str, int]) -> None:
    """Store the versions now applied (rows locked by ``locked_applied_versions``): one statement."""
    if not versions:
        return
    now = utcnow()
    statement = mysql_insert(APPLIED_VERSION).values(
        [{"stream": stream, "aggregate_id": aggregate_id, "version": version, "applied_at": now}
         for aggregate_id, version in sorted(versions.items())]
    )  # fmt: skip
    await session.execute(
        statement.on_duplicate_key_update(version=statement.inserted.version, applied_at=statement.inserted.applied_at)
    )
