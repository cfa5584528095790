"""Messaging benchmark: the outbox relay and the inbox consumer beside raw aio-pika, in one run.

    uv run python loadtests/bench_messaging.py [--messages 20000] [--rate 500] [--seconds 20]

Prints, side by side:
1. publish throughput: relay (outbox rows → confirmed publishes) vs raw aio-pika with the same number
   of confirms in flight, same bodies, same broker;
2. idle commit → publish latency p50/p95/p99 (commit to arrival at a tap queue: an upper bound);
3. consume throughput: inbox consumer (one transaction per message: inbox insert + handler) vs raw
   consume + ack, same prefetch;
4. commit → applied p50/p95/p99 at a steady open-loop rate (events committed on schedule, latency
   from the commit to the handler's commit).
Targets (issue): relay ≥ 2,000 msg/s and ≥ 50% of raw; idle p99 ≤ 250 ms; applied p95 ≤ 100 ms at 500/s.
Throughput phases run in one process; the commit → applied phase runs the open-loop generator in its
own process pinned to one core and the relay + consumer pinned to the other (MariaDB and RabbitMQ float),
and reports the generator's own lag. Everything shares this machine, so figures include that contention.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import time
from decimal import Decimal

import aio_pika
import sqlalchemy as sa
from redis.asyncio import Redis

from contracts import Envelope, StockAvailabilityChanged
from foundation.cache import create_redis
from foundation.db import Database, drop_schema
from foundation.island import discover_islands
from foundation.settings import ServiceSettings
from integration_sdk.broker import BrokerResource
from integration_sdk.consumer import Consumer, MessageContext
from integration_sdk.migrations import upgrade
from integration_sdk.outbox import Outbox
from integration_sdk.relay import OutboxRelay
from integration_sdk.testing import delete_broker_namespace, island_settings
from integration_sdk.topology import BULK, declare_topology, exchange_name, queue_name

NAMESPACE = "bench_"


def event(i: int, version: int = 1) -> StockAvailabilityChanged:
    return StockAvailabilityChanged(
        article_number=f"BENCH-{i:07d}", sellable_qty=i % 50, best_price=Decimal("99.95"),
        next_delivery_date=None, source_batch_id="bench", version=version,
    )  # fmt: skip


def percentiles(samples: list[float]) -> str:
    if not samples:
        return "n/a"
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return f"p50 {pick(0.50):7.1f} ms  p95 {pick(0.95):7.1f} ms  p99 {pick(0.99):7.1f} ms  (n={len(samples)})"


async def purge(settings: ServiceSettings) -> None:
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        for island in ("webshop", "platform-export"):
            queue = await channel.declare_queue(queue_name(island, BULK, NAMESPACE), passive=True)
            await queue.purge()


async def relay_throughput(settings: ServiceSettings, db: Database, redis: Redis, n: int) -> float:
    outbox = Outbox(settings)
    async with db.sessions() as session:
        for start in range(0, n, 1000):
            async with session.begin():
                for i in range(start, min(start + 1000, n)):
                    await outbox.add(session, event(i))
    broker = BrokerResource(settings)
    await broker.start()
    relay = OutboxRelay(settings, db.writer, broker, Outbox(settings, redis), redis)
    started = time.perf_counter()
    task = asyncio.create_task(relay.run())
    while True:
        async with db.reader.connect() as conn:
            pending = await conn.scalar(sa.text("SELECT COUNT(*) FROM outbox_message WHERE status = 0"))
        if pending == 0:
            break
        await asyncio.sleep(0.02)
    elapsed = time.perf_counter() - started
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await broker.stop()
    return n / elapsed


async def raw_publish_throughput(settings: ServiceSettings, n: int, in_flight: int) -> float:
    bodies = [Envelope.wrap(event(i), produced_by="webshop", correlation_id="bench").to_bytes() for i in range(n)]
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(exchange_name(NAMESPACE))
        started = time.perf_counter()
        for start in range(0, n, in_flight):
            await asyncio.gather(
                *(
                    exchange.publish(aio_pika.Message(body), routing_key="stock.availability.changed")
                    for body in bodies[start : start + in_flight]
                )
            )
        return n / (time.perf_counter() - started)


async def idle_commit_to_publish(settings: ServiceSettings, db: Database, redis: Redis, samples: int) -> list[float]:
    broker = BrokerResource(settings)
    await broker.start()
    outbox = Outbox(settings, redis)
    relay = OutboxRelay(settings, db.writer, broker, outbox, redis)
    relay_task = asyncio.create_task(relay.run())
    arrivals: dict[str, float] = {}
    connection = await aio_pika.connect(settings.amqp_url)
    latencies: list[float] = []
    async with connection:
        channel = await connection.channel()
        tap = await channel.declare_queue(exclusive=True)
        await tap.bind(await channel.get_exchange(exchange_name(NAMESPACE)), routing_key="stock.#")

        async def on_tap(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            arrivals[message.message_id or ""] = time.perf_counter()
            await message.ack()

        await tap.consume(on_tap)
        await asyncio.sleep(1.5)  # relay owns its partitions and is idle
        for i in range(samples):
            async with db.sessions() as session, session.begin():
                envelope = await outbox.add(session, event(10_000_000 + i))
            committed = time.perf_counter()
            message_id = str(envelope.message_id)
            deadline = committed + 2
            while message_id not in arrivals and time.perf_counter() < deadline:
                await asyncio.sleep(0.0005)
            if message_id in arrivals:
                latencies.append(arrivals[message_id] - committed)
            await asyncio.sleep(0.02)
    relay_task.cancel()
    await asyncio.gather(relay_task, return_exceptions=True)
    await broker.stop()
    return latencies


async def consume_throughput(settings: ServiceSettings, db: Database, n: int, *, inbox: bool) -> float:
    await purge(settings)
    bodies = [Envelope.wrap(event(i, 2), produced_by="stock-import", correlation_id="b").to_bytes() for i in range(n)]
    connection = await aio_pika.connect_robust(settings.amqp_url)
    done = asyncio.Event()
    count = 0
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(exchange_name(NAMESPACE))
        for start in range(0, n, 500):
            await asyncio.gather(*(exchange.publish(aio_pika.Message(b), routing_key="stock.availability.changed")
                                   for b in bodies[start : start + 500]))  # fmt: skip

        async def handler(_: StockAvailabilityChanged, __: MessageContext) -> None:
            nonlocal count
            count += 1
            if count == n:
                done.set()

        started = time.perf_counter()
        if inbox:
            consumer = Consumer(settings=settings, queue_class=BULK, handlers={"stock.availability.changed": handler},
                                sessions=db.sessions, outbox=Outbox(settings))  # fmt: skip
            await consumer.start(connection)
            await done.wait()
            elapsed = time.perf_counter() - started
            await consumer.stop()
        else:
            raw_channel = await connection.channel()
            await raw_channel.set_qos(prefetch_count=settings.broker_prefetch)
            queue = await raw_channel.get_queue(queue_name("webshop", BULK, NAMESPACE))

            async def on_raw(message: aio_pika.abc.AbstractIncomingMessage) -> None:
                nonlocal count
                await message.ack()
                count += 1
                if count == n:
                    done.set()

            await queue.consume(on_raw)
            await done.wait()
            elapsed = time.perf_counter() - started
            await raw_channel.close()
    return n / elapsed


def _produce_open_loop(settings: ServiceSettings, rate: float, seconds: float, core: int) -> None:
    """The load generator, in its own process on its own core: commits events on schedule."""
    os.sched_setaffinity(0, {core})

    async def run() -> None:
        db = Database.from_settings(settings.model_copy(update={"db_pool_timeout_s": 300.0}))
        outbox = Outbox(settings, create_redis(settings))
        lag: list[float] = []
        total = int(rate * seconds)
        started = time.perf_counter()

        async def produce(i: int) -> None:
            intended = started + i / rate
            await asyncio.sleep(max(0.0, intended - time.perf_counter()))
            async with db.sessions() as session, session.begin():
                await outbox.add(session, event(20_000_000 + i, 3))
            lag.append(time.perf_counter() - intended)

        await asyncio.gather(*(produce(i) for i in range(total)))
        await db.dispose()
        print(f"  generator (core {core}): intended send → commit   {percentiles(lag)}", flush=True)

    asyncio.run(run())


async def commit_to_applied(
    settings: ServiceSettings, db: Database, redis: Redis, rate: float, seconds: float
) -> list[float]:
    """Latency from an event's commit (its envelope's occurred_at, stamped just before) to the handler's commit."""
    await purge(settings)
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) > 1:
        os.sched_setaffinity(0, {cores[-1]})  # relay + consumer here, generator on the other core
    broker = BrokerResource(settings)
    await broker.start()
    await broker.connected.wait()
    outbox = Outbox(settings, redis)
    latencies: list[float] = []

    async def handler(_: StockAvailabilityChanged, context: MessageContext) -> None:
        await context.session.flush()

    consumer = Consumer(settings=settings, queue_class=BULK, handlers={"stock.availability.changed": handler},
                        sessions=db.sessions, outbox=outbox)  # fmt: skip
    original_apply_batch = consumer.apply_batch

    async def timed_apply(envelopes: list[Envelope]) -> list[bool | Exception]:
        outcomes = await original_apply_batch(envelopes)  # returns after the batch's commit
        committed = time.time()
        latencies.extend(committed - envelope.occurred_at.timestamp() for envelope in envelopes)
        return outcomes

    consumer.apply_batch = timed_apply  # type: ignore[method-assign]
    await consumer.start(broker.connection)
    relay = OutboxRelay(settings, db.writer, broker, outbox, redis)
    relay_task = asyncio.create_task(relay.run())
    await asyncio.sleep(1.5)
    generator = multiprocessing.get_context("spawn").Process(
        target=_produce_open_loop, args=(settings, rate, seconds, cores[0])
    )
    generator.start()
    total = int(rate * seconds)
    deadline = time.perf_counter() + seconds + 60
    while len(latencies) < total and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.to_thread(generator.join)
    relay_task.cancel()
    await asyncio.gather(relay_task, return_exceptions=True)
    await consumer.stop()
    await broker.stop()
    os.sched_setaffinity(0, set(cores))
    return latencies


