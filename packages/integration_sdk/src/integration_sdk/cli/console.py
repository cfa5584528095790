"""Rich output for the operator CLI: one console and a progress adapter for domain code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
