"""HTTP connectors to partners (the ERP, the sales platforms): retries, Retry-After, circuit breaker, metrics.

One ``Connector`` per partner kind and process. Each call:

- waits out a shared Retry-After gate of its target first: after a 429 every call to that target holds
  back until the partner's time, instead of only the call that got the 429;
- goes through a circuit breaker per target (purgatory): after ``breaker_threshold`` consecutive
  failures (5xx, timeouts, connection errors) the circuit opens for ``breaker_ttl_s`` and calls fail at
  once with ``CircuitOpen`` without touching the partner; then one call probes (half-open) while the
  others keep failing with ``CircuitOpen`` until its answer closes or reopens the circuit. 429s and
  4xx answers are not failures of the partner: they never open the circuit;
- an outage is not the work's fault: ``CircuitOpen`` is ``Deferred``, so the consumer parks the message
  for the circuit's remaining open time without spending an attempt. The failure that opens the
  circuit, and a failed probe that reopens it, are raised as ``CircuitOpen`` too (the partner is
  down, not this request), so however long the partner is down its work waits instead of reaching
  the DLQ, and the partner sees about one probe per ``breaker_ttl_s`` instead of one call per message;
- is retried in process with stamina: jittered exponential backoff on 5xx/timeouts/connection errors,
  exactly the partner's Retry-After on 429 when it is short (``max_inline_retry_after_s``), all within
  ``budget_s``. What is still failing then is raised as an ``integration_sdk.errors`` error, so a
  message handler hands its work back to the consumer's retry tiers (the wait there is at least the
  Retry-After) and, when exhausted or refused, to the DLQ for replay.

Errors are ``TransientError`` (``RateLimited``, ``PartnerUnavailable``, ``CircuitOpen``: ``Deferred``) or
``PermanentError`` (``PartnerRejected``: a 4xx, the partner refused this request as it is).
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import stamina
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import HALF_OPENED, OPENED, Context, OpenedState
from pydantic_settings import BaseSettings

from integration_sdk import metrics
from integration_sdk.errors import Deferred, PermanentError, TransientError

CIRCUIT_STATES = {"closed": 0, "half-opened": 1, "opened": 2}


class RateLimited(TransientError):
    """The partner answered 429 (its Retry-After, when given, in ``retry_after_s``)."""


class PartnerUnavailable(TransientError):
    """5xx, timeout or connection failure: the partner may work again later."""


class CircuitOpen(Deferred):
    """The target's circuit is open (or this call's failure opened it): ``retry_after_s`` until the next probe."""


class PartnerRejected(PermanentError):
    """The partner refused the request with a 4xx: retrying the same request gives the same answer."""

    def __init__(self, message: str, *, status: int, reason: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class ConnectorPolicy:
    """How hard a connector tries in process before it hands the work back."""

    timeout_s: float = 10.0
    attempts: int = 4
    budget_s: float = 10.0
    wait_initial_s: float = 0.2
    wait_max_s: float = 3.0
    wait_jitter_s: float = 0.5
    max_inline_retry_after_s: float = 5.0
    breaker_threshold: int = 5
    breaker_ttl_s: float = 30.0


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header (delta seconds or an HTTP date) as seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _reason(response: httpx.Response) -> str:
    """The partner's error text: ``error.message`` of a JSON body, else the body's start."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            return str(error.get("message") or error.get("reason") or error)[:500]
        return str(error)[:500]
    return str(body)[:500]


