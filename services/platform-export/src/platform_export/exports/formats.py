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

    def items(self, items: Sequence[dict[str, Any]], written_before: int) -> bytes:
        """Encoded items; ``written_before``: how many items the document already holds."""
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

    def items(self, items: Sequence[dict[str, Any]], written_before: int) -> bytes:
        """One row per item."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
        writer.writerows([["" if item[name] is None else item[name] for name in FIELDS] for item in items])
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

    def items(self, items: Sequence[dict[str, Any]], written_before: int) -> bytes:
        """One ``<item>`` per item (empty fields left out)."""
        return "".join(
            "<item>" + "".join(f"<{name}>{escape(str(item[name]))}</{name}>" for name in FIELDS
                               if item[name] is not None) + "</item>\n"
            for item in items
        ).encode()  # fmt: skip

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

    def items(self, items: Sequence[dict[str, Any]], written_before: int) -> bytes:
        """Items, comma-separated (also from the previous page's last one)."""
        encoded = b",\n".join(orjson.dumps(item) for item in items)
        return (b",\n" if written_before and items else b"") + encoded

    def end(self) -> bytes:
        """Closing the array and the object."""
        return b"\n]}\n"


FORMATS: dict[str, FeedFormat] = {"csv": CsvFormat(), "xml": XmlFormat(), "json": JsonFormat()}