async def main(messages: int, rate: float, seconds: float) -> None:
    webshop = next(island for island in discover_islands() if island.name == "webshop")
    settings = island_settings("webshop", NAMESPACE, log_level="WARNING", db_pool_size=20, broker_prefetch=200)
    await drop_schema(settings)
    await upgrade(webshop, settings)
    db = Database.from_settings(settings)
    redis = create_redis(settings)
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        await declare_topology(await connection.channel(), namespace=NAMESPACE, retry_tiers_s=settings.retry_tiers_s)
    try:
        relay_rate = await relay_throughput(settings, db, redis, messages)
        raw_rate = await raw_publish_throughput(settings, messages, in_flight=settings.outbox_batch_size)
        print(f"publish   relay {relay_rate:8,.0f} msg/s   raw aio-pika {raw_rate:8,.0f} msg/s   "
              f"relay/raw {relay_rate / raw_rate:5.0%}   (target ≥ 2,000 and ≥ 50%)")  # fmt: skip
        idle = await idle_commit_to_publish(settings, db, redis, samples=300)
        print(f"idle commit → publish   {percentiles(idle)}   (target p99 ≤ 250 ms)")
        inbox_rate = await consume_throughput(settings, db, messages // 2, inbox=True)
        raw_consume = await consume_throughput(settings, db, messages // 2, inbox=False)
        print(f"consume   inbox {inbox_rate:8,.0f} msg/s   raw consume+ack {raw_consume:8,.0f} msg/s   "
              f"inbox/raw {inbox_rate / raw_consume:5.0%}")  # fmt: skip
        applied = await commit_to_applied(settings, db, redis, rate, seconds)
        print(f"commit → applied at {rate:g}/s for {seconds:g}s   {percentiles(applied)}   (target p95 ≤ 100 ms)")
        print(f"median applied latency {statistics.median(applied) * 1000:.1f} ms" if applied else "nothing applied")
    finally:
        await db.dispose()
        await redis.aclose()
        await delete_broker_namespace(settings)
        await drop_schema(settings)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.rate, args.seconds))
