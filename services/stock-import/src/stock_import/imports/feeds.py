"""A feed file made ready for MariaDB: one streaming pass, no per-row objects in Python.

MariaDB parses and validates the rows (``staging``); this pass makes sure the file is what its
mapping says, and hands MariaDB a file it reads exactly the way the mapping means:

- The whole file must decode in the mapping's encoding and hold no NUL byte; otherwise the batch
  fails with a ``FileFormatError`` naming the line. UTF-8 and cp1252 files go to MariaDB as they
  are (``utf8mb4``, and ``latin1``, which is cp1252 for every byte cp1252 defines), and so do
  ISO 8859-1 files without a byte 0x80-0x9F (the only bytes where it differs from cp1252); any
  other file is transcoded to UTF-8 on the way.
- CSV: the header row, read with the csv module, gives each mapped column's position (a missing
  column fails the batch). Fields are split by MariaDB (delimiter, ``"`` quotes with ``""`` inside).
- Line ends are taken from the file (CRLF, LF or CR), so no stray ``\\r`` ends up in a value.
- XML: a streaming expat parser writes each record's mapped child elements as one tab-separated
  line: the element's text before any sub-element (like ``findtext``), character references, CDATA
  and entities resolved, surrounding XML whitespace (line breaks of an indented document) removed;
  the first element of a name wins; elements outside records are ignored. The conversion runs in a
  thread and hands over a part every ``PART_RECORDS`` records, so MariaDB loads one part while
  Python parses the next (two cores at work). Broken XML fails the batch, naming the last complete
  record. ``LOAD XML`` was measured and not taken (it reads
  attributes and nested elements as fields and leaves CDATA and character references undecoded):
  see ``docs/architecture.md``.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from xml.parsers import expat

from foundation.bulk import FileFormatError
from stock_import.imports.mapping import FeedMapping

BLOCK = 1 << 20
PART_RECORDS = 4_000  # XML records per converted part: small enough to overlap parsing and loading
# Python codec name -> MariaDB character set that decodes every byte the same way.
EXACT_CHARSETS = {"utf-8": "utf8mb4", "cp1252": "latin1", "ascii": "ascii"}
XML_SPACE = " \t\r\n"  # an indented document may put line breaks around a value
TSV_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass(frozen=True)
class StagedFile:
    """What ``LOAD DATA`` reads and how."""

    parts: AsyncIterator[Path]  # the file, or (XML) the pieces of its conversion as each is complete
    charset: str  # MariaDB character set of the parts
    layout: Literal["csv", "tsv", "lines"]  # mapping's CSV dialect, our tab-separated text, whole lines
    positions: dict[str, int]  # offer field -> column number (csv, tsv)
    columns: int  # columns per row (csv, tsv)
    line_end: str
    skip_header: bool


@asynccontextmanager
async def staged_file(path: Path, mapping: FeedMapping, workdir: Path) -> AsyncIterator[StagedFile]:
    """Check ``path`` against ``mapping`` and yield what MariaDB should load (temporary files removed after)."""
    workdir.mkdir(parents=True, exist_ok=True)
    scratch = workdir / f".staging-{path.name}"
    try:
        if mapping.format == "xml":
            positions = {field: index for index, field in enumerate(mapping.columns)}
            async with _converted_parts(path, scratch, mapping) as parts:
                yield StagedFile(parts, "utf8mb4", "tsv", positions, len(positions), "\n", False)
            return
        codec = codecs.lookup(mapping.encoding).name
        charset = EXACT_CHARSETS.get(codec) or ("latin1" if codec == "iso8859-1" and not _has_c1_bytes(path) else None)
        line_end = _check_text(path, mapping.encoding, None if charset else scratch)
        source = _single(path if charset else scratch)
        if mapping.format == "csv":
            positions, columns = _csv_positions(path, mapping)
            yield StagedFile(source, charset or "utf8mb4", "csv", positions, columns, line_end, mapping.has_header)
        else:
            yield StagedFile(source, charset or "utf8mb4", "lines", {}, 1, line_end, False)
    except OSError as exc:
        raise FileFormatError(f"cannot read {path.name}: {exc}") from exc
    finally:
        for leftover in workdir.glob(f"{scratch.name}*"):
            leftover.unlink(missing_ok=True)


def _has_c1_bytes(path: Path) -> bool:
    """Whether the file holds a byte 0x80-0x9F: the only ones MariaDB's latin1 (cp1252) reads unlike ISO 8859-1."""
    c1 = re.compile(rb"[\x80-\x9f]")
    with path.open("rb") as file:
        return any(c1.search(block) for block in iter(lambda: file.read(BLOCK), b""))


