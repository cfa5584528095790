"""The outbox relay: publishes committed outbox rows to the broker, each exactly once per claim.

How it keeps its promises:

- **Several instances, no double publish, order per aggregate.** Rows are spread over 16 partitions
  by aggregate. A relay owns a partition while it holds the MariaDB lock ``GET_LOCK('<schema>.outbox.N')``
  on its dedicated connection, and only claims rows of partitions it owns, with
  ``FOR UPDATE SKIP LOCKED`` on the (status, available_at, id) index. One aggregate is therefore
  published by one relay, in id order. A second relay takes over the partitions of one that dies
  (its connection closes, the locks are released) within ``outbox_poll_interval_s``.
- **Throughput.** A claimed batch (hundreds of rows) is published with publisher confirms in flight
  together on one channel; rows are marked sent in the same transaction that claimed them.
- **Freshness.** Woken right after a commit (in-process event, Redis pub/sub across processes); the
  poll interval is only the fallback when a wake-up is lost.
- **Nothing lost.** A crash after publish and before the mark leaves the rows pending: they are
  published again and the consumers' inbox drops the duplicate. A broker outage rolls the claim back.
- **One bad row blocks nothing.** A row the broker refuses (or cannot route to any queue) is retried
  with backoff and parked with its error after ``outbox_max_publish_attempts``; the rows behind it go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import aio_pika
import sqlalchemy as sa
from aio_pika.abc import AbstractExchange
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from foundation.settings import ServiceSettings
from integration_sdk import metrics
from integration_sdk.broker import BrokerResource
from integration_sdk.messaging_schema import OUTBOX_PARKED, OUTBOX_PENDING, OUTBOX_SENT
from integration_sdk.outbox import INBOX, OUTBOX, OUTBOX_PARTITIONS, Outbox, utcnow, wake_channel
from integration_sdk.topology import declare_topology, exchange_name

log = logging.getLogger(__name__)

# Errors that say the broker (not the row) is the problem: roll back and try again later.
BROKER_DOWN = (
    aio_pika.exceptions.AMQPConnectionError,
    aio_pika.exceptions.ChannelInvalidStateError,
    aio_pika.exceptions.ChannelClosed,
    ConnectionError,
    asyncio.TimeoutError,
)


class BrokerUnavailable(Exception):
    """The claimed batch could not be published because the broker is unreachable."""


def outbox_message(row: Any, island: str) -> aio_pika.Message:
    """The AMQP message for one outbox row (headers carry what consumers and metrics need)."""
    return aio_pika.Message(
        body=row.body,
        message_id=row.message_id,
        type=row.message_type,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        app_id=island,
        headers={"x-aggregate-id": row.aggregate_id, "x-enqueued-at": time.time()},
    )


class OutboxRelay:
    """Publishes one island's outbox; run several for availability and throughput."""

    def __init__(
        self,
        settings: ServiceSettings,
        engine: AsyncEngine,
        broker: BrokerResource,
        outbox: Outbox,
        redis: Redis | None = None,
        *,
        partitions: Sequence[int] = range(OUTBOX_PARTITIONS),
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.broker = broker
        self.outbox = outbox
        self.redis = redis
        self.wanted = list(partitions)
        self.held: list[int] = []
        self.island = settings.island
        self._last_housekeeping = 0.0

    def _lock_name(self, partition: int) -> str:
        return f"{self.settings.db_schema}.outbox.{partition}"

    async def run(self) -> None:
        """Relay until cancelled, reconnecting after database or broker failures."""
        listener = asyncio.create_task(self._listen_for_wakeups(), name="outbox-wake-listener")
        try:
            while True:
                try:
                    await self._run_on_one_connection()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("outbox relay restarting after %s: %s", type(exc).__name__, exc)
                    await asyncio.sleep(self.settings.outbox_poll_interval_s)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _run_on_one_connection(self) -> None:
        await self.broker.connected.wait()
        conn = await self.engine.connect()
        try:
            # on_return_raises + mandatory: an event no queue is bound for fails its row instead of vanishing
            channel = await self.broker.connection.channel(publisher_confirms=True, on_return_raises=True)
            await declare_topology(
                channel, namespace=self.settings.broker_namespace, retry_tiers_s=self.settings.retry_tiers_s
            )
            exchange = await channel.get_exchange(exchange_name(self.settings.broker_namespace))
            self.held = []
            last_acquire = 0.0
            while True:
                if len(self.held) < len(self.wanted) and time.monotonic() - last_acquire > 5:
                    await self._acquire_partitions(conn)
                    last_acquire = time.monotonic()
                published = await self.relay_batch(conn, exchange) if self.held else 0
                await self._housekeeping(conn)
                if published < self.settings.outbox_batch_size:
                    await self._wait_for_work()
        finally:
            self.held = []
            # Closing (not pooling) the connection releases its partition locks for other relays.
            await conn.invalidate()
            await conn.close()

    async def _acquire_partitions(self, conn: AsyncConnection) -> None:
        for partition in random.sample(self.wanted, len(self.wanted)):
            if partition in self.held:
                continue
            got = await conn.scalar(sa.text("SELECT GET_LOCK(:name, 0)"), {"name": self._lock_name(partition)})
            await conn.commit()
            if got == 1:
                self.held.append(partition)
        if self.held:
            log.info("outbox relay owns partitions %s", sorted(self.held))

    async def relay_batch(self, conn: AsyncConnection, exchange: AbstractExchange) -> int:
        """Claim, publish and mark one batch; returns how many rows were claimed."""
        async with conn.begin():
            rows = (
                await conn.execute(
                    sa.select(
                        OUTBOX.c.id,
                        OUTBOX.c.message_id,
                        OUTBOX.c.message_type,
                        OUTBOX.c.aggregate_id,
                        OUTBOX.c.body,
                        OUTBOX.c.created_at,
                        OUTBOX.c.publish_attempts,
                    )  # fmt: skip
                    .where(
                        OUTBOX.c.status == OUTBOX_PENDING,
                        OUTBOX.c.available_at <= utcnow(),
                        OUTBOX.c.partition_no.in_(self.held),
                    )
                    .order_by(OUTBOX.c.id)
                    .limit(self.settings.outbox_batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            outcomes = await asyncio.gather(
                *(
                    exchange.publish(
                        outbox_message(row, self.island), routing_key=row.message_type, mandatory=True, timeout=10
                    )
                    for row in rows
                ),
                return_exceptions=True,
            )
            if any(isinstance(outcome, BROKER_DOWN) for outcome in outcomes):
                # Roll back: every row of the batch stays pending; the confirmed ones will be
                # published again and deduplicated by the consumers' inbox.
                raise BrokerUnavailable(next(o for o in outcomes if isinstance(o, BROKER_DOWN)))
            now = utcnow()
            sent = [row for row, outcome in zip(rows, outcomes, strict=True) if not isinstance(outcome, BaseException)]
            if sent:
                await conn.execute(
                    OUTBOX.update()
                    .where(OUTBOX.c.id.in_([row.id for row in sent]))
                    .values(status=OUTBOX_SENT, sent_at=now)
                )
            for row, outcome in zip(rows, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    await self._record_failure(conn, row, outcome)
        for row in sent:
            metrics.OUTBOX_LAG.labels(self.island).observe(max((utcnow() - row.created_at).total_seconds(), 0))
        metrics.OUTBOX_PUBLISHED.labels(self.island).inc(len(sent))
        return len(rows)

    async def _record_failure(self, conn: AsyncConnection, row: Any, error: BaseException) -> None:
        attempts = row.publish_attempts + 1
        parked = attempts >= self.settings.outbox_max_publish_attempts
        await conn.execute(
            OUTBOX.update()
            .where(OUTBOX.c.id == row.id)
            .values(
                publish_attempts=attempts,
                last_error=f"{type(error).__name__}: {error}"[:1000],
                available_at=utcnow() + timedelta(seconds=min(self.settings.outbox_retry_base_s * 2**attempts, 300)),
                status=OUTBOX_PARKED if parked else OUTBOX_PENDING,
            )
        )
        outcome = "parked" if parked else "retry"
        metrics.OUTBOX_PUBLISH_FAILURES.labels(self.island, outcome).inc()
        log.error("outbox row %s (%s) not published (%s): %s", row.id, row.message_type, outcome, error)

    async def _wait_for_work(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.outbox.local_wake.wait(), self.settings.outbox_poll_interval_s)
        self.outbox.local_wake.clear()

    async def _listen_for_wakeups(self) -> None:
        """Redis pub/sub → local wake-up; retried quietly while Redis is down (the poll covers it)."""
        if self.redis is None:
            return
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(wake_channel(self.settings))
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self.outbox.local_wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("outbox wake listener: %s", exc)
                await asyncio.sleep(self.settings.outbox_poll_interval_s)

    async def _housekeeping(self, conn: AsyncConnection) -> None:
        """Every 10 s: backlog gauges; purge sent rows and expired inbox keys in bounded chunks."""
        if time.monotonic() - self._last_housekeeping < 10:
            return
        self._last_housekeeping = time.monotonic()
        now = utcnow()
        async with conn.begin():
            backlog = (
                await conn.execute(
                    sa.select(sa.func.count(), sa.func.min(OUTBOX.c.created_at)).where(
                        OUTBOX.c.status == OUTBOX_PENDING
                    )
                )
            ).one()
            parked = await conn.scalar(sa.select(sa.func.count()).where(OUTBOX.c.status == OUTBOX_PARKED))
            await conn.execute(
                sa.text("DELETE FROM outbox_message WHERE status = :sent AND sent_at < :cutoff LIMIT 5000"),
                {"sent": OUTBOX_SENT, "cutoff": now - timedelta(seconds=self.settings.outbox_retention_s)},
            )
            await conn.execute(
                sa.delete(INBOX).where(INBOX.c.received_at < now - timedelta(days=self.settings.inbox_retention_days))
            )
        metrics.OUTBOX_BACKLOG.labels(self.island).set(backlog[0])
        oldest = (now - backlog[1]).total_seconds() if backlog[1] else 0.0
        metrics.OUTBOX_OLDEST_AGE.labels(self.island).set(oldest)
        metrics.OUTBOX_PARKED.labels(self.island).set(parked or 0)
