"""Demo data for ``atraxion seed``: the generated suppliers and their full feeds, through the import path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast

from foundation.db import Database
from foundation.progress import Progress
from foundation.settings import ServiceSettings
from integration_sdk.outbox import Outbox
from stock_import.imports.service import import_feed, register_suppliers
from stock_import.settings import StockImportSettings


async def load_demo_data(settings: ServiceSettings, data_dir: Path, progress: Progress) -> dict[str, int]:
    """Register ``suppliers/suppliers.json`` and import every feed of ``suppliers/feeds/`` as a full feed."""
    db = Database.from_settings(settings)
    outbox = Outbox(settings)  # the events wait in the outbox until the worker's relay runs
    store_dir = cast(StockImportSettings, settings).feed_store_dir
    totals = {"suppliers": 0, "feeds": 0, "rows": 0, "offers": 0, "rejected": 0}
    try:
        totals["suppliers"], _ = await register_suppliers(db, data_dir / "suppliers" / "suppliers.json")
        definitions = json.loads((data_dir / "suppliers" / "suppliers.json").read_text(encoding="utf-8"))
        task = progress.task("supplier feeds", total=len(definitions))
        for definition in definitions:
            supplier_id = definition["supplier_id"]
            feed = next((data_dir / "suppliers" / "feeds").glob(f"{supplier_id}.*"))
            result = await import_feed(db, outbox, store_dir, supplier_id, feed, "full", "seed")
            totals["feeds"] += 1
            totals["rows"] += result.rows_total
            totals["offers"] += result.rows_ok
            totals["rejected"] += result.rows_rejected
            task.advance()
    finally:
        await db.dispose()
    return totals
