"""Islands' API and worker apps running in-process on an event loop of their own, for end-to-end tests.

As ``atraxion up`` runs them as processes: each app with its lifespan (relay, consumers), in a test
namespace; steps talk to them over HTTP like their users, and wait for effects with ``eventually``.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack, contextmanager
from importlib import import_module
from pathlib import Path
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI

from foundation.settings import ServiceSettings
from integration_sdk.testing import ISLANDS, delete_broker_namespace, serve, truncate_tables, wait_until_ready

T = TypeVar("T")
TOKEN = {"Authorization": "Bearer local-operator-token"}
AppFactory = Callable[[Any], FastAPI]


class LiveSuite:
    """Apps (``"<island>"`` or ``"<island> worker"`` → factory) on a background loop; ``run`` executes there."""

    def __init__(self, settings: Mapping[str, ServiceSettings], apps: Mapping[str, AppFactory]) -> None:
        self.settings = dict(settings)
        self.apps = dict(apps)
        self.clients: dict[str, httpx.AsyncClient] = {}
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="live-suite", daemon=True)
        self._stack = AsyncExitStack()

    def __enter__(self) -> LiveSuite:
        self._thread.start()
        self.run(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.run(self._stack.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    async def _start(self) -> None:
        for name, factory in self.apps.items():
            client = await self._stack.enter_async_context(serve(factory(self.settings[name.split()[0]])))
            assert (await wait_until_ready(client, 20)).status_code == 200, name
            self.clients[name] = client

    def run(self, coroutine: Coroutine[Any, Any, T], timeout_s: float = 60) -> T:
        """Run ``coroutine`` on the suite's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout_s)


def live_settings(migrated: Mapping[str, ServiceSettings], suffix: str) -> dict[str, ServiceSettings]:
    """The run's settings with a broker namespace of their own and fast retries and polling."""
    namespace = f"{next(iter(migrated.values())).broker_namespace}{suffix}_"
    return {
        name: base.model_copy(update={"broker_namespace": namespace, "outbox_poll_interval_s": 0.5,
                                      "retry_tiers_s": (0.2, 0.4, 0.6, 0.8, 1.0)})
        for name, base in migrated.items()
    }  # fmt: skip


async def eventually(call: Callable[[], Awaitable[T]], done: Callable[[T], bool], timeout_s: float) -> T:
    """Call until ``done`` holds or the time is up; the last result (the caller asserts on it)."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await call()
        if done(result) or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.05)


@contextmanager
def islands_running(
    migrated: Mapping[str, ServiceSettings], islands: Sequence[str], tmp_path: Path
) -> Iterator[LiveSuite]:
    """The islands' API and worker apps running on emptied schemas, in a broker namespace of their own."""
    settings = live_settings(migrated, secrets.token_hex(2))
    settings["stock-import"] = settings["stock-import"].model_copy(
        update={"feed_store_dir": tmp_path / "store", "feed_drop_dir": tmp_path / "drop"}
    )

    async def empty() -> None:
        for island in islands:
            await truncate_tables(settings[island])

    asyncio.run(empty())
    apps: dict[str, AppFactory] = {}
    for island in islands:
        package = ISLANDS[island].package
        apps[island] = import_module(f"{package}.app").create_app
        apps[f"{island} worker"] = import_module(f"{package}.worker").create_worker_app
    with LiveSuite(settings, apps) as live:
        yield live
    asyncio.run(delete_broker_namespace(settings["webshop"]))
