"""An XML feed's records as tab-separated lines, written in parts by a process of its own.

    python -m stock_import.imports.xml_records SOURCE SCRATCH RECORD_ELEMENT TAG...

Each record becomes one line holding its mapped child elements (``TAG...``, in that order): the
element's text before any sub-element (like ``findtext``), character references, CDATA and entities
resolved, surrounding XML whitespace (line breaks of an indented document) removed; the first element
of a name wins; elements outside records are ignored.

Once ``PART_RECORDS`` records are ready (a plain document's at the end of a block, so a part may
hold more) they go to ``SCRATCH.<records>`` and a line ``{"part": <records>}`` to standard output,
so the import loads one part while this process reads the next. The last line is
``{"done": <records>}``, or ``{"error": ...}`` with exit status 1 for broken XML. Why a process and
not a thread: parsing is Python work, and in a thread it holds the importing process's interpreter
lock, which slowed every statement of the import beside it (creating its staging tables took 20-90
ms instead of 2) and kept parsing from overlapping the load.
This module imports only the standard library, so the process starts in a few tens of milliseconds.
"""

from __future__ import annotations

import json
import operator
import re
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
    """Write the records' lines in parts, calling ``hand_over(records)`` as each is complete; the records.

    A plain document goes through ``_plain_records``; anything else, or a plain document that turns out
    otherwise part way, through expat's callbacks, which carry on after the parts already handed over.
    """
    handed_over = 0

    def count(records: int) -> None:
        nonlocal handed_over
        handed_over = records
        hand_over(records)

    try:
        return _plain_records(source, scratch, record, tags, count)
    except _NotPlain:
        return _parsed_records(source, scratch, record, tags, hand_over, skip=handed_over)


def _parsed_records(
    source: Path, scratch: Path, record: str, tags: Sequence[str], hand_over: Callable[[int], None], skip: int = 0
) -> int:
    """``convert`` by expat's callbacks: any document. Parts up to record ``skip`` are not written again."""
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
            if records > skip:
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


class _NotPlain(Exception):
    """The document is not of the plain shape (or not well-formed): the callbacks decide."""


BLOCK = 1 << 20
LEFTOVER_MAX = 16 << 20  # an unfinished record longer than this is not plain
NAME = rb"[^\s<>/!?&=\"']+"
TEXT = rb"[^<&\r]*"  # no markup, reference or carriage return: the bytes are the text expat reports
PROLOG = re.compile(rb"(?:\xef\xbb\xbf)?(?:<\?xml\s[^?>]*\?>)?\s*<(" + NAME + rb")(?:\s[^<>]*)?>")
DECLARED_ENCODING = re.compile(rb"\A(?:\xef\xbb\xbf)?<\?xml\s[^?>]*encoding\s*=\s*[\"']([^\"']*)[\"']")
CHILD = re.compile(rb"\s*<(" + NAME + rb")(?:>(" + TEXT + rb")</[^<>]*>|/>)")
SPACE = XML_SPACE.encode()


