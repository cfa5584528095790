"""Load of the platform configurations file (``platforms.json``: a JSON list of configurations).

Each configuration is validated on its own; a bad one is reported by its position in the list
(1-based, as ``RowError.line_no``), its ``platform_id`` where readable, and field, and the others
are still applied. Only new or changed platforms are written (and get a new ``updated_at``);
platforms missing from the file are left as they are (deactivation is ``active: false``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import orjson
from pydantic import ValidationError

from foundation.bulk import FileFormatError, RowError, row_errors, utc_now
from foundation.db import Database
from platform_export.platforms import repository
from platform_export.platforms.models import PlatformConfig


@dataclass
class PlatformLoadResult:
    """What a load did: counts, the written platform ids and the refused configurations."""

    records_total: int = 0
    records_rejected: int = 0
    created: int = 0
    unchanged: int = 0
    changed_ids: list[str] = field(default_factory=list)  # new and changed, in file order
    errors: list[RowError] = field(default_factory=list)

    @property
    def records_ok(self) -> int:
        """Valid configurations (written or unchanged)."""
        return self.records_total - self.records_rejected


def read_platform_configs(path: Path) -> tuple[int, list[PlatformConfig], list[RowError]]:
    """How many records ``path`` holds, the valid configurations and the errors of the others."""
    try:
        records = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise FileFormatError(f"{path.name} is not valid JSON: {exc}") from exc
    if not isinstance(records, list):
        raise FileFormatError(f"{path.name} must hold a JSON list of platform configurations")
    valid: list[PlatformConfig] = []
    errors: list[RowError] = []
    first_position: dict[str, int] = {}
    for position, record in enumerate(records, start=1):
        key = str(record["platform_id"]) if isinstance(record, dict) and "platform_id" in record else None
        try:
            config = PlatformConfig.model_validate(record)
        except ValidationError as exc:
            errors.extend(row_errors(position, exc, key))
            continue
        first = first_position.setdefault(config.platform_id, position)
        if first != position:
            errors.append(RowError(position, "platform_id", key, f"duplicate of record {first}", key))
        else:
            valid.append(config)
    return len(records), valid, errors


async def load_platform_configs(db: Database, path: Path) -> PlatformLoadResult:
    """Validate ``platforms.json`` and write its new and changed platforms; bad ones are reported."""
    total, valid, errors = read_platform_configs(path)
    result = PlatformLoadResult(records_total=total, records_rejected=total - len(valid), errors=errors)
    async with db.sessions.begin() as session:
        stored = await repository.stored_configs(session)
        written = []
        for config in valid:
            row = config.model_dump()  # normalised like the stored row: sorted filters, Decimal markup
            previous = stored.get(config.platform_id)
            if previous == row:
                result.unchanged += 1
                continue
            if previous is None:
                result.created += 1
            result.changed_ids.append(config.platform_id)
            written.append(row)
        now = utc_now()
        await repository.save_platforms(session, [{**row, "updated_at": now} for row in written])
    return result
