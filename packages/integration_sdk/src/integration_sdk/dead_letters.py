"""The DLQ archive and replay.

A DLQ consumer moves every dead letter into the island's ``dead_letter`` table (queue, scope id,
event type, error, attempts, first and last failure, the original body and headers), so operators
can list, inspect and replay them by queue, time window and scope with SQL-backed filters, which a
broker queue cannot offer. Replay republishes exactly the selected letters onto the queue they
failed on, with their original body (same idempotency key): the inbox makes a second replay harmless.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aio_pika
import sqlalchemy as sa
from aio_pika.abc import AbstractIncomingMessage
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from foundation.settings import ServiceSettings
from integration_sdk import metrics
from integration_sdk.consumer import ENQUEUED_AT, RETRY_HEADERS, ChannelConsumer, header_text
from integration_sdk.outbox import DEAD_LETTER, utcnow
from integration_sdk.topology import DLQ, queue_name

log = logging.getLogger(__name__)
REPLAYED = "replayed"
DEAD = "dead"


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=None) if value else utcnow()


def _plain(value: Any) -> Any:
    """Headers as JSON-safe values."""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class DeadLetterArchiver(ChannelConsumer):
    """Consumes ``<island>.dlq`` into the ``dead_letter`` table."""

    prefetch = 100

    def __init__(self, settings: ServiceSettings, engine: AsyncEngine) -> None:
        self.settings = settings
        self.engine = engine
        self.queue = queue_name(settings.island, DLQ, settings.broker_namespace)

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        """Archive one dead letter (idempotent on its dead-letter id), then ack."""
        headers = {k: _plain(v) for k, v in (message.headers or {}).items()}
        dead_letter_id = header_text(headers, "x-dead-letter-id") or str(uuid.uuid4())
        async with self.engine.begin() as conn:
            await conn.execute(
                mysql_insert(DEAD_LETTER)
                .prefix_with("IGNORE")
                .values(
                    dead_letter_id=dead_letter_id,
                    queue=header_text(headers, "x-original-queue", "unknown"),
                    scope_id=header_text(headers, "x-scope-id", "unknown")[:100],
                    message_type=header_text(headers, "x-message-type", message.type or "unknown"),
                    message_id=message.message_id or "",
                    error_class=header_text(headers, "x-error-class", "unknown"),
                    error_message=header_text(headers, "x-error-message"),
                    attempts=int(headers.get("x-attempts", 1)),
                    first_failed_at=_parse_time(header_text(headers, "x-first-failed-at")),
                    last_failed_at=_parse_time(header_text(headers, "x-last-failed-at")),
                    headers=headers,
                    body=message.body,
                    status=DEAD,
                    archived_at=utcnow(),
                )
            )
            depth = await conn.scalar(sa.select(sa.func.count()).where(DEAD_LETTER.c.status == DEAD))
        await message.ack()
        metrics.DLQ_DEPTH.labels(self.settings.island).set(depth or 0)


@dataclass(frozen=True)
class DeadLetterFilter:
    """Which letters: by the queue they failed on, a failure time window and a scope (aggregate) id."""

    queue: str | None = None
    failed_from: datetime | None = None
    failed_to: datetime | None = None
    scope_id: str | None = None
    include_replayed: bool = False

    def where(self) -> list[sa.ColumnElement[bool]]:
        """SQL conditions."""
        conditions: list[sa.ColumnElement[bool]] = []
        if self.queue:
            conditions.append(DEAD_LETTER.c.queue == self.queue)
        if self.failed_from:
            conditions.append(DEAD_LETTER.c.last_failed_at >= self.failed_from)
        if self.failed_to:
            conditions.append(DEAD_LETTER.c.last_failed_at <= self.failed_to)
        if self.scope_id:
            conditions.append(DEAD_LETTER.c.scope_id == self.scope_id)
        if not self.include_replayed:
            conditions.append(DEAD_LETTER.c.status == DEAD)
        return conditions


LIST_COLUMNS = (
    DEAD_LETTER.c.id, DEAD_LETTER.c.queue, DEAD_LETTER.c.scope_id, DEAD_LETTER.c.message_type,
    DEAD_LETTER.c.error_class, DEAD_LETTER.c.error_message, DEAD_LETTER.c.attempts,
    DEAD_LETTER.c.first_failed_at, DEAD_LETTER.c.last_failed_at, DEAD_LETTER.c.status, DEAD_LETTER.c.replay_count,
)  # fmt: skip


async def list_dead_letters(engine: AsyncEngine, selection: DeadLetterFilter, limit: int = 100) -> Sequence[Any]:
    """Dead letters matching the filter, newest failure first."""
    async with engine.connect() as conn:
        query = sa.select(*LIST_COLUMNS).where(*selection.where()).order_by(DEAD_LETTER.c.last_failed_at.desc())
        return (await conn.execute(query.limit(limit))).all()


async def show_dead_letter(engine: AsyncEngine, letter_id: int) -> Any | None:
    """One dead letter with its headers and body."""
    async with engine.connect() as conn:
        return (await conn.execute(sa.select(DEAD_LETTER).where(DEAD_LETTER.c.id == letter_id))).one_or_none()


async def replay_dead_letters(
    engine: AsyncEngine,
    connection: aio_pika.abc.AbstractConnection,
    selection: DeadLetterFilter,
    *,
    replay_correlation_id: str,
    dry_run: bool = False,
) -> list[int]:
    """Republish exactly the selected letters onto the queues they failed on; returns their ids."""
    async with engine.connect() as conn:
        letters = (
            await conn.execute(sa.select(DEAD_LETTER).where(*selection.where()).order_by(DEAD_LETTER.c.id))
        ).all()
    if dry_run or not letters:
        return [letter.id for letter in letters]
    channel = await connection.channel(publisher_confirms=True)
    replayed: list[int] = []
    try:
        for letter in letters:
            headers = {
                k: v for k, v in dict(letter.headers).items() if k not in RETRY_HEADERS and not k.startswith("x-error")
            }
            headers |= {"x-replay-of": letter.dead_letter_id, "x-replay-correlation-id": replay_correlation_id,
                        ENQUEUED_AT: time.time()}  # fmt: skip
            await channel.default_exchange.publish(
                aio_pika.Message(
                    body=letter.body,
                    headers=headers,
                    message_id=letter.message_id,
                    type=letter.message_type,
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),  # fmt: skip
                routing_key=letter.queue,
                timeout=10,
            )
            # Marked one by one after its confirm: an interrupted replay leaves an exact record.
            async with engine.begin() as conn:
                await conn.execute(
                    DEAD_LETTER.update()
                    .where(DEAD_LETTER.c.id == letter.id)
                    .values(
                        status=REPLAYED,
                        replayed_at=utcnow(),
                        replay_correlation_id=replay_correlation_id,
                        replay_count=DEAD_LETTER.c.replay_count + 1,
                    )  # fmt: skip
                )
            replayed.append(letter.id)
    finally:
        await channel.close()
    log.info("replayed %d dead letter(s) (replay %s)", len(replayed), replay_correlation_id)
    return replayed


def describe(letter: Any) -> dict[str, Any]:
    """A dead letter as a JSON-friendly dict (for `queue dlq show`)."""
    body = letter.body.decode(errors="replace")
    try:
        parsed: Any = json.loads(body)
    except ValueError:
        parsed = body
    return {
        "id": letter.id, "queue": letter.queue, "scope_id": letter.scope_id, "message_type": letter.message_type,
        "error": f"{letter.error_class}: {letter.error_message}", "attempts": letter.attempts,
        "first_failed_at": letter.first_failed_at.isoformat(), "last_failed_at": letter.last_failed_at.isoformat(),
        "status": letter.status, "replay_count": letter.replay_count, "headers": letter.headers, "message": parsed,
    }  # fmt: skip
