"""Transactional outbox: events are rows written in the caller's transaction.

``Outbox.add(session, event)`` inserts the envelope beside the business change, so both commit or
neither does; nothing is published from inside a transaction that may still roll back. After the
commit the relay is woken at once (in-process, and over Redis for relays in other processes), so
freshness is not bounded by a poll interval.

``Outbox.add_from_select`` records one event per row of a query in a single ``INSERT ... SELECT``:
MariaDB writes each envelope with ``JSON_OBJECT`` (bulk imports emit tens of thousands of events per
batch; building and shipping each through Python cost more than the rest of the import). The SQL
envelope has exactly ``Envelope``'s fields (checked when called) and the JSON form of the contract's
fields; a test reads such rows back with ``Envelope.from_bytes`` and the contract registry.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, get_args
from uuid import uuid4

import sqlalchemy as sa
from asgi_correlation_id import correlation_id as correlation_id_var
from redis.asyncio import Redis
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import IDEMPOTENCY_KEY_MAX, Envelope
from contracts.registry import Contract
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

    async def add_from_select(
        self,
        session: AsyncSession,
        contract: type[Contract],
        rows: sa.Select[Any],
        *,
        aggregate_id: str,
        aggregate_version: str,
        correlation_id: str,
        causation_id: str | None = None,
    ) -> int:
        """Record one ``contract`` event per row of ``rows`` in one statement; how many.

        ``rows`` has a column per contract field, labelled with the field's name; ``aggregate_id`` and
        ``aggregate_version`` name the fields ``contract.aggregate_id()`` and ``aggregate_version()``
        return. The events are recorded in aggregate order (id, then version).
        """
        fields = contract.model_fields
        if set(rows.selected_columns.keys()) != set(fields):
            raise ValueError(f"{contract.__name__} needs columns {sorted(fields)}, got {rows.selected_columns.keys()}")
        source = rows.order_by(None).subquery("event")
        # A derived table with UUID() is materialized: each row's id is computed once, used twice.
        numbered = sa.select(sa.func.uuid().label("message_id"), *source.c).subquery("numbered")
        payload = sa.func.json_object(
            *(item for name in fields for item in (sa.literal(name), _json_value(contract, name, numbered.c[name])))
        )
        message_type = sa.literal(contract.message_type)
        agg_id, agg_version = numbered.c[aggregate_id], numbered.c[aggregate_version]
        key = sa.func.concat(message_type, ":", agg_id, ":", agg_version)
        long_key = sa.func.concat(message_type, ":sha256:", sa.func.sha2(key, 256))
        now = utcnow()
        envelope = {
            "message_id": numbered.c.message_id,
            "idempotency_key": sa.case((sa.func.char_length(key) <= IDEMPOTENCY_KEY_MAX, key), else_=long_key),
            "correlation_id": sa.literal(correlation_id),
            "causation_id": sa.literal(causation_id),
            "message_type": message_type,
            "schema_version": sa.literal(contract.schema_version),
            "occurred_at": sa.literal(now.isoformat(timespec="microseconds") + "Z"),
            "produced_by": sa.literal(self.settings.island),
            "aggregate_id": agg_id,
            "aggregate_version": agg_version,
            "payload": payload,
        }
        if set(envelope) != set(Envelope.model_fields):
            raise RuntimeError("the SQL envelope no longer matches contracts.Envelope: update add_from_select")
        body = sa.func.json_object(*(item for name, value in envelope.items() for item in (sa.literal(name), value)))
        insert = OUTBOX.insert().from_select(
            ["message_id", "message_type", "aggregate_id", "aggregate_version", "partition_no", "body", "status",
             "available_at", "created_at"],
            sa.select(numbered.c.message_id, message_type, agg_id, agg_version,
                      sa.func.crc32(agg_id) % OUTBOX_PARTITIONS, body, sa.literal(OUTBOX_PENDING), sa.literal(now),
                      sa.literal(now)).order_by(agg_id, agg_version),
        )  # fmt: skip
        result: Any = await session.execute(insert)
        count = int(result.rowcount)
        if count:
            self._wake_after_commit(session)
        return count

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


def _json_value(contract: type[Contract], name: str, column: Any) -> Any:
    """``column`` as the JSON the contract's field ``name`` takes (text for fixed-point decimals and dates)."""
    info = contract.model_fields[name]
    kinds = {kind for kind in (get_args(info.annotation) or (info.annotation,)) if kind is not type(None)}
    if kinds <= {str, int}:
        return column
    if kinds == {Decimal}:
        places = next(meta.decimal_places for meta in info.metadata if getattr(meta, "decimal_places", None))
        return sa.cast(sa.cast(column, sa.Numeric(65, places)), sa.CHAR)
    if kinds == {date}:
        return sa.func.date_format(column, "%Y-%m-%d")
    raise TypeError(f"{contract.__name__}.{name}: no SQL JSON form for {info.annotation}")
