"""The staged (SQL) import path against the real MariaDB: every row rule, every format and encoding, and
all-or-nothing under failure and redelivery."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import ArticleDiscontinued, Envelope, FullFeedReceived
from foundation.bulk import RowError
from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk.consumer import BatchContext, Consumer
from integration_sdk.outbox import OUTBOX, Outbox
from integration_sdk.partners.suppliers import MAPPINGS
from integration_sdk.testing import truncate_tables
from integration_sdk.topology import BULK
from stock_import.catalogue import HANDLERS as catalogue_handlers
from stock_import.imports import handlers, service, xml_records
from stock_import.imports.mapping import FeedMapping
from stock_import.imports.service import ImportResult, import_feed, receive_feed, register_suppliers
from stock_import.settings import StockImportSettings
from stock_import.tables import article_stock_aggregate, import_batch, import_row_error, known_article, supplier_offer

# The five feed styles of the trade (German CSV cp1252 with decimal comma, English CSV, XML, fixed width
# latin-1, Dutch CSV), plus CSV in an encoding MariaDB has no twin for (transcoded on the way).
STYLES = {f"ST{n}": mapping for n, mapping in enumerate(MAPPINGS, start=1)}
STYLES["ST6"] = {**MAPPINGS[1], "encoding": "utf-16"}
ENGLISH = "ST2"
Offers = dict[str, tuple[int, Decimal, date | None]]


@dataclass(frozen=True)
class Row:
    """One feed row before formatting: price and date are values, or text with {sep} / {d} {m} {Y} slots."""

    article: str
    quantity: str
    price: Decimal | str
    delivery: date | str | None = None
    sku: str = ""


def render(style: dict[str, Any], rows: list[Row], *, xml_frills: bool = False) -> bytes:
    """The rows as a feed of ``style`` (what a supplier would send)."""
    separator, date_format, prefix = style["decimal_separator"], style["date_format"], style["article_number_prefix"]

    def values(row: Row) -> dict[str, str]:
        price = f"{row.price:.2f}".replace(".", separator) if isinstance(row.price, Decimal) else row.price
        if isinstance(row.delivery, date):
            delivery = row.delivery.strftime(date_format)
        elif row.delivery is None:
            delivery = ""
        else:  # a slotted text: the same wrong date written in this style's field order
            day, month, year = row.delivery.split("|") if "|" in row.delivery else (row.delivery, "", "")
            delivery = date_format.replace("%d", day).replace("%m", month).replace("%Y", year) if month else day
        return {"article_number": prefix + row.article if row.article else "", "supplier_sku": row.sku,
                "quantity": row.quantity, "price": price.format(sep=separator), "delivery_date": delivery}  # fmt: skip

    columns = style["columns"]
    if style["format"] == "csv":
        out = io.StringIO()
        writer = csv.writer(out, delimiter=style["delimiter"], lineterminator="\r\n")
        writer.writerow(list(columns.values()))
        for row in rows:
            writer.writerow([values(row)[field] for field in columns])
        return out.getvalue().encode(style["encoding"])
    if style["format"] == "xml":
        record = style["record_element"]
        lines = ['<?xml version="1.0" encoding="utf-8"?>', "<Lijst>"]
        for row in rows:
            texts = values(row)
            if xml_frills:  # indentation, CDATA, character references, a comment, an unmapped element
                children = "".join(
                    f"\n    <{tag}>\n      <![CDATA[{texts[field]}]]>\n    </{tag}>" if n % 2
                    else f"<{tag}>{''.join(f'&#{ord(c)};' for c in texts[field])}</{tag}><!-- note -->"
                    for n, (field, tag) in enumerate(columns.items())
                ) + "<Omschrijving>band <b>R16</b></Omschrijving>"  # fmt: skip
            else:
                children = "".join(f"<{tag}>{escape(texts[field])}</{tag}>" for field, tag in columns.items())
            lines.append(f"  <{record}>{children}</{record}>")
        lines.append("</Lijst>")
        return ("\n".join(lines) + "\n").encode("utf-8")
    text = ""
    for row in rows:
        line = ""
        for field, (start, end) in sorted(columns.items(), key=lambda item: item[1][0]):
            line = line.ljust(start) + values(row)[field][: end - start].ljust(end - start)
        text += line + "\n"
    return text.encode(style["encoding"])


@pytest.fixture
async def db(migrated_islands: dict[str, ServiceSettings], tmp_path: Path) -> AsyncIterator[Database]:
    settings = migrated_islands["stock-import"]
    await truncate_tables(settings)
    definitions = tmp_path / "suppliers.json"
    definitions.write_text(json.dumps([
        {"supplier_id": supplier_id, "name": f"Style {supplier_id}", "mapping": mapping}
        for supplier_id, mapping in STYLES.items()
    ]))  # fmt: skip
    database = Database.from_settings(settings)
    await register_suppliers(database, definitions)
    yield database
    await database.dispose()


@pytest.fixture
def outbox(migrated_islands: dict[str, ServiceSettings]) -> Outbox:
    return Outbox(migrated_islands["stock-import"])


async def run(
    db: Database, outbox: Outbox, folder: Path, supplier_id: str, content: bytes, kind: Any = "delta"
) -> ImportResult:
    path = folder / f"{supplier_id}-{kind}.feed"
    path.write_bytes(content)
    return await import_feed(db, outbox, folder / "store", supplier_id, path, kind)


async def offers(db: Database, supplier_id: str) -> Offers:
    query = sa.select(supplier_offer.c.article_number, supplier_offer.c.quantity, supplier_offer.c.purchase_price,
                      supplier_offer.c.delivery_date).where(supplier_offer.c.supplier_id == supplier_id)  # fmt: skip
    async with db.reader.connect() as conn:
        return {number: (qty, price, delivery) for number, qty, price, delivery in await conn.execute(query)}


async def report(db: Database, batch_id: str) -> list[RowError]:
    error = import_row_error
    query = (sa.select(error.c.row_no, error.c.field, error.c.value, error.c.reason)
             .where(error.c.batch_id == batch_id).order_by(error.c.row_no, error.c.id))  # fmt: skip
    async with db.reader.connect() as conn:
        return [RowError(*row) for row in await conn.execute(query)]


async def catalogue(db: Database, *numbers: str) -> None:
    async with db.writer.begin() as conn:
        await conn.execute(sa.insert(known_article), [{"article_number": n, "article_type": "tyre", "ean": None,
                                                       "updated_at": date(2026, 11, 25)} for n in numbers])  # fmt: skip


async def discontinue(db: Database, outbox: Outbox, *numbers: str) -> None:
    """The catalogue's discontinuations through stock-import's handler (as its consumer applies a batch)."""
    items = [(event, Envelope.wrap(event, produced_by="erp-middleware", correlation_id="t"))
             for event in (ArticleDiscontinued(article_number=number, version=2) for number in numbers)]  # fmt: skip
    async with db.sessions.begin() as session:
        await catalogue_handlers["catalog.article.discontinued"].apply(items, BatchContext(session, outbox))


async def article_known(db: Database, supplier_id: str) -> dict[str, bool]:
    query = sa.select(supplier_offer.c.article_number, supplier_offer.c.article_known).where(
        supplier_offer.c.supplier_id == supplier_id)  # fmt: skip
    async with db.reader.connect() as conn:
        return {number: bool(known) for number, known in await conn.execute(query)}


DEC_2 = date(2026, 12, 2)
RULES: list[tuple[Row, Any]] = [
    # (row, the offer it gives or the errors it gets as (field, value, reason))
    (Row("TY01", "12", Decimal("89.95"), DEC_2, "X1"), (12, Decimal("89.95"), DEC_2)),
    (Row("  TY02 ", " 007 ", "  5.5 ", " 2026-2-3 "), (7, Decimal("5.50"), date(2026, 2, 3))),
    (Row("TY03", "-0", ".5", None), (0, Decimal("0.50"), None)),
    (Row("TY04", "2147483647", "12.345", "2028-02-29"), (2147483647, Decimal("12.35"), date(2028, 2, 29))),
    (Row("TY05", "1", "99999999.99", "2026-12-31"), (1, Decimal("99999999.99"), date(2026, 12, 31))),
    (Row("TY06", "-3", "1.00"), [("quantity", "-3", "negative stock")]),
    (Row("TY07", "n/a", "1.00"), [("quantity", "n/a", "not a whole number")]),
    (Row("TY08", "", "1.00"), [("quantity", "", "not a whole number")]),
    (Row("TY09", "2147483648", "1.00"), [("quantity", "2147483648", "too large (at most 2147483647)")]),
    (Row("TY10", "1", ""), [("price", "", "required, must be above zero")]),
    (Row("TY11", "1", "0.004"), [("price", "0.004", "required, must be above zero")]),
    (Row("TY12", "1", "1,50"), [("price", "1,50", "not a number (decimal separator '.')")]),
    (Row("TY13", "1", "1e3"), [("price", "1e3", "not a number (decimal separator '.')")]),
    (Row("TY14", "1", "99999999.995"), [("price", "99999999.995", "too large (at most 99999999.99)")]),
    (Row("TY15", "1", "1.00", "2026-02-30"), [("delivery_date", "2026-02-30", "not a date in format %Y-%m-%d")]),
    (Row("TY16", "1", "1.00", "2026-13-45"), [("delivery_date", "2026-13-45", "not a date in format %Y-%m-%d")]),
    (Row("TY17", "1", "1.00", "2026-12-02x"), [("delivery_date", "2026-12-02x", "not a date in format %Y-%m-%d")]),
    (Row("TY18", "1", "1.00", "0000-01-01"), [("delivery_date", "0000-01-01", "not a date in format %Y-%m-%d")]),
    (Row("", "1", "1.00"), [("article_number", "", "required but missing or empty")]),
    (Row("T" * 51, "1", "1.00"), [("article_number", "T" * 51, "longer than 50 characters")]),
    (Row("TY21", "1", "1.00", sku="S" * 101), [("supplier_sku", "S" * 101, "longer than 100 characters")]),
    (Row("TY22", "x", "0"), [("quantity", "x", "not a whole number"), ("price", "0", "required, must be above zero")]),
    (Row("ZZ99", "1", "1.00"), [("article_number", "ZZ99", "unknown article number")]),
]


async def test_every_row_rule(db: Database, outbox: Outbox, tmp_path: Path) -> None:
    await catalogue(db, *(f"TY{n:02d}" for n in range(1, 23)))
    result = await run(db, outbox, tmp_path, ENGLISH, render(STYLES[ENGLISH], [row for row, _ in RULES]))
    expected_errors = [RowError(n, *error) for n, (_, outcome) in enumerate(RULES, 1) if isinstance(outcome, list)
                       for error in outcome]  # fmt: skip
    expected_offers = {row.article.strip(): outcome for row, outcome in RULES if isinstance(outcome, tuple)}
    assert result.errors == expected_errors == await report(db, result.batch_id)
    assert await offers(db, ENGLISH) == expected_offers
    assert (result.rows_total, result.rows_ok, result.rows_rejected) == (len(RULES), 5, len(RULES) - 5)
    assert result.offers_changed == result.aggregates_changed == 5


async def test_the_last_valid_row_of_an_article_wins(db: Database, outbox: Outbox, tmp_path: Path) -> None:
    rows = [Row("A", "5", Decimal("1.00")), Row("B", "1", Decimal("2.00")), Row("A", "7", Decimal("3.00")),
            Row("A", "bad", Decimal("4.00"))]  # fmt: skip
    await run(db, outbox, tmp_path, ENGLISH, render(STYLES[ENGLISH], rows))
    assert (await offers(db, ENGLISH))["A"] == (7, Decimal("3.00"), None)
    # Stored 7 now: a feed saying 1 then 7 again changes nothing; one saying 7 then 1 changes A.
    same = await run(db, outbox, tmp_path, ENGLISH, render(STYLES[ENGLISH], [rows[0], rows[2]]))
    assert (same.offers_changed, same.aggregates_changed) == (0, 0)
    flipped = await run(db, outbox, tmp_path, ENGLISH, render(STYLES[ENGLISH], [rows[2], rows[0]]))
    assert flipped.offers_changed == 1
    assert (await offers(db, ENGLISH))["A"] == (5, Decimal("1.00"), None)


async def test_a_full_feed_zeroes_what_it_lists_no_more_or_only_badly(
    db: Database, outbox: Outbox, tmp_path: Path
) -> None:
    await catalogue(db, "A", "B", "C", "D")
    first = [Row("A", "5", Decimal("1.00")), Row("B", "6", Decimal("1.00")), Row("C", "7", Decimal("1.00")),
             Row("D", "8", Decimal("1.00"))]  # fmt: skip
    await run(db, outbox, tmp_path, ENGLISH, render(STYLES[ENGLISH], first), "full")
    await discontinue(db, outbox, "D")  # the catalogue ends D meanwhile
    second = [Row("A", "5", Decimal("1.00")), Row("C", "??", Decimal("1.00")), Row("D", "8", Decimal("1.00"))]
    result = await run(db, outbox, tmp_path, ENGLISH, render(STYLES[ENGLISH], second), "full")
    assert await offers(db, ENGLISH) == {"A": (5, Decimal("1.00"), None), "B": (0, Decimal("1.00"), None),
                                         "C": (0, Decimal("1.00"), None), "D": (0, Decimal("1.00"), None)}  # fmt: skip
    assert [(e.line_no, e.field, e.reason) for e in result.errors] == [
        (2, "quantity", "not a whole number"), (3, "article_number", "unknown article number")]  # fmt: skip
    assert (result.offers_changed, result.aggregates_changed) == (3, 3)


async def test_offers_stored_before_the_catalogue_arrived_are_checked_once_it_has(
    db: Database, outbox: Outbox, tmp_path: Path
) -> None:
    feed = render(STYLES[ENGLISH], [Row("A", "5", Decimal("1.00")), Row("X", "6", Decimal("1.00"))])
    before = await run(db, outbox, tmp_path, ENGLISH, feed, "full")  # no replica yet: every number accepted
    assert (before.rows_rejected, await article_known(db, ENGLISH)) == (0, {"A": False, "X": False})
    await catalogue(db, "A")
    again = await run(db, outbox, tmp_path, ENGLISH, feed, "full")  # the same feed, now checked: X is unknown
    assert [(e.line_no, e.field, e.value, e.reason) for e in again.errors] == [
        (2, "article_number", "X", "unknown article number")
    ]
    assert await offers(db, ENGLISH) == {"A": (5, Decimal("1.00"), None), "X": (0, Decimal("1.00"), None)}
    assert (again.offers_changed, await article_known(db, ENGLISH)) == (1, {"A": True, "X": False})
    # A's offer is marked now: the unchanged re-import changes nothing; X stays reported.
    third = await run(db, outbox, tmp_path, ENGLISH, feed, "full")
    assert (third.offers_changed, third.aggregates_changed, [e.value for e in third.errors]) == (0, 0, ["X"])


async def test_a_full_feed_with_no_valid_row_fails_and_changes_nothing(
    db: Database, outbox: Outbox, tmp_path: Path
) -> None:
    await run(db, outbox, tmp_path, ENGLISH, render(STYLES[ENGLISH], [Row("A", "5", Decimal("1.00"))]), "full")
    before = await offers(db, ENGLISH)
    rows = [Row(f"A{n}", "5", "1,00") for n in range(1_200)]  # the supplier switched to decimal commas
    failed = await run(db, outbox, tmp_path, ENGLISH, render(STYLES[ENGLISH], rows), "full")
    assert (failed.status, failed.rows_total, failed.rows_ok, failed.rows_rejected) == ("failed", 1_200, 0, 1_200)
    assert "none of the feed's 1200 rows is valid" in (failed.error or "")
    assert len(failed.errors) == service.ERROR_SAMPLE
    assert len(await report(db, failed.batch_id)) == 1_200  # the whole report is kept
    assert await offers(db, ENGLISH) == before
    # A correction whose rows all fail applies nothing either, and says so row by row.
    delta = await run(db, outbox, tmp_path, ENGLISH, render(STYLES[ENGLISH], rows[:3]))
    assert (delta.status, delta.rows_ok, delta.rows_rejected, delta.offers_changed) == ("succeeded", 0, 3, 0)
    async with db.reader.connect() as conn:
        status = await conn.scalar(sa.select(import_batch.c.status).where(import_batch.c.batch_id == failed.batch_id))
    assert status == "failed"


BAD_QUANTITIES = ["-3", "n/a", "", "1.5"]  # each fits the narrowest (fixed-width) slot
BAD_PRICES = ["", "0", "abc", "1{sep}2{sep}3", "-1"]
BAD_DATES = ["45|13|2026", "30|02|2026", "x"]  # day|month|year in each style's order, or plain text
rows_strategy = st.lists(
    st.builds(
        Row,
        article=st.sampled_from(["TY0000001", "TY0000002", "TY0000003", "WH0000004", "ZZ9999999", ""]),
        quantity=st.one_of(st.integers(0, 9_999_999).map(str), st.sampled_from(BAD_QUANTITIES)),
        price=st.one_of(st.decimals("0.01", "999999.99", places=2), st.sampled_from(BAD_PRICES)),
        delivery=st.one_of(st.none(), st.dates(date(2001, 1, 1), date(2099, 12, 31)), st.sampled_from(BAD_DATES)),
        sku=st.sampled_from(["", "X1", "ÄÖ-ü é"]),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_strategy, frills=st.booleans())
def test_every_format_and_encoding_gives_the_same_offers_and_row_errors(
    migrated_islands: dict[str, ServiceSettings], tmp_path_factory: pytest.TempPathFactory, rows: list[Row],
    frills: bool,
) -> None:  # fmt: skip
    folder = tmp_path_factory.mktemp("formats")

    async def scenario() -> None:
        settings_ = migrated_islands["stock-import"]
        await truncate_tables(settings_)
        definitions = folder / "suppliers.json"
        definitions.write_text(json.dumps([{"supplier_id": s, "name": s, "mapping": m} for s, m in STYLES.items()]))
        database = Database.from_settings(settings_)
        try:
            await register_suppliers(database, definitions)
            await catalogue(database, "TY0000001", "TY0000002", "TY0000003", "WH0000004")
            outcomes = {}
            for supplier_id, style in STYLES.items():
                result = await run(database, Outbox(settings_), folder, supplier_id,
                                   render(style, rows, xml_frills=frills))  # fmt: skip
                assert result.status == "succeeded", (supplier_id, result.error)
                # Reasons name the style's decimal separator or date format; the rest must be identical.
                errors = [(e.line_no, e.field, e.reason.split(" (")[0].split(" in format")[0]) for e in result.errors]
                outcomes[supplier_id] = (await offers(database, supplier_id), errors)
        finally:
            await database.dispose()
        reference = outcomes[ENGLISH]
        for supplier_id, outcome in outcomes.items():
            assert outcome == reference, supplier_id

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("supplier_id", "content", "problem"),
    [
        ("ST1", b"Artikelnummer;Lieferanten-Nr;Bestand;Preis;Liefertermin\r\nAT-A;\x81;1;1,00;\r\n",
         "not cp1252 text (line 2)"),
        (ENGLISH, b"sku,stock,net_price,eta,item_code\r\nX,1,1.00,,A\r\n\xff\xfe,1,1.00,,B\r\n",
         "not utf-8 text (line 3)"),
        (ENGLISH, b"sku,stock,net_price,eta,item_code\nX,1,1.00,,A\x00\n", "line 2 holds a NUL byte"),
        ("ST4", b"", "empty"),
        ("ST3", b"<?xml version='1.0'?><L><Artikel><Code>A</Code></Artikel><Artikel><Code>",
         "broken XML after record 1"),
    ],
    ids=["cp1252", "utf-8", "nul", "empty", "xml"],
)  # fmt: skip
async def test_unreadable_files_fail_the_batch_naming_where(
    db: Database, outbox: Outbox, tmp_path: Path, supplier_id: str, content: bytes, problem: str
) -> None:
    await run(db, outbox, tmp_path, ENGLISH, render(STYLES[ENGLISH], [Row("A", "5", Decimal("1.00"))]))
    if not content:
        with pytest.raises(service.EmptyFeed):
            await run(db, outbox, tmp_path, supplier_id, content)
        return
    result = await run(db, outbox, tmp_path, supplier_id, content, "full")
    assert result.status == "failed"
    assert problem in (result.error or "")
    assert await offers(db, ENGLISH) == {"A": (5, Decimal("1.00"), None)}  # the failed full feed zeroed nothing
    if supplier_id != ENGLISH:
        assert await offers(db, supplier_id) == {}


@pytest.mark.parametrize("line_end", ["\r\n", "\n", "\r"])
async def test_csv_quoting_and_line_ends(db: Database, outbox: Outbox, tmp_path: Path, line_end: str) -> None:
    text = line_end.join(['sku,stock,net_price,eta,item_code', '"a, ""quoted"" sku",3,1.50,,A', 'short,4',
                          'x,5,2.00,2026-12-02,B,extra', ''])  # fmt: skip
    result = await run(db, outbox, tmp_path, ENGLISH, text.encode())
    assert await offers(db, ENGLISH) == {"A": (3, Decimal("1.50"), None), "B": (5, Decimal("2.00"), DEC_2)}
    assert [(e.line_no, e.field) for e in result.errors] == [(2, "article_number"), (2, "price")]
    async with db.reader.connect() as conn:
        sku = await conn.scalar(sa.select(supplier_offer.c.supplier_sku).where(supplier_offer.c.article_number == "A"))
    assert sku == 'a, "quoted" sku'


def test_date_formats_the_sql_rules_cannot_read_are_refused_at_registration() -> None:
    with pytest.raises(ValueError, match="date_format must use each of %d, %m, %Y"):
        FeedMapping.model_validate({**MAPPINGS[1], "date_format": "%d-%b-%y"})
    assert FeedMapping.model_validate({**MAPPINGS[1], "date_format": "%Y%%%m%%%d"}).date_format == "%Y%%%m%%%d"


class Crash(RuntimeError):
    """Stands for the process dying at that point."""


async def test_a_crash_mid_import_leaves_nothing_and_the_redelivery_applies_once(
    db: Database, migrated_islands: dict[str, ServiceSettings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_ = migrated_islands["stock-import"].model_copy(update={"feed_store_dir": tmp_path / "store"})
    assert isinstance(settings_, StockImportSettings)
    feed = tmp_path / "full.csv"
    feed.write_bytes(render(STYLES[ENGLISH], [Row("A", "5", Decimal("1.00")), Row("B", "x", Decimal("1.00"))]))
    async with db.sessions.begin() as session:
        batch_id = await receive_feed(session, Outbox(settings_), settings_.feed_store_dir, ENGLISH, "full",
                                      "upload", feed.name, feed)  # fmt: skip
    command = Envelope.wrap(FullFeedReceived(batch_id=batch_id, supplier_id=ENGLISH, file_name=feed.name),
                            produced_by="stock-import", correlation_id="crash")  # fmt: skip
    consumer = Consumer(settings=settings_, queue_class=BULK, handlers=handlers.HANDLERS[BULK],
                        sessions=db.sessions, outbox=Outbox(settings_), name="feeds")  # fmt: skip

    original = Outbox.add_from_select

    async def crash_after_the_offers(*args: Any, **kwargs: Any) -> int:
        raise Crash("gone after writing offers, aggregates and the row report")

    monkeypatch.setattr(Outbox, "add_from_select", crash_after_the_offers)
    outcomes = await consumer.apply_batch([command])
    assert isinstance(outcomes[0], Crash)
    assert await offers(db, ENGLISH) == {}
    assert await report(db, batch_id) == []
    async with db.reader.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(article_stock_aggregate)) == 0
        status = await conn.scalar(sa.select(import_batch.c.status).where(import_batch.c.batch_id == batch_id))
    assert status == "queued"

    monkeypatch.setattr(Outbox, "add_from_select", original)
    assert await consumer.apply_batch([command]) == [True]  # the redelivery
    assert await consumer.apply_batch([command]) == [False]  # a duplicate of it: the inbox refuses
    assert await offers(db, ENGLISH) == {"A": (5, Decimal("1.00"), None)}
    assert [(e.line_no, e.field) for e in await report(db, batch_id)] == [(2, "quantity")]
    async with db.reader.connect() as conn:
        events = await conn.scalar(sa.select(sa.func.count()).select_from(OUTBOX)
                                   .where(OUTBOX.c.message_type == "stock.availability.changed"))  # fmt: skip
    assert events == 1


def test_renderer_writes_each_style() -> None:
    """The test's own feed writer: each style reads back as the supplier formats it."""
    rows = [Row("TY1", "3", Decimal("1.50"), DEC_2, "X")]
    assert render(STYLES["ST1"], rows).decode("cp1252").splitlines()[1] == "AT-TY1;X;3;1,50;02.12.2026"
    assert render(STYLES["ST4"], rows).decode("latin-1") == (
        "TY1".ljust(16) + "X".ljust(16) + "3".ljust(8) + "1.50".ljust(10) + "20261202\n"
    )
    assert "<Code>TY1</Code>" in render(STYLES["ST3"], rows).decode()


