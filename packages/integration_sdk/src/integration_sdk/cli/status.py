"""What ``atraxion status`` shows: readiness over HTTP, queue depths over AMQP."""

from __future__ import annotations

import asyncio

import aio_pika
import httpx

from foundation.island import Island
from integration_sdk.topology import QUEUE_CLASSES, queue_name


async def _readiness(client: httpx.AsyncClient, url: str) -> str:
    try:
        response = await client.get(url + "/health/ready")
    except httpx.HTTPError:
        return "[red]down[/]"
    if response.status_code == 200:
        return "[green]ready[/]"
    return "[yellow]not ready: " + ", ".join(response.json().get("down", [])) + "[/]"


async def _queue_depths(island: Island) -> list[str]:
    settings = island.settings()
    try:
        connection = await aio_pika.connect(settings.amqp_url, timeout=3)
    except (TimeoutError, OSError, aio_pika.exceptions.AMQPError):
        return ["broker down"] * len(QUEUE_CLASSES)
    depths: list[str] = []
    async with connection:
        for queue_class in QUEUE_CLASSES:
            channel = await connection.channel()  # a failed passive declare closes its channel
            try:
                queue = await channel.declare_queue(
                    queue_name(island.name, queue_class, settings.broker_namespace), passive=True
                )
                depths.append(f"{queue.declaration_result.message_count:,}")
            except aio_pika.exceptions.ChannelClosed:
                depths.append("not declared")
    return depths


async def collect_status(islands: list[Island]) -> list[tuple[str, ...]]:
    """One row per island: name, api readiness, worker readiness, queue depths."""
    async with httpx.AsyncClient(timeout=3) as client:
        rows = []
        for island in islands:
            settings = island.settings()
            api, worker = await asyncio.gather(
                _readiness(client, f"http://{settings.http_host}:{settings.http_port}"),
                _readiness(client, f"http://{settings.http_host}:{settings.worker_port}"),
            )
            rows.append((island.name, api, worker, *await _queue_depths(island)))
    return rows
