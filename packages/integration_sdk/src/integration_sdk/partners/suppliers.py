"""50 suppliers, each with its own feed format and a declarative mapping of it.

Formats seen in the trade: German-style CSV (``;``, decimal comma, cp1252, dd.mm.yyyy), English CSV
(``,``, decimal point, UTF-8, ISO dates, other column names and order), XML with the supplier's own
element names, and fixed-width text from older systems. About 0.3% of rows are malformed the way
real feeds are (text in a number, negative stock, missing price, impossible date, an article we do
not sell); the manifest records which rows, so the importer's report can be checked exactly.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from integration_sdk.partners.catalog import Article

REFERENCE_DAY = date(2026, 11, 23)  # fixed, so the same seed gives the same feeds on any day
MALFORMED_KINDS = ("bad_quantity", "negative_quantity", "missing_price", "bad_date", "unknown_article")
MALFORMED_SHARE = 0.003

MAPPINGS: tuple[dict[str, Any], ...] = (
    {"format": "csv", "encoding": "cp1252", "delimiter": ";", "decimal_separator": ",", "date_format": "%d.%m.%Y",
     "has_header": True, "article_number_prefix": "AT-",
     "columns": {"article_number": "Artikelnummer", "supplier_sku": "Lieferanten-Nr", "quantity": "Bestand",
                 "price": "Preis", "delivery_date": "Liefertermin"}},
    {"format": "csv", "encoding": "utf-8", "delimiter": ",", "decimal_separator": ".", "date_format": "%Y-%m-%d",
     "has_header": True, "article_number_prefix": "",
     "columns": {"supplier_sku": "sku", "quantity": "stock", "price": "net_price", "delivery_date": "eta",
                 "article_number": "item_code"}},
    {"format": "xml", "encoding": "utf-8", "record_element": "Artikel", "date_format": "%Y-%m-%d",
     "decimal_separator": ".", "article_number_prefix": "",
     "columns": {"article_number": "Code", "supplier_sku": "EigeneNr", "quantity": "Voorraad", "price": "Prijs",
                 "delivery_date": "Levering"}},
    {"format": "fixed_width", "encoding": "latin-1", "date_format": "%Y%m%d", "decimal_separator": ".",
     "article_number_prefix": "",
     "columns": {"article_number": [0, 16], "supplier_sku": [16, 32], "quantity": [32, 40], "price": [40, 50],
                 "delivery_date": [50, 58]}},
    {"format": "csv", "encoding": "utf-8", "delimiter": ";", "decimal_separator": ",", "date_format": "%d/%m/%Y",
     "has_header": True, "article_number_prefix": "BE",
     "columns": {"article_number": "Referentie", "quantity": "Aantal", "price": "Prijs excl. BTW",
                 "delivery_date": "Leverdatum", "supplier_sku": "Code leverancier"}},
)  # fmt: skip
SUPPLIER_NAMES = ("Reifen", "Pneus", "Banden", "Tyres", "Wheels", "Felgen", "Distribution", "Trading", "Logistik")
CITIES = ("Antwerpen", "Gent", "Liège", "Köln", "Lille", "Rotterdam", "Eindhoven", "Hannover", "Lyon", "Milano")


@dataclass(frozen=True)
class Supplier:
    """A supplier definition as stock-import registers it."""

    supplier_id: str
    name: str
    min_order_qty: int
    lead_time_days: int
    mapping: dict[str, Any]
    rows: int

    @property
    def extension(self) -> str:
        """Feed file extension."""
        return {"csv": "csv", "xml": "xml", "fixed_width": "txt"}[self.mapping["format"]]

    def definition(self) -> dict[str, Any]:
        """The JSON definition (what ``suppliers.json`` lists)."""
        return {"supplier_id": self.supplier_id, "name": self.name, "min_order_qty": self.min_order_qty,
                "lead_time_days": self.lead_time_days, "mapping": self.mapping}  # fmt: skip


def generate_suppliers(rng: random.Random, count: int, rows: tuple[int, int]) -> list[Supplier]:
    """``count`` suppliers cycling through the mapping styles, feeds of ``rows`` (min, max) rows."""
    return [
        Supplier(
            supplier_id=f"SUP-{n:03d}",
            name=f"{rng.choice(CITIES)} {rng.choice(SUPPLIER_NAMES)} {rng.choice(('NV', 'BV', 'GmbH', 'SA', 'SRL'))}",
            min_order_qty=rng.choice((1, 1, 2, 4)),
            lead_time_days=rng.randint(1, 7),
            mapping=MAPPINGS[(n - 1) % len(MAPPINGS)],
            rows=rng.randint(*rows),
        )
        for n in range(1, count + 1)
    ]


@dataclass
class Offer:
    """One feed row before formatting (values may be deliberately broken)."""

    article_number: str
    supplier_sku: str
    quantity: str
    price: Decimal | None
    delivery: date | str | None


def _offers(supplier: Supplier, articles: list[Article], rng: random.Random) -> Iterator[tuple[Offer, str | None]]:
    """The supplier's offers (popular articles more often) with the malformed kind of each, if any."""
    weights = [article.popularity for article in articles]
    picked = sorted(set(rng.choices(range(len(articles)), weights=weights, k=int(supplier.rows * 1.25))))
    rng.shuffle(picked)
    for index in sorted(picked[: supplier.rows]):
        article = articles[index]
        quantity = rng.choice((0, 0, 1, 2, 3, 4, 4, 8, 12, 20, 40, 100, 250))
        price = (article.list_price * Decimal(rng.uniform(0.55, 0.85))).quantize(Decimal("0.01"))
        delivery: date | None = REFERENCE_DAY + timedelta(days=rng.randint(-6, 21)) if rng.random() < 0.7 else None
        offer = Offer(article.article_number, f"{supplier.supplier_id[-3:]}{index:08d}", str(quantity), price, delivery)
        kind = rng.choice(MALFORMED_KINDS) if rng.random() < MALFORMED_SHARE else None
        if kind == "bad_quantity":
            offer.quantity = rng.choice(("n/a", "ca. 10", "?"))
        elif kind == "negative_quantity":
            offer.quantity = str(-rng.randint(1, 9))
        elif kind == "missing_price":
            offer.price = None
        elif kind == "bad_date":
            offer.delivery = "2026-13-45"
        elif kind == "unknown_article":
            offer.article_number = f"ZZ{rng.randint(0, 9_999_999):07d}"
        yield offer, kind


