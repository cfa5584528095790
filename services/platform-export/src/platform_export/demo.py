"""Demo data for ``atraxion seed``: the generated platform configurations through the real load path."""

from __future__ import annotations

from pathlib import Path

from foundation.db import Database
from foundation.progress import Progress
from foundation.settings import ServiceSettings
from platform_export.platforms.service import load_platform_configs


async def load_demo_data(settings: ServiceSettings, data_dir: Path, progress: Progress) -> dict[str, int]:
    """Load ``platforms/platforms.json`` of a generated data set; counts of what was loaded."""
    db = Database.from_settings(settings)
    try:
        task = progress.task("platform configurations", total=1)
        result = await load_platform_configs(db, data_dir / "platforms" / "platforms.json")
        task.advance()
    finally:
        await db.dispose()
    return {"platforms": result.records_ok, "changed": len(result.changed_ids), "rejected": result.records_rejected}
