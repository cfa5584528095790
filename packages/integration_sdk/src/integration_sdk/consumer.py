"""The consumer wrapper: every message is applied once, in one transaction, or parked for an operator.

For each delivery:

1. The envelope is parsed; a contract error (bad payload, unknown type or major version) is permanent.
2. Deliveries that are ready are applied in batches (up to ``consumer_batch_max``) in one DB
   transaction. One multi-row ``INSERT IGNORE ... RETURNING`` claims the (consumer, idempotency key)
   pairs in the inbox: a key that was there already is a duplicate (acked, counted, not applied).
   Claimed messages run through their handlers, each in a SAVEPOINT, so a failing one undoes only its
   own work (and its inbox claim is released before the commit). A ``Batched`` handler gets all the
   batch's messages of its type at once, for multi-row statements; if it fails, its messages are run
   one by one to find the bad one. One commit (one log flush) per batch instead of one per message;
   handlers only flush, and events they emit go to the outbox in the same transaction. An
   ``Exclusive`` message runs alone, on a drainer of its own (up to the pool size), so long work
   (a partner call, an export run) never holds up the rest of the queue; a ``Batched(own_batch=True)``
   handler's messages are batched only with each other. Both wait in a lane of their own, with its
   own drainers, so quick messages never queue behind long ones.
3. Every delivery of a batch is acked only after that commit. A crash before the ack means a
   redelivery, which the inbox turns into a counted duplicate.
4. A failed handler's delivery is handled on its own (its savepoint was rolled back). Transient
   errors go to the next retry tier (a static queue whose TTL dead-letters back onto the work queue)
   with the attempt history in the headers, then the delivery is acked; after ``max_attempts`` or on a
   permanent error the original body and headers go to the island's DLQ with the error and the history.
   A ``Deferred`` error (the work was not tried: a partner's circuit is open) goes to the first tier
   at least its Retry-After long with its attempt number unchanged, so a partner outage of any
   length parks the work instead of exhausting it.
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
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aio_pika
import sentry_sdk
import sqlalchemy as sa
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection
from asgi_correlation_id import correlation_id as correlation_id_var
from redis.asyncio import Redis
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.envelope import Envelope
from contracts.registry import ContractError, open_envelope
from foundation.settings import ServiceSettings
from integration_sdk import metrics
from integration_sdk.errors import Deferred, PermanentError, TransientError
from integration_sdk.outbox import INBOX, Outbox, utcnow
from integration_sdk.topology import DLQ, queue_name, retry_queue_name, tier_for, tier_label

log = logging.getLogger(__name__)

ATTEMPT = "x-attempt"
HISTORY = "x-attempt-history"
ORIGINAL_QUEUE = "x-original-queue"
ENQUEUED_AT = "x-enqueued-at"
DEFERRALS = "x-deferrals"  # times the message was parked by a ``Deferred`` error (not attempts)
# Headers of one delivery's retry journey (ours and the broker's dead-lettering): reset on replay.
RETRY_HEADERS = (
    ATTEMPT, HISTORY, ENQUEUED_AT, DEFERRALS, "x-death", "x-first-death-exchange", "x-first-death-queue",
    "x-first-death-reason", "x-last-death-exchange", "x-last-death-queue", "x-last-death-reason",
)  # fmt: skip


AfterCommit = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class BatchContext:
    """What a batch handler gets: the batch's transaction, and a way to act after its commit."""

    session: AsyncSession
    outbox: Outbox
    after_commit_callbacks: list[AfterCommit] = field(default_factory=list)
    redis: Redis | None = None  # the island's Redis (caches to invalidate after commit)

    def after_commit(self, callback: AfterCommit) -> None:
        """Run ``callback`` once the transaction committed (e.g. invalidate a cache); never on rollback."""
        self.after_commit_callbacks.append(callback)

    async def publish(self, event: Any, cause: Envelope) -> Envelope:
        """Emit a follow-up event in this transaction, caused by the message ``cause``."""
        return await self.outbox.add(
            self.session, event, causation_id=str(cause.message_id), correlation_id=cause.correlation_id
        )


@dataclass(frozen=True)
class MessageContext(BatchContext):
    """What a handler gets beside the event: its transaction and the envelope it came in."""

    envelope: Envelope = field(kw_only=True)

    async def publish(self, event: Any, cause: Envelope | None = None) -> Envelope:
        """Emit a follow-up event in this transaction, caused by the message being handled."""
        return await super().publish(event, cause or self.envelope)


