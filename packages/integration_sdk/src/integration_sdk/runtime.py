"""Wires messaging into an island's processes as app lifespan hooks.

- ``outbox_hook``: API processes write events through ``app.state.outbox`` (``OutboxDep``).
- ``messaging_hook(spec)``: worker processes also declare the island's topology, run the outbox relay,
  the consumers of its two work queues and the DLQ archiver. Everything starts once the broker is
  reachable; until then readiness names the broker (and ``consumers``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from redis.asyncio import Redis

from foundation.app import LifespanHook
from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk.broker import BrokerResource
from integration_sdk.consumer import AnyHandler, Consumer, TransactionSlots
from integration_sdk.dead_letters import DeadLetterArchiver
from integration_sdk.outbox import Outbox
from integration_sdk.relay import OutboxRelay
from integration_sdk.topology import declare_topology

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MessagingSpec:
    """An island's handlers per work queue class, by message type (bindings: ``topology.SUBSCRIPTIONS``)."""

    handlers: Mapping[str, Mapping[str, AnyHandler]] = field(default_factory=dict)
    max_attempts: int | None = None


class ConsumersReady:
    """Readiness of the consumers: started on the broker."""

    name = "consumers"

    def __init__(self) -> None:
        self.started = False
        self.error: str | None = None

    async def start(self) -> None:
        """Nothing to acquire."""

    async def check(self) -> None:
        """Raise until consumers run."""
        if not self.started:
            raise ConnectionError(self.error or "consumers not started (waiting for the broker)")

    async def stop(self) -> None:
        """Nothing to release."""


def _outbox(app: FastAPI) -> Outbox:
    resources = app.state.resources
    outbox = Outbox(app.state.settings, resources["redis"].redis)
    app.state.outbox = outbox
    return outbox


def outbox_hook() -> LifespanHook:
    """Expose an ``Outbox`` for request transactions (the relay runs in the worker)."""

    @asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        _outbox(app)
        yield

    return hook


def island_consumers(
    spec: MessagingSpec, settings: ServiceSettings, db: Database, outbox: Outbox, redis: Redis | None
) -> list[Consumer]:
    """A consumer per work queue class. They share one bound of transactions at once: each with a bound
    of its own would together ask for more connections than the pool has, and a delivery waiting past
    the pool's timeout fails (seen when a demo start sent 60 export runs at once)."""
    slots = TransactionSlots(settings)
    return [
        Consumer(
            settings=settings,
            queue_class=queue_class,
            handlers=handlers,
            sessions=db.sessions,
            outbox=outbox,
            max_attempts=spec.max_attempts,
            redis=redis,
            slots=slots,
        )
        for queue_class, handlers in spec.handlers.items()
    ]


def messaging_hook(spec: MessagingSpec) -> LifespanHook:
    """Topology, relay, consumers and DLQ archiver for a worker process."""

    @asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        settings = app.state.settings
        resources = app.state.resources
        db: Database = resources["database"].db
        broker: BrokerResource = resources["broker"]
        outbox = _outbox(app)
        ready = ConsumersReady()
        resources[ready.name] = ready
        consumers = island_consumers(spec, settings, db, outbox, resources["redis"].redis)
        archiver = DeadLetterArchiver(settings, db.writer)

        async def start_when_connected() -> None:
            await broker.connected.wait()
            try:
                channel = await broker.connection.channel()
                await declare_topology(
                    channel, namespace=settings.broker_namespace, retry_tiers_s=settings.retry_tiers_s
                )
                await channel.close()
                for consumer in consumers:
                    await consumer.start(broker.connection)
                await archiver.start(broker.connection)
                ready.started = True
            except Exception as exc:
                ready.error = f"consumers failed to start: {type(exc).__name__}: {exc}"
                log.exception("consumers failed to start")

        relay = OutboxRelay(settings, db.writer, broker, outbox, resources["redis"].redis)
        tasks = [
            asyncio.create_task(start_when_connected(), name="messaging-start"),
            asyncio.create_task(relay.run(), name="outbox-relay"),
        ]
        try:
            yield
        finally:
            for consumer in consumers:  # stop taking deliveries before the rest goes down
                await consumer.stop()
            await archiver.stop()
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    return hook


async def get_outbox(request: Request) -> Outbox:
    """The process's outbox."""
    outbox: Outbox = request.app.state.outbox
    return outbox


OutboxDep = Annotated[Outbox, Depends(get_outbox)]


def periodic_hook(
    name: str, interval_s: float, job: Callable[[FastAPI], Awaitable[float | None]], *, enabled: bool = True
) -> LifespanHook:
    """Run ``job(app)`` now and then every ``interval_s`` in a worker (a job may return a shorter next wait).

    A failing run is logged and the next one runs on schedule; shutdown cancels the loop.
    """

    @asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                wait = interval_s
                try:
                    sooner = await job(app)
                    wait = interval_s if sooner is None else min(sooner, interval_s)
                except Exception:
                    log.exception("%s failed; next run in %.0fs", name, interval_s)
                await asyncio.sleep(wait)

        task = asyncio.create_task(loop(), name=name) if enabled else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    return hook
