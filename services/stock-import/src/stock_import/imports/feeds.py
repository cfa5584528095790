"""Streaming feed parsers: one typed offer or the row's errors at a time, never the whole feed.

CSV goes through the csv module over a text stream, XML through ``iterparse`` (each record cleared
once read), fixed width line by line. A problem with one row is a ``RowError`` naming the row, the
field and the value; a problem with the file itself (missing header column, broken XML, wrong
encoding) is a ``FileFormatError`` and the batch applies nothing.
"""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from foundation.bulk import FileFormatError, RowError
from stock_import.imports.mapping import FeedMapping


@dataclass(frozen=True)
class OfferRow:
    """One valid feed row."""

    row_no: int
    article_number: str
    supplier_sku: str | None
    quantity: int
    price: Decimal
    delivery_date: date | None


@lru_cache(maxsize=4096)
def _parse_date(text: str, date_format: str) -> date:
    # A feed repeats a handful of delivery dates over thousands of rows; strptime is the costly part.
    return datetime.strptime(text, date_format).date()


def _typed(row_no: int, raw: dict[str, str], mapping: FeedMapping) -> OfferRow | list[RowError]:
    errors: list[RowError] = []
    article = raw.get("article_number", "").strip().removeprefix(mapping.article_number_prefix)
    if not article:
        errors.append(RowError(row_no, "article_number", raw.get("article_number"), "required but missing or empty"))
    quantity_text = raw.get("quantity", "").strip()
    quantity = 0
    if not quantity_text.lstrip("-").isdigit():
        errors.append(RowError(row_no, "quantity", quantity_text, "not a whole number"))
    elif (quantity := int(quantity_text)) < 0:
        errors.append(RowError(row_no, "quantity", quantity_text, "negative stock"))
    price_text = raw.get("price", "").strip()
    price = Decimal(0)
    try:
        price = Decimal(price_text.replace(mapping.decimal_separator, ".")) if price_text else Decimal(-1)
        if price <= 0:
            errors.append(RowError(row_no, "price", price_text, "required, must be above zero"))
    except InvalidOperation:
        errors.append(
            RowError(row_no, "price", price_text, f"not a number (decimal separator {mapping.decimal_separator!r})")
        )
    date_text = raw.get("delivery_date", "").strip()
    delivery: date | None = None
    if date_text:
        try:
            delivery = _parse_date(date_text, mapping.date_format)
        except ValueError:
            errors.append(RowError(row_no, "delivery_date", date_text, f"not a date in format {mapping.date_format}"))
    if errors:
        return errors
    sku = raw.get("supplier_sku", "").strip() or None
    return OfferRow(row_no, article, sku, quantity, price.quantize(Decimal("0.01")), delivery)


def _csv_records(path: Path, mapping: FeedMapping) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding=mapping.encoding, newline="") as file:
        reader = csv.reader(file, delimiter=mapping.delimiter)
        header = next(reader, None) if mapping.has_header else None
        if mapping.has_header:
            if header is None:
                raise FileFormatError("the feed is empty: no header row")
            missing = [name for name in mapping.columns.values() if name not in header]
            if missing:
                raise FileFormatError(f"header lacks column(s) {missing}; found {header}")
            positions = {field: header.index(str(name)) for field, name in mapping.columns.items()}
        else:
            positions = {field: int(str(name)) for field, name in mapping.columns.items()}
        for row_no, row in enumerate(reader, start=1):
            yield row_no, {field: row[i] if i < len(row) else "" for field, i in positions.items()}


def _xml_records(path: Path, mapping: FeedMapping) -> Iterator[tuple[int, dict[str, str]]]:
    row_no = 0
    try:
        for _, element in ET.iterparse(path, events=("end",)):
            if element.tag != mapping.record_element:
                continue
            row_no += 1
            yield row_no, {field: (element.findtext(str(tag)) or "") for field, tag in mapping.columns.items()}
            element.clear()  # keep memory flat on a 40k-record feed
    except ET.ParseError as exc:
        raise FileFormatError(f"broken XML after record {row_no}: {exc}") from exc


def _fixed_width_records(path: Path, mapping: FeedMapping) -> Iterator[tuple[int, dict[str, str]]]:
    slices = {field: where for field, where in mapping.columns.items() if isinstance(where, list)}
    with path.open(encoding=mapping.encoding) as file:
        for row_no, line in enumerate(file, start=1):
            yield row_no, {field: line[start:end] for field, (start, end) in slices.items()}


READERS = {"csv": _csv_records, "xml": _xml_records, "fixed_width": _fixed_width_records}


def read_feed(path: Path, mapping: FeedMapping) -> Iterator[OfferRow | list[RowError]]:
    """Every row of the feed, typed or as its errors, in file order."""
    try:
        for row_no, raw in READERS[mapping.format](path, mapping):
            yield _typed(row_no, raw, mapping)
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"not {mapping.encoding} text: {exc}") from exc
    except OSError as exc:
        raise FileFormatError(f"cannot read {path.name}: {exc}") from exc