Handler = Callable[[Any, MessageContext], Awaitable[None]]


@dataclass(frozen=True)
class Batched:
    """A handler for many messages of one type at once: ``apply(items, ctx)``, items = (event, envelope).

    For projections: one multi-row statement per batch instead of a few statements per message. It
    must give the same result as applying the items one by one, in any grouping (a failing batch is
    rerun item by item to isolate the bad message).
    """

    apply: Callable[[list[tuple[Any, Envelope]], BatchContext], Awaitable[None]]
    own_batch: bool = False
    """Batch its messages only with each other, on the long-work drainers (see ``Exclusive``): for a
    handler whose batch takes seconds (composing wheel sets), which would otherwise keep the quick
    projection updates of the same batch uncommitted and the queue behind it waiting."""


@dataclass(frozen=True)
class Exclusive:
    """A handler whose message gets a transaction of its own (long work, e.g. importing a 40k-row feed).

    Batching it with other messages would hold their locks and acks for as long as it runs.
    """

    handler: Handler
    connections: int = 1
    """Pooled connections one run holds at once: the inbox's transaction, plus any the handler opens
    itself (its own transactions, a lock connection); the consumer reserves them all before it starts."""

    async def __call__(self, event: Any, context: MessageContext) -> None:
        await self.handler(event, context)


AnyHandler = Handler | Batched | Exclusive
QUICK, LONG = "quick", "long"  # the two lanes of a consumer's ready deliveries, each with its own drainers


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


def is_deadlock(exc: DBAPIError) -> bool:
    """The transaction died of a deadlock or lock wait (it may be run again as a whole)."""
    return _mysql_code(exc) in DEADLOCK_CODES


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