class Connector:
    """Calls one kind of partner (``name``: ``erp``, ``platform-orders`` ...) for any number of targets."""

    def __init__(self, name: str, policy: ConnectorPolicy, *, base_url: str = "", headers: Mapping[str, str] = {}):
        self.name = name
        self.policy = policy
        self._client_args: dict[str, Any] = {"base_url": base_url, "headers": dict(headers),
                                             "timeout": policy.timeout_s}  # fmt: skip
        self._client: httpx.AsyncClient | None = None
        self._not_before: dict[str, float] = {}
        self._probing: set[str] = set()  # targets whose half-open probe is in flight
        self.breakers = AsyncCircuitBreakerFactory(
            default_threshold=policy.breaker_threshold,
            default_ttl=policy.breaker_ttl_s,
            exclude=[RateLimited, PartnerRejected],
        )
        self.breakers.add_listener(self._on_breaker_event)

    @property
    def client(self) -> httpx.AsyncClient:
        """The HTTP client, created on first use (inside the running loop)."""
        if self._client is None:
            self._client = httpx.AsyncClient(**self._client_args)
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _on_breaker_event(self, circuit: str, event_type: str, payload: Any) -> None:
        if event_type == "state_changed":
            target = circuit.partition(":")[2]
            metrics.CONNECTOR_CIRCUIT_STATE.labels(self.name, target).set(CIRCUIT_STATES.get(payload.state, 0))

    def _backoff(self, exc: Exception) -> bool | float:
        """stamina's hook: retry (with backoff), wait exactly Retry-After, or give up."""
        if isinstance(exc, RateLimited):
            if exc.retry_after_s is None:
                return True
            return exc.retry_after_s if exc.retry_after_s <= self.policy.max_inline_retry_after_s else False
        return isinstance(exc, PartnerUnavailable)

    async def request(self, target: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """A 2xx response, after in-process retries; otherwise the connector error (see the module doc)."""
        last_failure: str | None = None
        async for attempt in stamina.retry_context(
            on=self._backoff,
            attempts=self.policy.attempts,
            timeout=self.policy.budget_s,
            wait_initial=self.policy.wait_initial_s,
            wait_max=self.policy.wait_max_s,
            wait_jitter=self.policy.wait_jitter_s,
        ):
            with attempt:
                if last_failure is not None:
                    metrics.CONNECTOR_RETRIES.labels(self.name, target, last_failure).inc()
                try:
                    return await self._once(target, method, url, **kwargs)
                except (RateLimited, PartnerUnavailable) as exc:
                    last_failure = "rate_limited" if isinstance(exc, RateLimited) else "unavailable"
                    raise
        raise AssertionError("unreachable: stamina re-raises the last error")

    async def _once(self, target: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        wait = self._not_before.get(target, 0.0) - time.monotonic()
        if wait > 0:
            if wait > self.policy.max_inline_retry_after_s:
                raise RateLimited(f"{self.name} {target}: rate limited for {wait:.1f}s more", retry_after_s=wait)
            await asyncio.sleep(wait)
        breaker = await self.breakers.get_breaker(f"{self.name}:{target}")
        probe = _probes(breaker.context)
        if probe and target in self._probing:
            metrics.CONNECTOR_CALLS.labels(self.name, target, "circuit_open").inc()
            raise CircuitOpen(f"{self.name} {target}: circuit half-open, its probe is in flight",
                              retry_after_s=min(self.policy.timeout_s, self.policy.breaker_ttl_s))  # fmt: skip
        if probe:
            self._probing.add(target)
        try:
            async with breaker:
                return await self._call(target, method, url, **kwargs)
        except OpenedState as exc:
            metrics.CONNECTOR_CALLS.labels(self.name, target, "circuit_open").inc()
            raise CircuitOpen(
                f"{self.name} {target}: circuit open", retry_after_s=self._open_for(exc.opened_at)
            ) from exc
        except PartnerUnavailable as exc:
            if breaker.context.state == OPENED:  # this failure opened the circuit, or reopened it as the probe
                opened_at = breaker.context.opened_at or time.time()
                raise CircuitOpen(f"{exc}; circuit open", retry_after_s=self._open_for(opened_at)) from exc
            raise
        finally:
            if probe:
                self._probing.discard(target)

    def _open_for(self, opened_at: float) -> float:
        """Seconds until an open circuit lets a probe through."""
        return max(self.policy.breaker_ttl_s - (time.time() - opened_at), 0.1)

    async def _call(self, target: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        labels = (self.name, target)
        started = time.perf_counter()
        try:
            response = await self.client.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            metrics.CONNECTOR_CALLS.labels(*labels, "timeout").inc()
            raise PartnerUnavailable(f"{self.name} {target}: {method} {url} timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            metrics.CONNECTOR_CALLS.labels(*labels, "connection").inc()
            raise PartnerUnavailable(
                f"{self.name} {target}: {method} {url} failed: {type(exc).__name__} {exc}"
            ) from exc
        finally:
            metrics.CONNECTOR_LATENCY.labels(*labels).observe(time.perf_counter() - started)
        status = response.status_code
        status_class = "429" if status == 429 else f"{status // 100}xx"
        metrics.CONNECTOR_CALLS.labels(*labels, status_class).inc()
        if status == 429:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            if retry_after is not None:
                self._not_before[target] = max(self._not_before.get(target, 0.0), time.monotonic() + retry_after)
            raise RateLimited(f"{self.name} {target}: 429 (Retry-After {retry_after})", retry_after_s=retry_after)
        if status >= 500 or status == 408:
            raise PartnerUnavailable(f"{self.name} {target}: {method} {url} answered {status}: {_reason(response)}")
        if status >= 400:
            reason = _reason(response)
            raise PartnerRejected(f"{self.name} {target}: {status} {reason}", status=status, reason=reason)
        return response


def _probes(context: Context) -> bool:
    """Whether a call now would be the circuit's probe: half-open, or open with its time up."""
    if context.state == HALF_OPENED:
        return True
    return context.state == OPENED and time.time() > (context.opened_at or 0.0) + context.ttl


class ConnectorSettings(BaseSettings):
    """Connector fields of an island's settings (``<P>_CONNECTOR_TIMEOUT_S`` ...): the ``ConnectorPolicy``."""

    connector_timeout_s: float = 10.0
    connector_attempts: int = 4
    connector_budget_s: float = 10.0
    connector_wait_initial_s: float = 0.2
    connector_wait_max_s: float = 3.0
    connector_max_inline_retry_after_s: float = 5.0
    connector_breaker_threshold: int = 5
    connector_breaker_ttl_s: float = 30.0

    def connector_policy(self) -> ConnectorPolicy:
        """The policy these settings describe."""
        return ConnectorPolicy(
            timeout_s=self.connector_timeout_s,
            attempts=self.connector_attempts,
            budget_s=self.connector_budget_s,
            wait_initial_s=self.connector_wait_initial_s,
            wait_max_s=self.connector_wait_max_s,
            max_inline_retry_after_s=self.connector_max_inline_retry_after_s,
            breaker_threshold=self.connector_breaker_threshold,
            breaker_ttl_s=self.connector_breaker_ttl_s,
        )
