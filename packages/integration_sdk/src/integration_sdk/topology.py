"""The broker objects, declared idempotently by every island at start.

- One durable topic exchange for domain events (``atraxion.events``); routing key = message type.
- Per island: ``<island>.high-priority`` and ``<island>.bulk`` work queues and ``<island>.dlq``.
- Per work queue, one static retry queue per tier (``<queue>.retry-15s`` ...): a message waits out the
  queue-level TTL there and is dead-lettered back onto its work queue. No queue per message delay, no
  delayed-message plugin, nothing declared on the fly.
- Bindings come from one declarative table of the events each island consumes (``SUBSCRIPTIONS``).

Every relay and worker declares the whole topology (all islands) before it publishes or consumes, so
an event committed before its consumer's first start still finds its queue; the relay publishes
``mandatory``, so an event no queue is bound for is a failed row, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aio_pika import ExchangeType
from aio_pika.abc import AbstractChannel

EVENTS_EXCHANGE = "atraxion.events"
HIGH_PRIORITY = "high-priority"
BULK = "bulk"
DLQ = "dlq"
QUEUE_CLASSES = (HIGH_PRIORITY, BULK, DLQ)
DEFAULT_RETRY_TIERS_S = (15.0, 60.0, 300.0, 900.0, 1800.0)


@dataclass(frozen=True)
class Subscription:
    """An island consumes ``pattern`` (topic syntax, e.g. ``catalog.article.*``) on a work queue."""

    pattern: str
    queue_class: str = BULK

    def __post_init__(self) -> None:
        if self.queue_class not in (HIGH_PRIORITY, BULK):
            raise ValueError(f"events are consumed on high-priority or bulk, not {self.queue_class!r}")


def exchange_name(namespace: str = "") -> str:
    """The domain-event topic exchange."""
    return f"{namespace}{EVENTS_EXCHANGE}"


def queue_name(island: str, queue_class: str, namespace: str = "") -> str:
    """``<island>.high-priority`` / ``<island>.bulk`` / ``<island>.dlq`` (namespaced in tests)."""
    return f"{namespace}{island}.{queue_class}"


def tier_label(delay_s: float) -> str:
    """``15s``, ``1800s``; sub-second tiers (tests) as ``250ms``."""
    return f"{delay_s:g}s" if delay_s >= 1 else f"{round(delay_s * 1000)}ms"


def retry_queue_name(work_queue: str, delay_s: float) -> str:
    """The static retry queue of one tier for one work queue."""
    return f"{work_queue}.retry-{tier_label(delay_s)}"


def tier_for(attempt: int, tiers_s: Sequence[float], retry_after_s: float | None = None) -> float:
    """Delay before attempt ``attempt + 1``: the attempt's tier, or the first tier ≥ Retry-After."""
    tier = tiers_s[min(attempt - 1, len(tiers_s) - 1)]
    if retry_after_s is not None and retry_after_s > tier:
        return next((t for t in tiers_s if t >= retry_after_s), tiers_s[-1])
    return tier


# What each island consumes, and on which of its work queues.
SUBSCRIPTIONS: dict[str, tuple[Subscription, ...]] = {
    "webshop": (
        Subscription("catalog.article.*", BULK),
        Subscription("stock.availability.changed", BULK),
        Subscription("fitment.mapping.changed", BULK),
        Subscription("vehicle.variant.upserted", BULK),
        Subscription("webshop.wheel-sets.recompute-requested", BULK),
        Subscription("erp.order.status-changed", HIGH_PRIORITY),
    ),
    "stock-import": (
        Subscription("catalog.article.*", BULK),
        Subscription("stock.feed.full-received", BULK),
        Subscription("stock.feed.correction-received", HIGH_PRIORITY),
    ),
    "vehicle-data": (
        Subscription("catalog.article.*", BULK),
        Subscription("fitment.recompute.requested", BULK),
        Subscription("fitment.recompute.vehicle-requested", HIGH_PRIORITY),
    ),
    "platform-export": (
        Subscription("catalog.article.*", BULK),
        Subscription("stock.availability.changed", BULK),
        Subscription("erp.order.status-changed", HIGH_PRIORITY),
        Subscription("platform.tracking.push-requested", HIGH_PRIORITY),
        Subscription("platform.export.requested", BULK),
    ),
    "erp-middleware": (
        Subscription("order.placed", HIGH_PRIORITY),
        Subscription("platform.order.imported", HIGH_PRIORITY),
        Subscription("erp.order.dispatch-requested", HIGH_PRIORITY),
    ),
}


async def declare_topology(
    channel: AbstractChannel,
    *,
    namespace: str = "",
    retry_tiers_s: Sequence[float] = DEFAULT_RETRY_TIERS_S,
    subscriptions: Mapping[str, Sequence[Subscription]] = SUBSCRIPTIONS,
) -> None:
    """Declare the exchange and every island's queues, retry tiers and bindings (idempotent)."""
    exchange = await channel.declare_exchange(exchange_name(namespace), ExchangeType.TOPIC, durable=True)
    for island, consumed in subscriptions.items():
        for queue_class in (HIGH_PRIORITY, BULK):
            work_queue = queue_name(island, queue_class, namespace)
            queue = await channel.declare_queue(work_queue, durable=True)
            for delay_s in retry_tiers_s:
                await channel.declare_queue(
                    retry_queue_name(work_queue, delay_s),
                    durable=True,
                    arguments={
                        "x-message-ttl": int(delay_s * 1000),
                        "x-dead-letter-exchange": "",  # the default exchange routes by queue name
                        "x-dead-letter-routing-key": work_queue,
                    },
                )
            for subscription in consumed:
                if subscription.queue_class == queue_class:
                    await queue.bind(exchange, routing_key=subscription.pattern)
        await channel.declare_queue(queue_name(island, DLQ, namespace), durable=True)
