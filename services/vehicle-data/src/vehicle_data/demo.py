"""Demo data for ``atraxion seed``: the generated vehicle sync file through the real sync path."""

from __future__ import annotations

from pathlib import Path

from foundation.db import Database
from foundation.progress import Progress
from foundation.settings import ServiceSettings
from integration_sdk.outbox import Outbox
from vehicle_data.vehicles.service import sync_variants


async def load_demo_data(settings: ServiceSettings, data_dir: Path, progress: Progress) -> dict[str, int]:
    """Sync ``vehicles/variants.jsonl`` of a generated data set; counts of what was loaded."""
    db = Database.from_settings(settings)
    try:
        result = await sync_variants(db, Outbox(settings), data_dir / "vehicles" / "variants.jsonl", "full", progress)
    finally:
        await db.dispose()
    return {"variants": result.records_ok, "changed": len(result.changes), "rejected": result.records_rejected}
