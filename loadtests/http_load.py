"""HTTP load for the API benchmarks: an open-loop generator and a closed loop on a minimal client.

The client speaks just enough HTTP/1.1 for these GETs (keep-alive connections, a ``Content-Length``
body) on asyncio streams, so the latency measured is the server's and the network's, not the
client's: httpx spends 1–4 ms of its own CPU per request on this machine (more than a projection
read costs the server), and at 150–300 req/s that CPU also delays the generator's next send. The
benchmarks print an httpx closed loop beside it (``closed_loop(..., client="httpx")``), so the
difference is visible in each run.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import orjson

Request = tuple[str, dict[str, Any]]


class TransportError(Exception):
    """The connection failed or the answer was not HTTP this client reads."""


class LeanClient:
    """GET over a pool of keep-alive HTTP/1.1 connections; one request per connection at a time."""

    def __init__(self, base_url: str) -> None:
        url = urlsplit(base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def get(self, path: str, params: dict[str, Any] | None = None) -> tuple[int, bytes]:
        """(status, body) of ``GET path?params``; list values repeat their key."""
        target = f"{path}?{urlencode(params, doseq=True)}" if params else path
        reader, writer = self._idle.pop() if self._idle else await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(f"GET {target} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            status_line, *headers = head[:-4].split(b"\r\n")
            fields = dict(line.split(b":", 1) for line in headers)
            lowered = {name.strip().lower(): value.strip() for name, value in fields.items()}
            if b"content-length" not in lowered:
                raise TransportError(f"no Content-Length in the answer to {target}")
            body = await reader.readexactly(int(lowered[b"content-length"]))
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            writer.close()
            raise TransportError(f"GET {target}: {exc!r}") from exc
        if lowered.get(b"connection") == b"close":
            writer.close()
        else:
            self._idle.append((reader, writer))
        return int(status_line.split(b" ", 2)[1]), body

    async def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


async def open_loop(mix: list[Request], rate: float, base_url: str) -> tuple[list[float], list[float], int]:
    """Send ``mix`` at ``rate``/s on schedule; (latencies from the intended send time, generator lags, errors).

    A request that finds every connection busy opens another, so a slow server queues requests at
    the server, where they are measured, not in the generator.
    """
    latencies: list[float] = []
    lags: list[float] = []
    errors = 0
    client = LeanClient(base_url)
    begin = time.perf_counter() + 0.5

    async def one(index: int, path: str, params: dict[str, Any]) -> None:
        nonlocal errors
        intended = begin + index / rate
        await asyncio.sleep(max(0.0, intended - time.perf_counter()))
        lags.append(time.perf_counter() - intended)
        try:
            status, _ = await client.get(path, params)
        except TransportError:  # counted, not hidden: a refused or dropped connection is a failure
            errors += 1
            return
        latencies.append(time.perf_counter() - intended)
        errors += status != 200

    try:
        await asyncio.gather(*(one(i, path, params) for i, (path, params) in enumerate(mix)))
    finally:
        await client.close()
    return latencies, lags, errors


class HttpxClient:
    """httpx behind ``LeanClient``'s interface, for the comparison the module doc describes."""

    def __init__(self, base_url: str) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=30)

    async def get(self, path: str, params: dict[str, Any] | None = None) -> tuple[int, bytes]:
        response = await self._http.get(path, params=params)
        return response.status_code, response.content

    async def close(self) -> None:
        await self._http.aclose()


async def closed_loop(requests: list[Request], base_url: str, *, client: str = "lean") -> tuple[list[float], list[Any]]:
    """The requests one after the other, each timed alone (no queueing); (latencies, JSON bodies).

    ``client="httpx"`` runs them through httpx instead.
    """
    latencies: list[float] = []
    bodies: list[Any] = []
    http = HttpxClient(base_url) if client == "httpx" else LeanClient(base_url)
    try:
        for path, params in requests:
            started = time.perf_counter()
            status, body = await http.get(path, params)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                raise TransportError(f"GET {path} {params}: HTTP {status}: {body[:300]!r}")
            bodies.append(orjson.loads(body))
    finally:
        await http.close()
    return latencies, bodies


Usage = tuple[float, int]  # a server process's CPU seconds and the machine's steal ticks at one moment


def usage(pid: int) -> Usage:
    """Where a server process's CPU time and the machine's CPU steal stand now (``cost_line`` takes it)."""
    return process_cpu_s(pid), steal_ticks()


def cost_line(pid: int, since: Usage, requests: int, seconds: float) -> str:
    """The server's own CPU per request since ``since`` (which queueing does not blur as it does latency), and
    the CPU the hypervisor gave other machines meanwhile (figures that jump while it grows were measured on a
    machine partly elsewhere)."""
    cpu = process_cpu_s(pid) - since[0]
    steal = (steal_ticks() - since[1]) / os.sysconf("SC_CLK_TCK") / (os.cpu_count() or 1)
    return (f"  API process CPU: {cpu / requests * 1000:.2f} ms per request ({cpu / seconds:.0%} of its core); "
            f"CPU steal on this machine meanwhile: {steal / seconds:.1%}")  # fmt: skip


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = open(f"/proc/{pid}/stat", encoding="ascii").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def steal_ticks() -> int:
    """CPU time the hypervisor gave other machines so far (``/proc/stat``, clock ticks, all cores)."""
    return int(open("/proc/stat", encoding="ascii").readline().split()[8])
