"""Streaming reader of ``variants.jsonl``: one JSON object per line."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import orjson
from pydantic import ValidationError

from foundation.bulk import RowError, row_errors
from vehicle_data.vehicles.models import VariantRecord


class ParsedVariant(NamedTuple):
    """One line of the sync file: the valid variant, or why it was refused."""

    line_no: int
    variant: VariantRecord | None
    errors: Sequence[RowError] = ()


def parse_line(line_no: int, raw: bytes) -> ParsedVariant:
    """Validate one JSON line into a variant (invalid JSON and UTF-8 are reported like bad fields)."""
    try:
        return ParsedVariant(line_no, VariantRecord.model_validate_json(raw))
    except ValidationError as exc:
        return ParsedVariant(line_no, None, row_errors(line_no, exc, _variant_id(raw)))


def _variant_id(raw: bytes) -> str | None:
    # Only for the report of a refused line: names the variant when the JSON itself is readable.
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return str(data["vehicle_variant_id"]) if isinstance(data, dict) and "vehicle_variant_id" in data else None


def read_variants(path: Path) -> Iterator[ParsedVariant]:
    """The variants of ``path``, validated, in file order (blank lines skipped)."""
    with path.open("rb") as file:
        for line_no, raw in enumerate(file, start=1):
            if raw.strip():
                yield parse_line(line_no, raw)