def _plain_records(
    source: Path, scratch: Path, record: str, tags: Sequence[str], hand_over: Callable[[int], None]
) -> int:
    """``convert`` without a Python call per element, for the shape most feeds have.

    Plain: UTF-8; a root element (not the record) holding only records and whitespace; each record
    without attributes, holding only whitespace and child elements without attributes, each empty or
    holding text without markup, references or carriage returns. In such a document the bytes between
    a child's tags are exactly the text expat would report. Well-formedness is still checked by expat
    (without callbacks, in C) on every block before its records are read. The records of a block are
    then read by one expression when they all have the children of the first record in its order
    (``_Layout``), and one by one otherwise. Anything else raises ``_NotPlain``.
    """
    opening, closing = f"<{record}>".encode(), f"</{record}>".encode()
    one = re.compile(rb"\s*" + re.escape(opening) + rb"((?:" + CHILD.pattern + rb")*)\s*" + re.escape(closing))
    checker = expat.ParserCreate()
    layout: _Layout | None = None
    records, handed, pending = 0, 0, bytearray()
    with source.open("rb") as file:
        buffer = file.read(BLOCK)
        declared = DECLARED_ENCODING.match(buffer)
        if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
            raise _NotPlain
        prolog = PROLOG.match(buffer)
        if prolog is None or prolog.group(1) == record.encode():
            raise _NotPlain
        end = re.compile(rb"\s*</" + re.escape(prolog.group(1)) + rb">\s*\Z")
        position, block, last = prolog.end(), buffer, False
        while True:
            try:
                checker.Parse(block, last)
            except expat.ExpatError as exc:
                raise _NotPlain from exc
            cut = buffer.rfind(closing, position)  # the records complete so far end there
            if cut >= 0:
                cut += len(closing)
                region = buffer[position:cut]
                if layout is None and (first := one.match(region)):
                    layout = _Layout(first.group(1), tags, opening, closing)
                lines = layout.lines(region) if layout else None
                if lines is None:
                    lines = _one_by_one(region, one, tags)
                pending += lines
                records += lines.count(b"\n")
                position = cut
                if records - handed >= PART_RECORDS:
                    part_path(scratch, records).write_bytes(pending)
                    pending.clear()
                    handed = records
                    hand_over(records)
            if last:
                break
            if len(buffer) - position > LEFTOVER_MAX:
                raise _NotPlain
            block = file.read(BLOCK)
            buffer, position, last = buffer[position:] + block, 0, not block
    if not end.match(buffer, position):
        raise _NotPlain
    if pending:
        part_path(scratch, records).write_bytes(pending)
        hand_over(records)
    return records


def _one_by_one(region: bytes, one: re.Pattern[bytes], tags: Sequence[str]) -> bytes:
    """The lines of a region of complete records, read one record at a time."""
    index_of = {tag.encode(): index for index, tag in enumerate(tags)}
    lines, position = [], 0
    while position < len(region):
        match = one.match(region, position)
        if match is None:
            raise _NotPlain
        values: list[bytes | None] = [None] * len(tags)
        for child in CHILD.finditer(match.group(1)):
            index = index_of.get(child.group(1))
            if index is not None and values[index] is None:
                values[index] = (child.group(2) or b"").strip(SPACE)
        lines.append("\t".join((value or b"").decode().translate(TSV_ESCAPES) for value in values).encode() + b"\n")
        position = match.end()
    return b"".join(lines)


class _Layout:
    """Records with the children of a first record, in its order: one expression rewrites many as lines.

    A mapped child's text is captured without its surrounding XML whitespace, and only when it holds
    no tab, line break or backslash (which TSV would have to escape); a record that differs in any way
    does not match, and then the whole region is read one by one.
    """

    def __init__(self, first_children: bytes, tags: Sequence[str], opening: bytes, closing: bytes) -> None:
        names = [child.group(1) for child in CHILD.finditer(first_children)]
        group_of: dict[bytes, int] = {}
        pattern = b""
        for name in names:
            quoted = re.escape(name)
            if name.decode() in tags and name not in group_of:
                group_of[name] = len(group_of) + 1
                text = rb"[ \t\n]*+([^<&\r\t\n\\]*?)[ \t\n]*"
            else:
                text = TEXT
            pattern += rb"\s*<" + quoted + rb"(?:>" + text + rb"</" + quoted + rb">|/>)"
        for tag in tags:  # a tag the layout lacks: an empty group, so every record yields one value per tag
            if tag.encode() not in group_of:
                group_of[tag.encode()] = len(group_of) + 1
                pattern += b"()"
        record = rb"\s*" + re.escape(opening) + pattern + rb"\s*" + re.escape(closing) + b"()"  # always a tuple
        self.record = re.compile(record)
        self.run = re.compile(rb"(?:" + record + rb")*+")
        self.in_tag_order = operator.itemgetter(*(group_of[tag.encode()] - 1 for tag in tags), -1)

    def lines(self, region: bytes) -> bytes | None:
        """The region's lines, or None when not every record in it has the layout."""
        if not self.run.fullmatch(region):
            return None
        # Each record's (values..., b"") joined by tabs ends in a tab (no value holds one): dropped at the line end.
        lines = b"\n".join(map(b"\t".join, map(self.in_tag_order, self.record.findall(region))))
        return (lines + b"\n").replace(b"\t\n", b"\n")


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