def _number(value: Decimal | None, separator: str) -> str:
    return "" if value is None else f"{value:.2f}".replace(".", separator)


def _date(value: date | str | None, date_format: str) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else value.strftime(date_format)


def write_feed(path: Path, supplier: Supplier, articles: list[Article], rng: random.Random) -> dict[str, Any]:
    """Write the full feed in the supplier's format, row by row; returns its row count and malformed rows."""
    mapping = supplier.mapping
    columns = mapping["columns"]
    separator = mapping["decimal_separator"]
    prefix = mapping["article_number_prefix"]
    malformed: dict[str, list[int]] = {kind: [] for kind in MALFORMED_KINDS}
    rows = 0
    with path.open("w", encoding=mapping["encoding"], newline="") as file:
        writer: Any = None
        if mapping["format"] == "csv":
            writer = csv.writer(file, delimiter=mapping["delimiter"], lineterminator="\r\n")
            writer.writerow(list(columns.values()))
        elif mapping["format"] == "xml":
            file.write(f'<?xml version="1.0" encoding="{mapping["encoding"]}"?>\n<Voorraadlijst>\n')
        for offer, kind in _offers(supplier, articles, rng):
            rows += 1
            values = {
                "article_number": prefix + offer.article_number, "supplier_sku": offer.supplier_sku,
                "quantity": offer.quantity, "price": _number(offer.price, separator),
                "delivery_date": _date(offer.delivery, mapping["date_format"]),
            }  # fmt: skip
            if mapping["format"] == "csv":
                writer.writerow([values[field] for field in columns])
            elif mapping["format"] == "xml":
                children = "".join(f"<{tag}>{escape(values[field])}</{tag}>" for field, tag in columns.items())
                file.write(f"  <{mapping['record_element']}>{children}</{mapping['record_element']}>\n")
            else:
                line = ""
                for field, (start, end) in sorted(columns.items(), key=lambda item: item[1][0]):
                    line = line.ljust(start) + values[field][: end - start].ljust(end - start)
                file.write(line + "\n")
            if kind is not None:
                malformed[kind].append(rows)
        if mapping["format"] == "xml":
            file.write("</Voorraadlijst>\n")
    return {"rows": rows, "malformed_rows": {kind: found for kind, found in malformed.items() if found}}
