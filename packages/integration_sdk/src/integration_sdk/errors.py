"""How a failed message is treated: retried by tier, or sent to the DLQ at once.

Handlers raise ``TransientError`` for what may work later (a partner's 429/5xx, a lock timeout) and
``PermanentError`` for what never will (invalid data, a rule violation). Contract errors (validation,
unknown type, unknown major version) are permanent. Any other exception counts as transient: a bug
then reaches the DLQ after the configured attempts, with its traceback, instead of looping forever.
``Deferred`` is a transient error saying the work was not really tried (a partner's circuit is open):
it waits its ``retry_after_s`` in the retry tiers without spending an attempt, however long that lasts.
"""

from __future__ import annotations


class TransientError(Exception):
    """Retry later; ``retry_after_s`` (e.g. from a Retry-After header) picks the first long-enough tier."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PermanentError(Exception):
    """Never retry: straight to the DLQ for an operator to fix and replay."""


class Deferred(TransientError):
    """Not tried (what it needs is known to be down): back after ``retry_after_s``, no attempt spent.

    Counting these as attempts would send every message of a partner outage longer than the retry
    tiers to the DLQ, although nothing is wrong with the messages themselves.
    """
