"""Streaming reader of the ERP article export: ``;``-separated UTF-8 CSV with a header row."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, NamedTuple

from pydantic import ValidationError

from erp_middleware.articles.models import COLUMNS, COMMON_FIELDS, MODELS, SPEC_FIELDS, Article
from foundation.bulk import MISSING, FileFormatError, RowError, row_errors

if TYPE_CHECKING:
    from _csv import Reader

DELIMITER = ";"


class ParsedLine(NamedTuple):
    """One record of the export: the valid article, or why it was refused."""

    line_no: int
    article: Article | None
    errors: Sequence[RowError] = ()


@dataclass(frozen=True)
class Layout:
    """Where each field sits in this file's rows (the ERP may reorder its columns)."""

    width: int
    type_index: int
    number_index: int
    fields: dict[str, list[tuple[str, int]]]  # per article type: the columns its model reads
    foreign: dict[str, list[tuple[str, int]]]  # per article type: other types' columns, which must be empty


def check_header(header: Sequence[str] | None) -> Layout:
    """The layout of a valid header, or ``FileFormatError`` saying which columns are missing or unknown."""
    if not header:
        raise FileFormatError("the file is empty: expected a header row")
    names = [name.strip() for name in header]
    missing = [name for name in COLUMNS if name not in names]
    unknown = [name for name in names if name not in COLUMNS]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if missing or unknown or duplicated:
        problems = [
            f"{label}: {', '.join(values)}"
            for label, values in (("missing", missing), ("unknown", unknown), ("duplicated", duplicated))
            if values
        ]
        raise FileFormatError(f"wrong header ({'; '.join(problems)}); expected {DELIMITER.join(COLUMNS)}")
    index = {name: position for position, name in enumerate(names)}
    own = {kind: [*COMMON_FIELDS, *SPEC_FIELDS[kind]] for kind in MODELS}
    return Layout(
        width=len(names),
        type_index=index["article_type"],
        number_index=index["article_number"],
        fields={kind: [(name, index[name]) for name in own[kind] if name != "article_type"] for kind in MODELS},
        foreign={kind: [(name, index[name]) for name in COLUMNS if name not in own[kind]] for kind in MODELS},
    )


def parse_line(line_no: int, layout: Layout, row: Sequence[str]) -> ParsedLine:
    """Validate one CSV row into the model of its article type."""
    if len(row) != layout.width:
        reason = f"expected {layout.width} fields, found {len(row)}"
        return ParsedLine(line_no, None, [RowError(line_no, "", DELIMITER.join(row), reason)])
    try:
        "".join(row).encode()
    except UnicodeEncodeError:  # the file is read with surrogateescape: invalid bytes surface here
        return ParsedLine(line_no, None, [RowError(line_no, "", None, "not valid UTF-8")])
    kind = row[layout.type_index].strip()
    number = row[layout.number_index].strip() or None
    model = MODELS.get(kind)
    if model is None:
        reason = f"unknown article type, expected one of {', '.join(MODELS)}" if kind else MISSING
        return ParsedLine(line_no, None, [RowError(line_no, "article_type", kind or None, reason, number)])
    errors = [
        RowError(line_no, name, row[index], f"not applicable to a {kind}, must be empty", number)
        for name, index in layout.foreign[kind]
        if row[index] and row[index].strip()
    ]
    # An empty cell is an absent field: the model reports it if the field is required.
    values = {name: row[index] for name, index in layout.fields[kind] if row[index]}
    try:
        article = model.model_validate({**values, "article_type": kind})
    except ValidationError as exc:
        errors = row_errors(line_no, exc, number) + errors
    return ParsedLine(line_no, None, errors) if errors else ParsedLine(line_no, article)


def _lines(file: IO[str], reader: Reader, layout: Layout) -> Iterator[ParsedLine]:
    with file:
        line_no = 2
        for row in reader:
            if row:  # blank lines carry nothing
                yield parse_line(line_no, layout, row)
            line_no = reader.line_num + 1  # a quoted field may span lines


def open_article_export(path: Path) -> Iterator[ParsedLine]:
    """Check the header of ``path`` now, then stream its records, validated, in file order."""
    file = path.open(encoding="utf-8-sig", newline="", errors="surrogateescape")
    try:
        reader = csv.reader(file, delimiter=DELIMITER)
        layout = check_header(next(reader, None))
    except BaseException:
        file.close()
        raise
    return _lines(file, reader, layout)
