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
  line (what a record holds: ``xml_records``). It runs in a process of its own and hands over a part
  at a time, so MariaDB loads one part while the next is parsed (two cores at work). Broken XML
  fails the batch, naming the last complete record. ``LOAD XML`` was measured and not taken (it
  reads attributes and nested elements as fields and leaves CDATA and character references
  undecoded): see ``docs/architecture.md``.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import json
import re
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from foundation.bulk import FileFormatError
from stock_import.imports import xml_records
from stock_import.imports.mapping import FeedMapping

BLOCK = 1 << 20
# Python codec name -> MariaDB character set that decodes every byte the same way.
EXACT_CHARSETS = {"utf-8": "utf8mb4", "cp1252": "latin1", "ascii": "ascii"}


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
    """The XML converted to TSV by a process of its own, a part at a time: MariaDB loads one part while the
    next is parsed (``xml_records``)."""
    tags = [str(tag) for tag in mapping.columns.values()]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", xml_records.__name__, str(source), str(scratch), str(mapping.record_element), *tags,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = process.stdout, process.stderr
    assert out is not None
    assert err is not None

    async def parts() -> AsyncIterator[Path]:
        async for line in out:
            message = json.loads(line)
            if "part" in message:
                yield xml_records.part_path(scratch, message["part"])
            elif "error" in message:
                raise FileFormatError(message["error"])
            else:
                return
        problem = (await err.read()).decode(errors="replace").strip()
        raise RuntimeError(f"the XML conversion of {source.name} ended without a result "
                           f"(exit status {await process.wait()}): {problem[-2000:]}")  # fmt: skip

    try:
        yield parts()
    finally:
        if process.returncode is None:  # the loader gave up early, or the conversion is done: it ends now
            with suppress(ProcessLookupError):
                process.kill()
        await process.wait()


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