async def _single(path: Path) -> AsyncIterator[Path]:
    yield path


@asynccontextmanager
async def _converted_parts(source: Path, scratch: Path, mapping: FeedMapping) -> AsyncIterator[AsyncIterator[Path]]:
    """The XML converted to TSV in a thread, a part at a time: MariaDB loads one part while the next is parsed."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Queue[Path | BaseException | None] = asyncio.Queue()
    stop = threading.Event()

    def hand_over(item: Path | BaseException | None) -> None:
        loop.call_soon_threadsafe(ready.put_nowait, item)

    def convert() -> None:
        try:
            _xml_to_tsv(source, scratch, mapping, hand_over, stop)
        except BaseException as exc:  # handed to the loader, which raises it
            hand_over(exc)
        else:
            hand_over(None)

    async def parts() -> AsyncIterator[Path]:
        while (item := await ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    converting = loop.run_in_executor(None, convert)
    try:
        yield parts()
    finally:
        stop.set()  # the loader gave up early: the thread stops at the next record
        await asyncio.wait([converting])


def _check_text(path: Path, encoding: str, transcode_to: Path | None) -> str:
    """Decode the whole file (copying it as UTF-8 to ``transcode_to`` when given); its line end."""
    decoder = codecs.getincrementaldecoder(encoding)()
    line_end, lines = "", 0
    with path.open("rb") as file, transcode_to.open("wb") if transcode_to else _nowhere() as out:
        while True:
            block = file.read(BLOCK)
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:  # lines counted in bytes: exact for ASCII-based encodings
                line = lines + block.count(b"\n", 0, max(exc.start, 0)) + 1
                raise FileFormatError(f"not {encoding} text ({f'line {line}' if block else 'end of file'}): "
                                      f"{exc.reason}") from exc  # fmt: skip
            if (nul := text.find("\0")) >= 0:
                line = lines + text.count("\n", 0, nul) + 1
                raise FileFormatError(f"line {line} holds a NUL byte: not a text feed")
            if not line_end:
                line_end = "\r\n" if "\r\n" in text else "\n" if "\n" in text else "\r" if "\r" in text else ""
            if out is not None:
                out.write(text.encode("utf-8"))
            lines += text.count("\n")
            if not block:
                return line_end or "\n"


@contextmanager
def _nowhere() -> Iterator[None]:
    yield None


def _csv_positions(path: Path, mapping: FeedMapping) -> tuple[dict[str, int], int]:
    if not mapping.has_header:
        positions = {field: int(str(where)) for field, where in mapping.columns.items()}
        return positions, max(positions.values()) + 1
    with path.open(encoding=mapping.encoding, newline="") as file:
        header = next(csv.reader(file, delimiter=mapping.delimiter), None)
    if header is None:
        raise FileFormatError("the feed is empty: no header row")
    missing = [name for name in mapping.columns.values() if name not in header]
    if missing:
        raise FileFormatError(f"header lacks column(s) {missing}; found {header}")
    return {field: header.index(str(name)) for field, name in mapping.columns.items()}, len(header)


class _Stopped(Exception):
    """The loader no longer wants the rest of the conversion."""


def _xml_to_tsv(
    source: Path, scratch: Path, mapping: FeedMapping, hand_over: Callable[[Path], None], stop: threading.Event
) -> int:
    """Write each record's mapped child elements as a tab-separated line, ``PART_RECORDS`` records a file.

    Each part is handed over once complete; the number of records.
    """
    tags = {str(tag): index for index, tag in enumerate(mapping.columns.values())}
    record = mapping.record_element
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
        part = scratch.with_name(f"{scratch.name}.{records:09d}")
        part.write_text("".join(lines), encoding="utf-8")
        lines.clear()
        hand_over(part)

    def start(name: str, _attributes: object) -> None:
        nonlocal depth, values, field, collecting
        if depth:
            depth += 1
            if depth == 2:
                index = tags.get(name)
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
                if stop.is_set():
                    raise _Stopped
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
        raise FileFormatError(f"broken XML after record {records}: {exc}") from exc
    except _Stopped:
        return records
    if lines:
        flush()
    return records
