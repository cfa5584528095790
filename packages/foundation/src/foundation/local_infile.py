"""``LOAD DATA LOCAL INFILE`` through asyncmy, for files the calling task has allowed.

With ``LOCAL`` the client streams a file of its own to the server: the fastest way into MariaDB
(bulk loads use it for staging tables). Two things stand in the way with asyncmy as it is:

- asyncmy 0.2.18 hands the server's file request to its ``LoadLocalFile`` as ``bytes`` while that
  class is declared ``filename: str``; the ``TypeError`` is raised before the end-of-file packet is
  sent, so the connection's packets go out of sequence. ``_LoadLocalFile`` decodes the name.
- The *server* names the file the client sends back (a hostile or compromised server could ask for
  any file the process can read). ``_LoadLocalFile`` sends only a file the current task named in
  ``allow_local_file``; any other request is answered with an empty file and fails.

Connections only take part when their engine was created with ``db_local_infile`` (asyncmy's
``local_infile`` flag); ``install()`` runs when ``foundation.db`` is imported.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import asyncmy.connection as asyncmy_connection
from asyncmy import errors as asyncmy_errors

_ALLOWED: ContextVar[frozenset[str]] = ContextVar("local_infile_allowed", default=frozenset())
_REFUSED = ""  # opening it fails, so asyncmy sends the empty end-of-file packet and raises
_ORIGINAL = asyncmy_connection.LoadLocalFile


@contextmanager
def allow_local_file(path: Path) -> Iterator[str]:
    """Within the block this task's connections may send ``path`` to the server; the name to put in the SQL."""
    name = str(path.resolve())
    token = _ALLOWED.set(_ALLOWED.get() | {name})
    try:
        yield name
    finally:
        _ALLOWED.reset(token)


class _LoadLocalFile(_ORIGINAL):
    """asyncmy's sender, given a ``str`` name and refusing files nobody allowed."""

    def __init__(self, filename: bytes | str, connection: Any) -> None:
        self.requested = os.fsdecode(filename)
        self.allowed = self.requested in _ALLOWED.get()
        super().__init__(self.requested if self.allowed else _REFUSED, connection)

    async def send_data(self) -> None:
        try:
            await super().send_data()  # type: ignore[no-untyped-call]
        except asyncmy_errors.OperationalError as exc:
            if not self.allowed:
                raise asyncmy_errors.OperationalError(
                    exc.args[0], f"refused to send {self.requested!r}: not a file this task allowed"
                ) from exc
            raise


def install() -> None:
    """Make asyncmy use ``_LoadLocalFile`` (its query path looks the class up by module name)."""
    setattr(asyncmy_connection, "LoadLocalFile", _LoadLocalFile)  # noqa: B010 (a class, not an attribute)