async def test_a_long_xml_feed_broken_near_the_end_applies_nothing_and_leaves_no_parts(
    db: Database, outbox: Outbox, tmp_path: Path
) -> None:
    rows = [Row(f"TY{n:07d}", "3", Decimal("1.50")) for n in range(xml_records.PART_RECORDS * 2 + 10)]
    whole = render(STYLES["ST3"], rows)
    good = await run(db, outbox, tmp_path, "ST3", whole, "full")
    assert (good.status, good.rows_total, good.rows_ok) == ("succeeded", len(rows), len(rows))
    broken = whole[: len(whole) - 200]  # cut inside one of the last records: two parts were loaded already
    result = await run(db, outbox, tmp_path, "ST3", broken.replace(b"1.50", b"9.99"), "full")
    assert result.status == "failed"
    assert f"broken XML after record {broken.count(b'</Artikel>')}" in (result.error or "")
    assert set((await offers(db, "ST3")).values()) == {(3, Decimal("1.50"), None)}
    assert not list((tmp_path / "store").rglob(".staging-*"))


async def test_latin_1_control_bytes_are_read_as_latin_1_not_cp1252(
    db: Database, outbox: Outbox, tmp_path: Path
) -> None:
    """0x80 is a C1 control in ISO 8859-1 but € in MariaDB's latin1: a file with it goes to MariaDB as UTF-8."""
    plain = render(STYLES["ST4"], [Row("A", "1", Decimal("1.00"), sku="é")])
    control = render(STYLES["ST4"], [Row("B", "1", Decimal("1.00"), sku="x\x80")])
    for content in (plain, control):
        assert (await run(db, outbox, tmp_path, "ST4", content)).status == "succeeded"
    async with db.reader.connect() as conn:
        rows = await conn.execute(sa.select(supplier_offer.c.article_number, supplier_offer.c.supplier_sku))
        skus = {row.article_number: row.supplier_sku for row in rows}
    assert skus == {"A": "é", "B": "x\x80"}
