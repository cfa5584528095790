"""The drop folder: feeds placed in ``<feed_drop_dir>/<supplier_id>/full/`` or ``.../delta/`` are imported.

A file is taken once it is stable (same size and modification time on two scans in a row), so a
feed still being written is left alone; names starting with ``.`` or ending in ``.part``/``.tmp`` are
ignored (the usual "write then rename" convention). A taken file is received as a batch like an
upload, then moved to ``<supplier_id>/processed/<batch_id>-<name>``; a file of an unknown supplier goes
to ``<supplier_id>/rejected/``. One worker scans at a time (a database named lock).

If the process dies between the batch's commit and the move, the file is received again on the next
scan: a feed sets offer values (it never adds), so importing it twice has the effect of importing it
once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import cast

from fastapi import FastAPI

from foundation.app import LifespanHook
from foundation.bulk import LockBusyError, named_lock
from foundation.db import Database
from integration_sdk.outbox import Outbox
from stock_import.imports.service import FeedKind, UnknownSupplier, receive_feed
from stock_import.settings import StockImportSettings

log = logging.getLogger(__name__)
KINDS: tuple[FeedKind, ...] = ("full", "delta")


def _candidates(drop_dir: Path) -> list[tuple[str, FeedKind, Path]]:
    found = []
    for kind in KINDS:
        for path in sorted(drop_dir.glob(f"*/{kind}/*")):
            if path.is_file() and not path.name.startswith(".") and path.suffix not in (".part", ".tmp"):
                found.append((path.parent.parent.name, kind, path))
    return found


class DropFolder:
    """Scans the drop folder and receives the stable files it finds."""

    def __init__(self, settings: StockImportSettings, db: Database, outbox: Outbox) -> None:
        self.settings = settings
        self.db = db
        self.outbox = outbox
        self._seen: dict[Path, tuple[int, float]] = {}

    async def scan(self) -> list[str]:
        """One pass: receive every stable file; the batch ids created."""
        drop_dir = self.settings.feed_drop_dir
        if not drop_dir.is_dir():
            return []
        batches = []
        async with self.db.writer.connect() as lock_conn, named_lock(lock_conn, "feed_drop_folder"):
            current = {}
            for supplier_id, kind, path in _candidates(drop_dir):
                stat = path.stat()
                current[path] = (stat.st_size, stat.st_mtime)
                if self._seen.get(path) != current[path]:
                    continue  # new or still growing: look again next scan
                batch_id = await self._receive(supplier_id, kind, path)
                if batch_id:
                    batches.append(batch_id)
                    current.pop(path)
            self._seen = current
        return batches

    async def _receive(self, supplier_id: str, kind: FeedKind, path: Path) -> str | None:
        try:
            async with self.db.sessions.begin() as session:
                batch_id = await receive_feed(session, self.outbox, self.settings.feed_store_dir, supplier_id, kind,
                                              "drop_folder", path.name, path)  # fmt: skip
        except UnknownSupplier as exc:
            log.error("drop folder: %s is rejected: %s", path, exc)
            self._move(path, path.parent.parent / "rejected" / path.name)
            return None
        self._move(path, path.parent.parent / "processed" / f"{batch_id}-{path.name}")
        log.info("drop folder: %s received as batch %s", path, batch_id)
        return batch_id

    @staticmethod
    def _move(path: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        path.replace(target)

    async def run(self) -> None:
        """Scan until cancelled; a failed scan is logged and retried on the next tick."""
        while True:
            try:
                await self.scan()
            except LockBusyError:
                pass  # another worker is scanning
            except Exception:
                log.exception("drop folder scan failed")
            await asyncio.sleep(self.settings.drop_poll_interval_s)


def drop_folder_hook() -> LifespanHook:
    """Run the drop-folder scanner in a worker process."""

    @asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        settings = cast(StockImportSettings, app.state.settings)
        scanner = DropFolder(settings, app.state.resources["database"].db, app.state.outbox)
        task = asyncio.create_task(scanner.run(), name="drop-folder")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return hook
