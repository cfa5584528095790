"""The island's RabbitMQ connection as an app resource.

The connection is robust (aio-pika reconnects and restores channels after a broker restart). Start
never blocks on a broker that is down: a background task keeps trying, and readiness names the broker
until it is connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aio_pika
from aio_pika.abc import AbstractRobustConnection

from foundation.settings import ServiceSettings

log = logging.getLogger(__name__)


class BrokerResource:
    """A robust AMQP connection, connected in the background."""

    name = "broker"

    def __init__(self, settings: ServiceSettings, *, retry_interval_s: float = 2.0) -> None:
        self.settings = settings
        self.retry_interval_s = retry_interval_s
        self._connection: AbstractRobustConnection | None = None
        self._connecting: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    @property
    def connection(self) -> AbstractRobustConnection:
        """The live connection; raises when the broker has not been reached yet."""
        if self._connection is None:
            raise ConnectionError("broker not connected yet")
        return self._connection

    async def start(self) -> None:
        """Begin connecting; returns at once."""
        self._connecting = asyncio.create_task(self._connect_forever(), name="broker-connect")

    async def _connect_forever(self) -> None:
        while self._connection is None:
            # Built by hand rather than with connect_robust: a robust connection whose first connect
            # failed keeps reconnecting in the background, so each failed attempt is closed here.
            connection = aio_pika.RobustConnection(
                aio_pika.connection.make_url(self.settings.amqp_url),
                client_properties={"connection_name": self.settings.island},
            )
            try:
                await connection.connect(timeout=self.settings.readiness_timeout_s * 2)
            except (TimeoutError, OSError, aio_pika.exceptions.AMQPError) as exc:
                await connection.close()
                log.warning("broker unreachable (%s); retrying in %.0fs", exc, self.retry_interval_s)
                await asyncio.sleep(self.retry_interval_s)
            except BaseException:
                await connection.close()
                raise
            else:
                self._connection = connection
                self.connected.set()

    async def check(self) -> None:
        """The connection exists and is open (not in a reconnect)."""
        if self._connection is None or self._connection.is_closed:
            raise ConnectionError(f"not connected to {_redact(self.settings.amqp_url)}")
        # A robust connection reports open during its reconnect loop: probe the transport too.
        if self._connection.transport is None:
            raise ConnectionError("broker connection is reconnecting")

    async def stop(self) -> None:
        """Stop connecting and close."""
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
        self.connected.clear()


def _redact(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('@', 1)[-1]}"
