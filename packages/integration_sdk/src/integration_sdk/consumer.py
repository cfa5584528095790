"""The consumer wrapper: every message is applied once, in one transaction, or parked for an operator.

For each delivery:

1. The envelope is parsed; a contract error (bad payload, unknown type or major version) is permanent.
2. Deliveries that are ready are applied in batches (up to ``consumer_batch_max``) in one DB
   transaction, each inside its own SAVEPOINT: insert (consumer, idempotency key) into the inbox and,
   unless the key was there already (a duplicate: acked, counted, not applied), run the handler (which
   only flushes; events it emits go to the outbox in that transaction). One commit (one log flush) per
   batch instead of one per message; a failing handler undoes only its own savepoint.
3. Every delivery of a batch is acked only after that commit. A crash before the ack means a
   redelivery, which the inbox turns into a counted duplicate.
4. A failed handler's delivery is handled on its own (its savepoint was rolled back). Transient
   errors go to the next retry tier (a static queue whose TTL dead-letters back onto the work queue)
   with the attempt history in the headers, then the delivery is acked; after ``max_attempts`` or on a
   permanent error the original body and headers go to the island's DLQ with the error and the history.
   The database or broker being unreachable, or the batch's transaction dying (deadlock), is neither:
   the batch is run again at once (twice), then requeued after a pause, without spending an attempt.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika
import sentry_sdk
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection
from asgi_correlation_id import correlation_id as correlation_id_var
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.envelope import Envelope
from contracts.registry import ContractError, open_envelope
from foundation.settings import ServiceSettings
from integration_sdk import metrics
from integration_sdk.errors import PermanentError, TransientError
from integration_sdk.outbox import INBOX, Outbox, utcnow
from integration_sdk.topology import DLQ, queue_name, retry_queue_name, tier_for, tier_label

log = logging.getLogger(__name__)

ATTEMPT = "x-attempt"
HISTORY = "x-attempt-history"
ORIGINAL_QUEUE = "x-original-queue"
ENQUEUED_AT = "x-enqueued-at"
# Headers of one delivery's retry journey (ours and the broker's dead-lettering): reset on replay.
RETRY_HEADERS = (
    ATTEMPT, HISTORY, ENQUEUED_AT, "x-death", "x-first-death-exchange", "x-first-death-queue",
    "x-first-death-reason", "x-last-death-exchange", "x-last-death-queue", "x-last-death-reason",
)  # fmt: skip


@dataclass(frozen=True)
class MessageContext:
    """What a handler gets beside the event: its transaction and the envelope it came in."""

    session: AsyncSession
    envelope: Envelope
    outbox: Outbox

    async def publish(self, event: Any) -> Envelope:
        """Emit a follow-up event in this transaction, caused by the message being handled."""
        return await self.outbox.add(
            self.session,
            event,
            causation_id=str(self.envelope.message_id),
            correlation_id=self.envelope.correlation_id,
        )


Handler = Callable[[Any, MessageContext], Awaitable[None]]


@dataclass(frozen=True)
class Delivery:
    """A parsed delivery waiting for its batch."""

    message: AbstractIncomingMessage
    envelope: Envelope
    attempt: int
    enqueued_at: float


def header_text(headers: Mapping[str, Any], name: str, default: str = "") -> str:
    """A header as text (AMQP may hand strings back as bytes)."""
    value = headers.get(name, default)
    return value.decode() if isinstance(value, bytes) else str(value)


def attempt_history(headers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The attempts so far, as recorded in the headers."""
    raw = header_text(headers, HISTORY, "[]")
    history: list[dict[str, Any]] = json.loads(raw)
    return history


# Lock wait timeout, deadlock, and "savepoint does not exist": InnoDB rolled the whole transaction back
# (a deadlock inside a batch surfaces as the failed rollback to the savepoint). Running again is safe.
DEADLOCK_CODES = {1205, 1213, 1305}
# can't connect, server gone away, lost connection, connection killed
CONNECTION_CODES = {2002, 2003, 2006, 2013, 1927}


