"""An XML feed's records as tab-separated lines, written in parts by a process of its own.

    python -m stock_import.imports.xml_records SOURCE SCRATCH RECORD_ELEMENT TAG...

Each record becomes one line holding its mapped child elements (``TAG...``, in that order): the
element's text before any sub-element (like ``findtext``), character references, CDATA and entities
resolved, surrounding XML whitespace (line breaks of an indented document) removed; the first element
of a name wins; elements outside records are ignored.

Every ``PART_RECORDS`` records the lines so far go to ``SCRATCH.<records>`` and a line
``{"part": <records>}`` to standard output, so the import loads one part while this process parses
the next. The last line is ``{"done": <records>}``, or ``{"error": ...}`` with exit status 1 for
broken XML. Why a process and not a thread: parsing is Python callbacks, and in a thread they hold
the importing process's interpreter lock, which slowed every statement of the import beside them
(creating its staging tables took 20-90 ms instead of 2) and kept parsing from overlapping the load.
This module imports only the standard library, so the process starts in a few tens of milliseconds.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from xml.parsers import expat

PART_RECORDS = 4_000  # records per part: small enough to overlap parsing and loading
XML_SPACE = " \t\r\n"  # an indented document may put line breaks around a value
TSV_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class BrokenXml(ValueError):
    """The document is not well-formed; the message names the last complete record."""


def part_path(scratch: Path, records: int) -> Path:
    """The part that ends after ``records`` records."""
    return scratch.with_name(f"{scratch.name}.{records:09d}")


def convert(source: Path, scratch: Path, record: str, tags: Sequence[str], hand_over: Callable[[int], None]) -> int:
    """Write the records' lines in parts, calling ``hand_over(records)`` as each is complete; the records."""
    index_of = {tag: index for index, tag in enumerate(tags)}
    width = len(tags)
    parser = expat.ParserCreate()
    parser.buffer_text = True
    records = depth = 0  # depth: 0 outside a record, 1 in the record, 2 in one of its children
    values: list[str | None] = []
    field: int | None = None
    text: list[str] = []
    collecting = False
    lines: list[str] = []

    def flush() -> None:
        part_path(scratch, records).write_text("".join(lines), encoding="utf-8")
        lines.clear()
        hand_over(records)

    def start(name: str, _attributes: object) -> None:
        nonlocal depth, values, field, collecting
        if depth:
            depth += 1
            if depth == 2:
                index = index_of.get(name)
                if index is not None and values[index] is None:
                    field, collecting = index, True
                    text.clear()
            elif depth == 3:
                collecting = False  # like findtext: the text before the first sub-element
        elif name == record:
            depth, values = 1, [None] * width

    def end(_name: str) -> None:
        nonlocal depth, field, records, collecting
        if not depth:
            return
        if depth == 2 and field is not None:
            values[field] = "".join(text).strip(XML_SPACE)
            field, collecting = None, False
        depth -= 1
        if not depth:
            records += 1
            lines.append("\t".join((value or "").translate(TSV_ESCAPES) for value in values) + "\n")
            if len(lines) == PART_RECORDS:
                flush()

    def characters(data: str) -> None:
        if collecting and depth == 2:
            text.append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        with source.open("rb") as file:
            parser.ParseFile(file)
    except expat.ExpatError as exc:
        raise BrokenXml(f"broken XML after record {records}: {exc}") from exc
    if lines:
        flush()
    return records


def main(argv: Sequence[str]) -> int:
    source, scratch, record, *tags = argv

    def report(message: dict[str, object]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    try:
        records = convert(Path(source), Path(scratch), record, tags, lambda records: report({"part": records}))
    except BrokenXml as exc:
        report({"error": str(exc)})
        return 1
    except OSError as exc:
        report({"error": f"cannot read {Path(source).name}: {exc}"})
        return 1
    report({"done": records})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
