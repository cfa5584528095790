"""Rich output for the operator CLI: one console and a progress adapter for domain code."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from foundation.progress import Progress as ProgressProtocol
from foundation.progress import ProgressTask
from foundation.settings import ServiceSettings

console = Console(highlight=False)


class _RichTask:
    def __init__(self, progress: Progress, task_id: TaskID) -> None:
        self._progress = progress
        self._task_id = task_id

    def advance(self, units: int = 1) -> None:
        """Move the bar."""
        self._progress.advance(self._task_id, units)


class RichProgress:
    """``foundation.progress.Progress`` shown as rich progress bars."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def task(self, description: str, total: int | None = None) -> ProgressTask:
        """A new bar."""
        return _RichTask(self._progress, self._progress.add_task(description, total=total))


@contextmanager
def progress_bars() -> Iterator[ProgressProtocol]:
    """Bars live while the block runs."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        yield RichProgress(progress)


async def call_island(
    settings: ServiceSettings, method: str, path: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any
) -> Any:
    """An operator command's call to an island's API: its JSON; unreachable exits 2, an error answer 1."""
    host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "::") else settings.http_host
    try:
        async with httpx.AsyncClient(base_url=f"http://{host}:{settings.http_port}", timeout=60,
                                     headers=dict(headers or {})) as client:  # fmt: skip
            response = await client.request(method, path, **kwargs)
    except httpx.TransportError as exc:
        console.print(f"[red]{settings.island} is not reachable at port {settings.http_port}[/] ({exc}); "
                      "start it with `atraxion up` or uvicorn (see the README).")  # fmt: skip
        raise typer.Exit(2) from exc
    if response.status_code >= 400:
        error = response.json().get("error", {})
        console.print(f"[red]{response.status_code} {error.get('code', '')}[/]: {error.get('message', response.text)}")
        raise typer.Exit(1)
    return response.json()
