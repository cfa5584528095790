"""Runs the five services and their workers on this machine as child processes (``atraxion up``), with the
partner simulators (the ERP and the sales platforms) they talk to.

The processes are exactly what the containers of docker-compose.yml run: uvicorn on each island's
app factory and worker factory. Output goes to one log file per process; Ctrl-C (or SIGTERM) stops
them all gracefully, and a process that dies takes the others down with a clear message.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from foundation.island import Island


@dataclass
class Child:
    """One supervised process."""

    name: str
    factory: str
    host: str
    port: int
    log_path: Path
    process: asyncio.subprocess.Process | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        """Where it serves."""
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        """The uvicorn command line (the same as the container's)."""
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            self.factory,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--loop",
            "uvloop",
            "--timeout-graceful-shutdown",
            "15",
            "--no-access-log",
        ]

    async def start(self) -> None:
        """Spawn, output to the log file."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            *self.command(),
            stdout=self._log,
            stderr=asyncio.subprocess.STDOUT,
            env=os.environ.copy(),
            # Own session: a terminal Ctrl-C reaches only the supervisor, which stops each child once
            # (a second signal would make uvicorn skip its graceful shutdown).
            start_new_session=True,
        )

    def log_tail(self, lines: int = 15) -> str:
        """The end of its log, for error messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def stop(self, timeout_s: float = 20) -> int | None:
        """SIGTERM, then SIGKILL after the grace period; the exit code (None if never started)."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout_s)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._log is not None:
            self._log.close()
        return None if self.process is None else self.process.returncode


def children_for(islands: list[Island], log_dir: Path) -> list[Child]:
    """An API process and a worker process per island."""
    children: list[Child] = []
    for island in islands:
        settings = island.settings()
        children.append(
            Child(
                island.name,
                island.app_factory,
                settings.http_host,
                settings.http_port,
                log_dir / f"{island.name}.log",
            )
        )
        children.append(
            Child(
                f"{island.name}-worker",
                island.worker_factory,
                settings.http_host,
                settings.worker_port,
                log_dir / f"{island.name}-worker.log",
            )
        )
    return children


SIMULATORS = {
    "erp-simulator": "integration_sdk.partners.simulators.erp:create_erp_simulator",
    "platform-simulator": "integration_sdk.partners.simulators.platforms:create_platforms_simulator",
}


def simulator_children(log_dir: Path) -> list[Child]:
    """The ERP and platform simulators, where ``PARTNER_SIM_*`` says (the islands' defaults point there)."""
    from integration_sdk.partners.simulators.settings import SimulatorSettings

    sim = SimulatorSettings()
    where = {"erp-simulator": (sim.erp_host, sim.erp_port), "platform-simulator": (sim.platforms_host,
                                                                                  sim.platforms_port)}  # fmt: skip
    return [Child(name, factory, *where[name], log_dir / f"{name}.log") for name, factory in SIMULATORS.items()]


async def wait_ready(children: list[Child], timeout_s: float) -> dict[str, str]:
    """Poll ``/health/ready`` until all answer 200; returns ``{name: problem}`` for those that don't."""
    ready: set[str] = set()
    dead: set[str] = set()
    problems: dict[str, str] = {}
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=3) as client:
        while len(ready) + len(dead) < len(children) and time.monotonic() < deadline:
            for child in children:
                if child.name in ready or child.name in dead:
                    continue
                if child.process is not None and child.process.returncode is not None:
                    problems[child.name] = f"exited with code {child.process.returncode}"
                    dead.add(child.name)
                    continue
                try:
                    response = await client.get(child.base_url + "/health/ready")
                except httpx.HTTPError as exc:
                    problems[child.name] = f"not answering ({type(exc).__name__})"
                    continue
                if response.status_code == 200:
                    ready.add(child.name)
                    problems.pop(child.name, None)
                else:
                    problems[child.name] = f"not ready: {', '.join(response.json().get('down', []))} down"
            await asyncio.sleep(0.3)
    return {c.name: problems.get(c.name, "not ready") for c in children if c.name not in ready}


async def run_until_stopped(children: list[Child]) -> str | None:
    """Block until Ctrl-C/SIGTERM (returns None) or a child exits (returns its name)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    waits = {asyncio.create_task(child.process.wait()): child.name for child in children if child.process}
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({stopper, *waits}, return_when=asyncio.FIRST_COMPLETED)
    for task in (stopper, *waits):
        task.cancel()
    died = [waits[task] for task in done if task in waits]
    return died[0] if died else None
