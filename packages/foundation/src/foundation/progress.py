"""Progress reporting for long work (imports, seeding, rebuilds), independent of how it is shown.

Domain code reports through this protocol; the CLI shows it as rich progress bars, tests and
workers pass ``NO_PROGRESS``.
"""

from __future__ import annotations

from typing import Protocol


class ProgressTask(Protocol):
    """One bar: advanced as units of work complete."""

    def advance(self, units: int = 1) -> None:
        """Record ``units`` more done."""


class Progress(Protocol):
    """Creates bars."""

    def task(self, description: str, total: int | None = None) -> ProgressTask:
        """A new bar; ``total`` None when the amount is unknown up front."""


class _NoTask:
    def advance(self, units: int = 1) -> None:
        """Ignore."""


class _NoProgress:
    def task(self, description: str, total: int | None = None) -> ProgressTask:
        """A bar that shows nothing."""
        return _NoTask()


NO_PROGRESS: Progress = _NoProgress()
