"""What the webshop's projection jobs (reconcile, rebuild) share: the source island's API and checkpoints.

A projection is repaired from its source island's HTTP API, never from its schema. Job state lives in
``projection_job_checkpoint`` (spec table 5), which has no status column: ``last_success_batch_id``
carries the state (``running``/``done`` for a rebuild, ``reconcile`` for a reconcile report, whose
counts are JSON in ``last_success_cursor``).
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Any, Self

import httpx
import sqlalchemy as sa
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.ext.asyncio import AsyncSession

from foundation.bulk import utc_now
from webshop.tables import projection_job_checkpoint

RECONCILE_MARKER = "reconcile"
RUNNING, DONE = "running", "done"


class SourceError(RuntimeError):
    """The source island could not be read (unreachable, token refused, unexpected answer): nothing more was written."""


class IslandSource:
    """Client of a source island's operator API.

    Pass ``client`` to talk to an app in-process (tests: ``integration_sdk.testing.serve``); its own base
    URL is used then, and the caller closes it. ``island`` and ``setting`` name the island and the webshop
    setting prefix of its address and token in error messages.
    """

    island = "the source island"
    setting = "WEBSHOP_<ISLAND>"
    error: type[SourceError] = SourceError

    def __init__(
        self, base_url: str, token: str, client: httpx.AsyncClient | None = None, timeout_s: float = 30
    ) -> None:
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(base_url=base_url, timeout=timeout_s)
        self._headers = {"Authorization": f"Bearer {token}"}
        self.base_url = str(self._client.base_url)

    @property
    def client(self) -> httpx.AsyncClient:
        """The HTTP client requests go through."""
        return self._client

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this source created it."""
        if self._owns_client:
            await self._client.aclose()

    async def get(self, path: str, params: Any = None, *, missing_ok: bool = False) -> dict[str, Any] | None:
        """A GET's JSON body (None for a 404 when ``missing_ok``); any other failure raises ``error``."""
        try:
            response = await self._client.get(path, params=params, headers=self._headers)
        except httpx.TransportError as exc:
            raise self.error(
                f"{self.island} is unreachable at {self.base_url} ({type(exc).__name__}: {exc}); "
                f"is it running, and is {self.setting}_URL right?"
            ) from exc
        if response.status_code == 401:
            raise self.error(
                f"{self.island} at {self.base_url} refused the operator token (401): set {self.setting}_TOKEN "
                f"to {self.island}'s operator token"
            )
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code != 200:
            raise self.error(
                f"{self.island} at {self.base_url} answered {response.status_code} to {path}: {response.text[:300]}"
            )
        body: dict[str, Any] = response.json()
        return body


async def save_checkpoint(
    session: AsyncSession, job: str, scope: str, cursor: str | None, state: str, success_at: datetime | None
) -> None:
    """Store a job's cursor and state (in the caller's transaction, with the work it covers)."""
    now = utc_now()
    statement = mysql_insert(projection_job_checkpoint).values(
        job_name=job, scope_key=scope, last_success_cursor=cursor, last_success_batch_id=state,
        last_success_at=success_at, updated_at=now,
    )  # fmt: skip
    names = ("scope_key", "last_success_cursor", "last_success_batch_id", "last_success_at", "updated_at")
    await session.execute(statement.on_duplicate_key_update({name: statement.inserted[name] for name in names}))


async def resume_cursor(session: AsyncSession, job: str, scope: str) -> str | None:
    """The cursor a ``running`` job stopped at (``""``: it stopped before its first page), or None: start over."""
    checkpoint = projection_job_checkpoint
    query = sa.select(checkpoint.c.last_success_cursor, checkpoint.c.last_success_batch_id)
    saved = (await session.execute(query.where(checkpoint.c.job_name == job))).first()
    if saved is not None and saved.last_success_batch_id == RUNNING:
        return saved.last_success_cursor or ""
    await save_checkpoint(session, job, scope, None, RUNNING, None)
    return None