def _mysql_code(exc: DBAPIError) -> int | None:
    args = getattr(exc.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _is_infrastructure_outage(exc: BaseException) -> bool:
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or _mysql_code(exc) in CONNECTION_CODES | DEADLOCK_CODES
    return isinstance(exc, ConnectionError | OSError)


class ChannelConsumer:
    """Consumes one queue on a channel of its own (restored, with its consumer, after a reconnect)."""

    queue: str
    prefetch: int
    publisher_confirms = False  # on where the consumer publishes (retries, dead letters)
    _channel: AbstractChannel | None = None

    async def start(self, connection: AbstractRobustConnection) -> None:
        """Open the channel with its prefetch and start consuming."""
        self._channel = await connection.channel(publisher_confirms=self.publisher_confirms)
        await self._channel.set_qos(prefetch_count=self.prefetch)
        queue = await self._channel.get_queue(self.queue, ensure=True)
        await queue.consume(self.on_message)

    async def stop(self) -> None:
        """Close the channel: unacked deliveries return to the queue."""
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        """Handle one delivery."""
        raise NotImplementedError


class Consumer(ChannelConsumer):
    """Consumes one work queue of an island with inbox, retry tiers and DLQ."""

    publisher_confirms = True

    def __init__(
        self,
        *,
        settings: ServiceSettings,
        queue_class: str,
        handlers: Mapping[str, Handler],
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        max_attempts: int | None = None,
        name: str | None = None,
    ) -> None:
        self.settings = settings
        self.island = settings.island
        self.queue = queue_name(settings.island, queue_class, settings.broker_namespace)
        self.queue_label = f"{settings.island}.{queue_class}"
        self.name = name or self.queue_label  # the inbox's consumer column
        self.handlers = dict(handlers)
        self.sessions = sessions
        self.outbox = outbox
        self.max_attempts = max_attempts or settings.max_attempts
        self.prefetch = settings.broker_prefetch
        self.batch_max = max(1, settings.consumer_batch_max)
        # Prefetch keeps deliveries ready; the pool bounds how many transactions run at once, so a
        # delivery never times out waiting for a connection (which would wrongly spend an attempt).
        self._slots = asyncio.Semaphore(max(1, settings.db_pool_size))
        self._max_drainers = max(1, settings.db_pool_size)
        self._pending: list[Delivery] = []
        self._drainers = 0
        self._drain_tasks: set[asyncio.Task[None]] = set()

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        """Queue one delivery for the next batch (see the module docstring)."""
        started = time.time()
        headers = dict(message.headers or {})
        attempt = int(header_text(headers, ATTEMPT, "1"))
        enqueued_at = float(header_text(headers, ENQUEUED_AT, str(started)))
        metrics.QUEUE_WAIT.labels(self.island, self.queue_label).observe(max(started - enqueued_at, 0))
        try:
            envelope = Envelope.from_bytes(message.body)
        except ContractError as exc:
            await self._dead_letter(
                message, exc, attempt, scope_id="unparseable", message_type=message.type or "unknown"
            )
            return
        self._pending.append(Delivery(message, envelope, attempt, enqueued_at))
        if self._drainers == 0 or (len(self._pending) >= self.batch_max and self._drainers < self._max_drainers):
            self._drainers += 1
            task = asyncio.create_task(self._drain(), name=f"{self.queue_label}-drain")
            self._drain_tasks.add(task)
            task.add_done_callback(self._drain_tasks.discard)

    async def stop(self) -> None:
        """Let batches in flight commit and ack (bounded), then close the channel."""
        if self._drain_tasks:
            await asyncio.wait(self._drain_tasks, timeout=self.settings.shutdown_timeout_s)
        await super().stop()

    async def _drain(self) -> None:
        """Apply pending deliveries batch by batch until none are left."""
        try:
            while self._pending:
                batch, self._pending = self._pending[: self.batch_max], self._pending[self.batch_max :]
                try:
                    outcomes = await self.apply_batch([delivery.envelope for delivery in batch])
                except Exception as exc:  # the transaction itself failed: nothing of the batch was committed
                    await asyncio.gather(*(self._handle_failure(d.message, d.envelope, exc, d.attempt) for d in batch))
                    continue
                for delivery, outcome in zip(batch, outcomes, strict=True):
                    if isinstance(outcome, Exception):
                        await self._handle_failure(delivery.message, delivery.envelope, outcome, delivery.attempt)
                    else:
                        await self._acked(delivery, outcome)
        finally:
            self._drainers -= 1

    async def apply_batch(self, envelopes: list[Envelope]) -> list[bool | Exception]:
        """Apply envelopes in one transaction; per envelope True, False (duplicate) or its handler's error.

        Each envelope runs inside its own SAVEPOINT, so a failing handler undoes only its own work and
        every handler runs once per attempt. A deadlock or lost connection ends the whole transaction:
        the batch is retried at once (twice), then the error is raised for all of it.
        """
        for attempt in range(3):
            try:
                async with self._slots, self.sessions() as session, session.begin():
                    outcomes: list[bool | Exception] = []
                    for envelope in envelopes:
                        try:
                            async with session.begin_nested():
                                outcomes.append(await self._claim_and_run(session, envelope))
                        except Exception as exc:
                            if _is_infrastructure_outage(exc):
                                raise
                            outcomes.append(exc)
                    return outcomes
            except OperationalError as exc:
                if attempt == 2 or _mysql_code(exc) not in DEADLOCK_CODES:
                    raise
                await asyncio.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _acked(self, delivery: Delivery, applied: bool) -> None:
        await delivery.message.ack()
        if applied:
            metrics.DELIVERY_ATTEMPTS.labels(self.island, self.queue_label).observe(delivery.attempt)
        else:
            metrics.DUPLICATES_SUPPRESSED.labels(self.island, self.name).inc()
        outcome = "applied" if applied else "duplicate"
        message_type = delivery.envelope.message_type
        metrics.MESSAGES_HANDLED.labels(self.island, self.queue_label, message_type, outcome).inc()
        waited = max(time.time() - delivery.enqueued_at, 0)
        metrics.ENQUEUE_TO_ACK.labels(self.island, self.queue_label).observe(waited)

    async def _claim_and_run(self, session: AsyncSession, envelope: Envelope) -> bool:
        """Claim the idempotency key in the inbox and run the handler; False for a duplicate."""
        started = time.perf_counter()
        claimed = await session.execute(
            mysql_insert(INBOX)
            .prefix_with("IGNORE")
            .values(
                consumer=self.name,
                idempotency_key=envelope.idempotency_key,
                message_id=str(envelope.message_id),
                message_type=envelope.message_type,
                received_at=utcnow(),
            )
        )
        if claimed.rowcount == 0:  # type: ignore[attr-defined]
            return False
        handler = self.handlers.get(envelope.message_type)
        if handler is None:
            raise PermanentError(f"{self.queue_label} has no handler for {envelope.message_type!r}")
        token = correlation_id_var.set(envelope.correlation_id)
        try:
            with sentry_sdk.isolation_scope() as scope:  # errors of this message carry its flow's ids
                scope.set_tag("correlation_id", envelope.correlation_id)
                scope.set_tag("causation_id", envelope.causation_id or "-")
                scope.set_tag("message_type", envelope.message_type)
                await handler(open_envelope(envelope), MessageContext(session, envelope, self.outbox))
        finally:
            correlation_id_var.reset(token)
        metrics.PROCESSING_TIME.labels(self.island, envelope.message_type).observe(time.perf_counter() - started)
        return True

    async def _handle_failure(
        self, message: AbstractIncomingMessage, envelope: Envelope, exc: Exception, attempt: int
    ) -> None:
        if _is_infrastructure_outage(exc):
            log.warning("%s: infrastructure unavailable (%s); requeueing", self.queue_label, exc)
            await asyncio.sleep(1.0)  # back-pressure instead of spinning through the queue
            await message.nack(requeue=True)
            metrics.MESSAGES_HANDLED.labels(self.island, self.queue_label, envelope.message_type, "requeued").inc()
            return
        permanent = isinstance(exc, PermanentError | ContractError)
        if permanent or attempt >= self.max_attempts:
            await self._dead_letter(
                message, exc, attempt, scope_id=envelope.aggregate_id, message_type=envelope.message_type
            )
            return
        retry_after = exc.retry_after_s if isinstance(exc, TransientError) else None
        delay = tier_for(attempt, self.settings.retry_tiers_s, retry_after)
        headers = dict(message.headers or {})
        history = [*attempt_history(headers), _attempt_record(attempt, exc)]
        headers.update(
            {ATTEMPT: attempt + 1, HISTORY: json.dumps(history), ORIGINAL_QUEUE: self.queue,
             ENQUEUED_AT: time.time() + delay}
        )  # fmt: skip
        await self._publish_copy(message, headers, retry_queue_name(self.queue, delay))
        await message.ack()
        metrics.RETRIES.labels(self.island, self.queue_label, tier_label(delay)).inc()
        metrics.MESSAGES_HANDLED.labels(self.island, self.queue_label, envelope.message_type, "retried").inc()
        log.warning(
            "%s attempt %d of %s failed (%s: %s); retrying in %s",
            self.queue_label, attempt, envelope.message_type, type(exc).__name__, exc, tier_label(delay),
        )  # fmt: skip

    async def _dead_letter(
        self, message: AbstractIncomingMessage, exc: BaseException, attempt: int, *, scope_id: str, message_type: str
    ) -> None:
        headers = dict(message.headers or {})
        history = [*attempt_history(headers), _attempt_record(attempt, exc)]
        now = datetime.now(UTC).isoformat()
        headers.update(
            {
                "x-dead-letter-id": str(uuid.uuid4()),
                "x-error-class": type(exc).__name__,
                "x-error-message": str(exc)[:2000],
                "x-attempts": attempt,
                HISTORY: json.dumps(history),
                ORIGINAL_QUEUE: header_text(headers, ORIGINAL_QUEUE, self.queue),
                "x-scope-id": scope_id,
                "x-message-type": message_type,
                "x-first-failed-at": history[0]["at"],
                "x-last-failed-at": now,
            }
        )
        await self._publish_copy(message, headers, queue_name(self.island, DLQ, self.settings.broker_namespace))
        await message.ack()
        reason = "permanent" if isinstance(exc, PermanentError | ContractError) else "exhausted"
        metrics.DLQ_MOVES.labels(self.island, self.queue_label, reason).inc()
        metrics.MESSAGES_HANDLED.labels(self.island, self.queue_label, message_type, "dead-lettered").inc()
        log.error("%s: %s dead-lettered after %d attempt(s): %s: %s",
                  self.queue_label, message_type, attempt, type(exc).__name__, exc)  # fmt: skip

    async def _publish_copy(self, message: AbstractIncomingMessage, headers: dict[str, Any], routing_key: str) -> None:
        assert self._channel is not None
        copy = aio_pika.Message(
            body=message.body,
            headers=headers,
            message_id=message.message_id,
            type=message.type,
            app_id=message.app_id,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await self._channel.default_exchange.publish(copy, routing_key=routing_key, timeout=10)


def _attempt_record(attempt: int, exc: BaseException) -> dict[str, Any]:
    frames = traceback.format_exception_only(type(exc), exc)
    return {"attempt": attempt, "at": datetime.now(UTC).isoformat(), "error": "".join(frames).strip()[:500]}
