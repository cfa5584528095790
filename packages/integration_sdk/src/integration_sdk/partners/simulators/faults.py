"""Programmable faults, applied by an outermost ASGI middleware before the simulator's own routes.

A fault matches requests by ``route`` (an fnmatch pattern on ``"<METHOD> <path>"``), fires with a
``probability`` (seeded, so a run is repeatable) and at most ``times`` times, and does one of:

- ``status``: answer ``status`` at once (with ``Retry-After: retry_after_s`` when set), request not processed;
- ``slow``: wait ``delay_s``, then process normally;
- ``timeout``: process the request, then hold the answer for ``delay_s`` (longer than the client's
  timeout): the partner did the work, the client never heard of it;
- ``reset``: abort the TCP connection (RST) without an answer, request not processed;
- ``duplicate``: process normally, flagged to the route (feeds deliver items of the previous page again).
"""

from __future__ import annotations

import asyncio
import fnmatch
import random
import socket
import struct
import threading
import time
from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FaultKind = Literal["status", "slow", "timeout", "reset", "duplicate"]
UNFAULTED_PREFIXES = ("/_control", "/health")


class Fault(BaseModel):
    """One fault rule."""

    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    route: str = "*"
    status: int = Field(default=503, ge=400, le=599)
    retry_after_s: float | None = Field(default=None, ge=0)
    delay_s: float = Field(default=0.0, ge=0)
    probability: float = Field(default=1.0, ge=0, le=1)
    times: int | None = Field(default=None, ge=1)


class FaultPlan:
    """The active faults of one simulator and what they did (thread-safe: tests program it from outside)."""

    def __init__(self, seed: int = 42) -> None:
        self._lock = threading.Lock()
        self._faults: list[tuple[Fault, list[int]]] = []
        self._rng = random.Random(seed)
        self.fired: Counter[str] = Counter()
        self.log: list[dict[str, Any]] = []  # every fault that fired: when, on what, with which key

    def set(self, faults: list[Fault], seed: int | None = None) -> None:
        """Replace the active faults."""
        with self._lock:
            self._faults = [(fault, [0]) for fault in faults]
            if seed is not None:
                self._rng = random.Random(seed)

    def clear(self) -> None:
        """No faults."""
        self.set([])

    def pick(self, method: str, path: str, key: str = "") -> Fault | None:
        """The first fault that fires for this request (``key``: its Idempotency-Key), if any."""
        subject = f"{method} {path}"
        with self._lock:
            for fault, used in self._faults:
                if not fnmatch.fnmatchcase(subject, fault.route):
                    continue
                if fault.times is not None and used[0] >= fault.times:
                    continue
                if fault.probability < 1 and self._rng.random() >= fault.probability:
                    continue
                used[0] += 1
                label = fault.kind if fault.kind != "status" else str(fault.status)
                self.fired[label] += 1
                self.log.append({"at": time.time(), "route": subject, "key": key, "fault": label,
                                 "retry_after_s": fault.retry_after_s})  # fmt: skip
                return fault
        return None


def _abort_connection(send: Send) -> bool:
    """Reset the client's TCP connection (SO_LINGER 0 + abort): uvicorn's send is bound to its transport."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    return True


class FaultMiddleware:
    """Applies a ``FaultPlan`` to every request but the control and health routes.

    It wraps the whole app from outside (not through ``add_middleware``, which nests inside Starlette's
    error middleware), so ``send`` is uvicorn's own and a reset can abort the real connection.
    """

    def __init__(self, app: ASGIApp, plan: FaultPlan) -> None:
        self.app = app
        self.plan = plan

    @property
    def state(self) -> Any:
        """The wrapped app's state (the simulator's data and fault plan)."""
        return self.app.state  # type: ignore[attr-defined]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNFAULTED_PREFIXES):
            await self.app(scope, receive, send)
            return
        key = next((value.decode() for name, value in scope["headers"] if name == b"idempotency-key"), "")
        fault = self.plan.pick(scope["method"], scope["path"], key)
        if fault is None:
            await self.app(scope, receive, send)
        elif fault.kind == "status":
            await _answer(send, fault)
        elif fault.kind == "slow":
            await asyncio.sleep(fault.delay_s)
            await self.app(scope, receive, send)
        elif fault.kind == "reset":
            if not _abort_connection(send):  # not under uvicorn: the closest thing is a dropped answer
                raise ConnectionResetError("simulated connection reset")
        elif fault.kind == "timeout":
            held: list[Message] = []

            async def hold(message: Message) -> None:
                held.append(message)

            await self.app(scope, receive, hold)
            await asyncio.sleep(fault.delay_s)
            for message in held:
                await send(message)
        else:  # duplicate
            scope.setdefault("state", {})["duplicate"] = True
            await self.app(scope, receive, send)


async def _answer(send: Send, fault: Fault) -> None:
    body = b'{"error": {"code": "simulated", "message": "simulated fault"}}'
    headers: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json"),
                                          (b"content-length", str(len(body)).encode())]  # fmt: skip
    if fault.retry_after_s is not None:
        headers.append((b"retry-after", f"{fault.retry_after_s:g}".encode()))
    await send({"type": "http.response.start", "status": fault.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def fault_routes_payload(plan: FaultPlan) -> dict[str, Any]:
    """What the faults fired so far (for ``GET /_control/faults``)."""
    return {"fired": dict(plan.fired), "log": plan.log[-1000:]}
