"""Feed formats (CSV, XML, JSON), written as a stream: header, items page by page, footer.

Each format can continue a document at any item boundary (JSON needs to know whether items came
before, for the separator), which is what lets a crashed run resume in its file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import orjson

FIELDS = ("sku", "ean", "brand", "type", "description", "quantity", "price", "delivery_date")
Item = tuple[Any, ...]  # one value per field of FIELDS


@dataclass(frozen=True)
class FeedMeta:
    """What a feed document says about itself."""

    platform_id: str
    kind: str
    run_id: str


class FeedFormat:
    """One format: its file extension, content type and how header, items and footer are written."""

    extension = ""
    content_type = ""

    def begin(self, meta: FeedMeta) -> bytes:
        """The document's start."""
        raise NotImplementedError

    def items(self, items: Sequence[Item], written_before: int) -> bytes:
        """Encoded items (tuples in ``FIELDS`` order); ``written_before``: how many the document already holds."""
        raise NotImplementedError

    def end(self) -> bytes:
        """The document's end."""
        raise NotImplementedError


class CsvFormat(FeedFormat):
    """``;``-separated, header row, UTF-8."""

    extension = "csv"
    content_type = "text/csv; charset=utf-8"

    def begin(self, meta: FeedMeta) -> bytes:
        """The header row."""
        return (";".join(FIELDS) + "\n").encode()

    def items(self, items: Sequence[Item], written_before: int) -> bytes:
        """One row per item (empty fields empty)."""
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=";", lineterminator="\n").writerows(items)
        return buffer.getvalue().encode()

    def end(self) -> bytes:
        """Nothing after the last row."""
        return b""


class XmlFormat(FeedFormat):
    """``<feed>`` of ``<item>`` elements."""

    extension = "xml"
    content_type = "application/xml"

    def begin(self, meta: FeedMeta) -> bytes:
        """The declaration and the opening ``<feed>``."""
        attributes = f"platform={quoteattr(meta.platform_id)} kind={quoteattr(meta.kind)} run={quoteattr(meta.run_id)}"
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<feed {attributes}>\n'.encode()

    def items(self, items: Sequence[Item], written_before: int) -> bytes:
        """One ``<item>`` per item (empty fields left out; only free text needs escaping)."""
        parts = []
        for sku, ean, brand, kind, description, quantity, price, delivery in items:
            parts.append(
                f"<item><sku>{_text(sku)}</sku>{f'<ean>{ean}</ean>' if ean else ''}<brand>{_text(brand)}</brand>"
                f"<type>{kind}</type><description>{_text(description)}</description><quantity>{quantity}</quantity>"
                f"<price>{price}</price>{f'<delivery_date>{delivery}</delivery_date>' if delivery else ''}</item>\n"
            )
        return "".join(parts).encode()

    def end(self) -> bytes:
        """The closing ``</feed>``."""
        return b"</feed>\n"


class JsonFormat(FeedFormat):
    """One JSON document: ``{"platform", "kind", "run", "items": [...]}``."""

    extension = "json"
    content_type = "application/json"

    def begin(self, meta: FeedMeta) -> bytes:
        """Everything up to the items array's opening bracket."""
        head = orjson.dumps({"platform": meta.platform_id, "kind": meta.kind, "run": meta.run_id})
        return head[:-1] + b',"items":[\n'

    def items(self, items: Sequence[Item], written_before: int) -> bytes:
        """Items as objects, comma-separated (also from the previous page's last one)."""
        encoded = b",\n".join(orjson.dumps(dict(zip(FIELDS, item, strict=True))) for item in items)
        return (b",\n" if written_before and items else b"") + encoded

    def end(self) -> bytes:
        """Closing the array and the object."""
        return b"\n]}\n"


def _text(value: str) -> str:
    return escape(value) if "&" in value or "<" in value or ">" in value else value


FORMATS: dict[str, FeedFormat] = {"csv": CsvFormat(), "xml": XmlFormat(), "json": JsonFormat()}