class TransactionSlots:
    """The pooled connections consumer transactions may hold at once: the pool's size, so none waits
    for a connection, and its overflow stays free for the outbox relay, the archiver and jobs."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.size = max(1, settings.db_pool_size)
        self._free = asyncio.Semaphore(self.size)
        self._gathering = asyncio.Lock()  # one taker of several slots at a time: two could each hold some

    @asynccontextmanager
    async def hold(self, connections: int = 1) -> AsyncIterator[None]:
        """Hold ``connections`` slots (at most all of them) for the block."""
        wanted, taken = min(max(1, connections), self.size), 0
        try:
            if wanted == 1:
                await self._free.acquire()
                taken = 1
            else:
                async with self._gathering:
                    for _ in range(wanted):
                        await self._free.acquire()
                        taken += 1
            yield
        finally:
            for _ in range(taken):
                self._free.release()


class Consumer(ChannelConsumer):
    """Consumes one work queue of an island with inbox, retry tiers and DLQ."""

    publisher_confirms = True

    def __init__(
        self,
        *,
        settings: ServiceSettings,
        queue_class: str,
        handlers: Mapping[str, AnyHandler],
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        max_attempts: int | None = None,
        name: str | None = None,
        redis: Redis | None = None,
        slots: TransactionSlots | None = None,
    ) -> None:
        self.settings = settings
        self.redis = redis
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
        # delivery never times out waiting for a connection (which would wrongly spend an attempt). The
        # consumers of one process share the bound (``slots``).
        self._slots = slots or TransactionSlots(settings)
        self._max_drainers = max(1, settings.db_pool_size)
        self._pending: dict[str, deque[Delivery]] = {QUICK: deque(), LONG: deque()}
        self._drainers = {QUICK: 0, LONG: 0}
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
        handler = self.handlers.get(envelope.message_type)
        lane = self._lane(handler)
        pending = self._pending[lane]
        pending.append(Delivery(message, envelope, attempt, enqueued_at))
        # Long work has drainers of its own, so it never holds up the quick lane; another drainer when a
        # quick batch is full, or for each Exclusive message (up to the pool size). Own batches go one at a
        # time: two at once would work on the same keys (follow-ups of one request) and wait on each other.
        wanted = isinstance(handler, Exclusive) or lane == QUICK and len(pending) >= self.batch_max
        if self._drainers[lane] == 0 or (wanted and sum(self._drainers.values()) < self._max_drainers):
            self._drainers[lane] += 1
            task = asyncio.create_task(self._drain(lane), name=f"{self.queue_label}-{lane}-drain")
            self._drain_tasks.add(task)
            task.add_done_callback(self._drain_tasks.discard)

    async def stop(self) -> None:
        """Let batches in flight commit and ack (bounded), then close the channel."""
        if self._drain_tasks:
            await asyncio.wait(self._drain_tasks, timeout=self.settings.shutdown_timeout_s)
        await super().stop()

    @staticmethod
    def _lane(handler: AnyHandler | None) -> str:
        long = isinstance(handler, Exclusive) or isinstance(handler, Batched) and handler.own_batch
        return LONG if long else QUICK

    async def _drain(self, lane: str) -> None:
        """Apply the lane's pending deliveries batch by batch until none are left."""
        try:
            while batch := self._next_batch(lane):
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
            self._drainers[lane] -= 1

    def _next_batch(self, lane: str) -> list[Delivery]:
        """Up to ``batch_max`` of the lane's pending deliveries; an ``Exclusive`` message goes alone, and
        the long lane's own-batch messages only with others of their type."""
        pending, batch = self._pending[lane], list[Delivery]()
        while pending and len(batch) < self.batch_max:
            message_type = pending[0].envelope.message_type
            exclusive = isinstance(self.handlers.get(message_type), Exclusive)
            if batch and (exclusive or lane == LONG and message_type != batch[0].envelope.message_type):
                break
            batch.append(pending.popleft())
            if exclusive:
                break
        return batch

    async def apply_batch(self, envelopes: list[Envelope]) -> list[bool | Exception]:
        """Apply envelopes in one transaction; per envelope True, False (duplicate) or its handler's error.

        A deadlock or lost connection ends the whole transaction: the batch is retried at once (twice),
        then the error is raised for all of it. After-commit callbacks of applied messages run last.
        """
        handler = self.handlers.get(envelopes[0].message_type) if len(envelopes) == 1 else None
        connections = handler.connections if isinstance(handler, Exclusive) else 1
        for attempt in range(3):
            try:
                async with self._slots.hold(connections), self.sessions() as session:
                    async with session.begin():
                        outcomes, callbacks = await self._apply_in(session, envelopes)
                for callback in callbacks:
                    try:
                        await callback()
                    except Exception:  # the data is committed; a failed side effect must not undo the ack
                        log.exception("%s: after-commit callback failed", self.queue_label)
                return outcomes
            except OperationalError as exc:
                if attempt == 2 or not is_deadlock(exc):
                    raise
                await asyncio.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _apply_in(
        self, session: AsyncSession, envelopes: list[Envelope]
    ) -> tuple[list[bool | Exception], list[AfterCommit]]:
        outcomes: list[bool | Exception] = [False] * len(envelopes)
        callbacks: list[AfterCommit] = []
        claimed = await self._claim(session, envelopes)
        batched: dict[str, list[int]] = {}
        for index in claimed:
            envelope = envelopes[index]
            handler = self.handlers.get(envelope.message_type)
            if handler is None:
                outcomes[index] = PermanentError(f"{self.queue_label} has no handler for {envelope.message_type!r}")
            elif isinstance(handler, Batched):
                batched.setdefault(envelope.message_type, []).append(index)
            else:
                outcomes[index] = await self._run_one(session, envelope, handler, callbacks)
        for message_type, indexes in batched.items():
            handler = self.handlers[message_type]
            assert isinstance(handler, Batched)
            group = [envelopes[index] for index in indexes]
            results = await self._run_batched(session, group, handler, callbacks)
            for index, result in zip(indexes, results, strict=True):
                outcomes[index] = result
        failed = [envelopes[i].idempotency_key for i in claimed if isinstance(outcomes[i], Exception)]
        if failed:  # release the claims, so the retry of these messages is not taken for a duplicate
            await session.execute(
                sa.delete(INBOX).where(INBOX.c.consumer == self.name, INBOX.c.idempotency_key.in_(failed))
            )
        return outcomes, callbacks

    async def _claim(self, session: AsyncSession, envelopes: list[Envelope]) -> list[int]:
        """Claim the batch's idempotency keys in the inbox; the indexes of the envelopes to apply."""
        first: dict[str, int] = {}
        for index, envelope in enumerate(envelopes):
            first.setdefault(envelope.idempotency_key, index)  # a key twice in one batch: a duplicate
        now = utcnow()
        rows = [
            {"consumer": self.name, "idempotency_key": key, "message_id": str(envelopes[index].message_id),
             "message_type": envelopes[index].message_type, "received_at": now}
            for key, index in first.items()
        ]  # fmt: skip
        # Keys already in the inbox (committed, or held by a concurrent batch until it commits) are
        # ignored and not returned: one round trip claims the whole batch.
        claimed = await session.execute(
            mysql_insert(INBOX).prefix_with("IGNORE").returning(INBOX.c.idempotency_key), rows
        )
        keys = set(claimed.scalars())
        return [index for key, index in first.items() if key in keys]

    async def _run_one(
        self, session: AsyncSession, envelope: Envelope, handler: AnyHandler, callbacks: list[AfterCommit]
    ) -> bool | Exception:
        """Run one message's handler in a savepoint: True, or the error it raised (infrastructure errors propagate)."""
        started = time.perf_counter()
        token = correlation_id_var.set(envelope.correlation_id)
        pending: list[AfterCommit] = []
        try:
            with sentry_sdk.isolation_scope() as scope:  # errors of this message carry its flow's ids
                scope.set_tag("correlation_id", envelope.correlation_id)
                scope.set_tag("causation_id", envelope.causation_id or "-")
                scope.set_tag("message_type", envelope.message_type)
                async with session.begin_nested():
                    event = open_envelope(envelope)
                    if isinstance(handler, Batched):
                        await handler.apply(
                            [(event, envelope)], BatchContext(session, self.outbox, pending, self.redis)
                        )
                    else:
                        await handler(
                            event, MessageContext(session, self.outbox, pending, self.redis, envelope=envelope)
                        )
        except Exception as exc:
            if _is_infrastructure_outage(exc):
                raise
            return exc
        finally:
            correlation_id_var.reset(token)
        callbacks.extend(pending)
        metrics.PROCESSING_TIME.labels(self.island, envelope.message_type).observe(time.perf_counter() - started)
        return True

    async def _run_batched(
        self, session: AsyncSession, group: list[Envelope], handler: Batched, callbacks: list[AfterCommit]
    ) -> list[bool | Exception]:
        """All of one type in one call; if that fails, one by one, so only the bad message fails."""
        if len(group) == 1:
            return [await self._run_one(session, group[0], handler, callbacks)]
        started = time.perf_counter()
        pending: list[AfterCommit] = []
        try:
            async with session.begin_nested():
                items = [(open_envelope(envelope), envelope) for envelope in group]
                await handler.apply(items, BatchContext(session, self.outbox, pending, self.redis))
        except Exception as exc:
            if _is_infrastructure_outage(exc):
                raise
            log.info("%s: batch of %d %s failed (%s); isolating", self.queue_label, len(group),
                     group[0].message_type, exc)  # fmt: skip
            return [await self._run_one(session, envelope, handler, callbacks) for envelope in group]
        callbacks.extend(pending)
        share = (time.perf_counter() - started) / len(group)
        for envelope in group:
            metrics.PROCESSING_TIME.labels(self.island, envelope.message_type).observe(share)
        return [True] * len(group)

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

    async def _handle_failure(
        self, message: AbstractIncomingMessage, envelope: Envelope, exc: Exception, attempt: int
    ) -> None:
        if _is_infrastructure_outage(exc):
            log.warning("%s: infrastructure unavailable (%s); requeueing", self.queue_label, exc)
            await asyncio.sleep(1.0)  # back-pressure instead of spinning through the queue
            await message.nack(requeue=True)
            metrics.MESSAGES_HANDLED.labels(self.island, self.queue_label, envelope.message_type, "requeued").inc()
            return
        if isinstance(exc, Deferred):
            await self._defer(message, envelope, exc, attempt)
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

    async def _defer(self, message: AbstractIncomingMessage, envelope: Envelope, exc: Deferred, attempt: int) -> None:
        """Park the message in the first tier at least ``exc.retry_after_s`` long; its attempt is not spent."""
        delay = tier_for(1, self.settings.retry_tiers_s, exc.retry_after_s)
        headers = dict(message.headers or {})
        deferrals = int(header_text(headers, DEFERRALS, "0")) + 1
        headers.update({ATTEMPT: attempt, DEFERRALS: deferrals, ORIGINAL_QUEUE: self.queue,
                        ENQUEUED_AT: time.time() + delay})  # fmt: skip
        await self._publish_copy(message, headers, retry_queue_name(self.queue, delay))
        await message.ack()
        metrics.RETRIES.labels(self.island, self.queue_label, tier_label(delay)).inc()
        metrics.MESSAGES_HANDLED.labels(self.island, self.queue_label, envelope.message_type, "deferred").inc()
        log.info("%s: %s deferred (%d time(s), attempt %d not spent): %s; back in %s",
                 self.queue_label, envelope.message_type, deferrals, attempt, exc, tier_label(delay))  # fmt: skip

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
