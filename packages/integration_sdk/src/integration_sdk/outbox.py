"""Transactional outbox: events are rows written in the caller's transaction.

``Outbox.add(session, event)`` inserts the envelope beside the business change, so both commit or
neither does; nothing is published from inside a transaction that may still roll back. After the
commit the relay is woken at once (in-process, and over Redis for relays in other processes), so
freshness is not bounded by a poll interval.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from asgi_correlation_id import correlation_id as correlation_id_var
from redis.asyncio import Redis
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import Envelope
from foundation.cache import cache_key
from foundation.settings import ServiceSettings
from integration_sdk.messaging_schema import OUTBOX_PENDING, messaging_tables

log = logging.getLogger(__name__)

MESSAGING_TABLES = messaging_tables(sa.MetaData())
OUTBOX = MESSAGING_TABLES["outbox_message"]
INBOX = MESSAGING_TABLES["inbox_message"]
DEAD_LETTER = MESSAGING_TABLES["dead_letter"]
APPLIED_VERSION = MESSAGING_TABLES["applied_version"]
OUTBOX_PARTITIONS = 16
_WAKE_FLAG = "outbox_wake_registered"


def partition_of(aggregate_id: str) -> int:
    """Stable partition of an aggregate (crc32, the same in every process and on every machine)."""
    return zlib.crc32(aggregate_id.encode()) % OUTBOX_PARTITIONS


def utcnow() -> datetime:
    """Naive UTC now, as DATETIME(3) columns store it."""
    return datetime.now(UTC).replace(tzinfo=None)


def wake_channel(settings: ServiceSettings) -> str:
    """Redis pub/sub channel that wakes this island's relays."""
    return cache_key(settings, "outbox", "wake")


class Outbox:
    """Writes envelopes into the island's outbox table and wakes the relay after commit."""

    def __init__(self, settings: ServiceSettings, redis: Redis | None = None) -> None:
        self.settings = settings
        self.redis = redis
        self.local_wake = asyncio.Event()  # a relay in this process waits on it

    async def add(
        self,
        session: AsyncSession,
        event: Any,
        *,
        causation_id: str | None = None,
        correlation_id: str | None = None,
    ) -> Envelope:
        """Record ``event`` in the session's transaction; it is published once that commits."""
        envelope = Envelope.wrap(
            event,
            produced_by=self.settings.island,
            correlation_id=correlation_id or correlation_id_var.get() or uuid4().hex,
            causation_id=causation_id,
        )
        await self.add_envelope(session, envelope)
        return envelope

    async def add_many(
        self,
        session: AsyncSession,
        events: Sequence[Any],
        *,
        causation_id: str | None = None,
        correlation_id: str | None = None,
    ) -> list[Envelope]:
        """Record many events of one flow (a bulk import's chunk) with one multi-row insert."""
        correlation_id = correlation_id or correlation_id_var.get() or uuid4().hex
        envelopes = [
            Envelope.wrap(event, produced_by=self.settings.island, correlation_id=correlation_id,
                          causation_id=causation_id)
            for event in events
        ]  # fmt: skip
        await self.add_envelopes(session, envelopes)
        return envelopes

    async def add_envelope(self, session: AsyncSession, envelope: Envelope) -> None:
        """Record a ready-made envelope (replays, forwarding)."""
        await self.add_envelopes(session, [envelope])

    async def add_envelopes(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        """Record ready-made envelopes in the session's transaction, in order."""
        if not envelopes:
            return
        now = utcnow()
        rows = [
            {
                "message_id": str(envelope.message_id),
                "message_type": envelope.message_type,
                "aggregate_id": envelope.aggregate_id,
                "aggregate_version": envelope.aggregate_version,
                "partition_no": partition_of(envelope.aggregate_id),
                "body": envelope.to_bytes(),
                "status": OUTBOX_PENDING,
                "available_at": now,
                "created_at": now,
            }
            for envelope in envelopes
        ]
        # executemany of one cached statement (the driver sends multi-row INSERTs), not a VALUES list
        # compiled anew for every batch size.
        await session.execute(OUTBOX.insert(), rows)
        self._wake_after_commit(session)

    def _wake_after_commit(self, session: AsyncSession) -> None:
        sync_session = session.sync_session
        if sync_session.info.get(_WAKE_FLAG):
            return
        sync_session.info[_WAKE_FLAG] = True

        def after_commit(*_: Any) -> None:
            sync_session.info.pop(_WAKE_FLAG, None)
            self.wake()

        def after_rollback(*_: Any) -> None:
            sync_session.info.pop(_WAKE_FLAG, None)

        sa_event.listen(sync_session, "after_commit", after_commit, once=True)
        sa_event.listen(sync_session, "after_soft_rollback", after_rollback, once=True)

    def wake(self) -> None:
        """Tell relays there is work: this process's at once, others over Redis (best effort)."""
        self.local_wake.set()
        if self.redis is not None:
            task = asyncio.get_running_loop().create_task(self._notify())
            task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    async def _notify(self) -> None:
        try:
            await self.redis.publish(wake_channel(self.settings), b"1")  # type: ignore[union-attr]
        except Exception as exc:  # the relay's fallback poll covers a Redis outage
            log.debug("outbox wake over Redis failed: %s", exc)
