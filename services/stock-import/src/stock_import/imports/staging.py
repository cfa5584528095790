"""A feed validated and merged in SQL: the staging table every import goes through.

``LOAD DATA LOCAL INFILE`` streams the prepared feed file (``feeds.staged_file``) into a temporary
table of the import's own connection and transaction, and its ``SET`` clause types and checks every
row on the way in. These are the row rules, in one place:

- Values are trimmed of surrounding spaces (XML values of surrounding line breaks and tabs too).
- ``article_number``: required; the mapping's prefix is removed (case-sensitive); at most 50
  characters. Once the catalogue replica exists, a number it does not hold (compared exactly) is
  ``unknown article number``.
- ``supplier_sku``: optional, at most 100 characters.
- ``quantity``: a whole number of ASCII digits, not negative, at most 2147483647.
- ``price``: digits with at most one decimal separator (the mapping's), above zero after rounding
  half up to cents, at most 99999999.99.
- ``delivery_date``: optional; when given it must match the mapping's ``date_format`` the way
  ``strptime`` reads ``%d``, ``%m`` and ``%Y`` (day and month with one or two digits) and be a real
  calendar date.

A row with any problem is reported (row number, field, value, reason: ``REASONS``) and not applied;
the other rows apply. When an article is listed more than once, its last valid row wins.

The merge is set-based as well (``diff_offers``, ``apply_offers``, ``record_row_errors``): only offers
whose values differ from the stored ones are written, a full feed sets the supplier's offers it no
longer lists validly to 0, and the articles whose quantity, price or delivery date changed are
collected in ``aggregates.touched_article`` for the aggregate recompute. Temporary tables belong to the connection
and their rows to the transaction: a rolled-back import leaves nothing, and nothing needs a batch key.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from foundation.bulk import MISSING, RowError
from foundation.local_infile import allow_local_file
from integration_sdk.spec_tables import ARTICLE_NUMBER, MONEY
from stock_import.imports.feeds import StagedFile
from stock_import.imports.mapping import FeedMapping
from stock_import.stock.aggregates import STAGING, TEMPORARY, touched_article
from stock_import.tables import import_row_error, known_article, supplier_offer

ARTICLE_NUMBER_MAX, SKU_MAX = 50, 100
QUANTITY_MAX, PRICE_MAX = 2_147_483_647, "99999999.99"
RAW = sa.String(255)  # longer values arrive cut to 255 characters: still too long, still reported
FIELDS = ("article_number", "supplier_sku", "quantity", "price", "delivery_date")
# field -> the column holding its problem code (NULL: fine)
PROBLEM = {"article_number": "article_problem", "supplier_sku": "sku_problem", "quantity": "quantity_problem",
           "price": "price_problem", "delivery_date": "date_problem"}  # fmt: skip
REASONS: dict[str, dict[int, str]] = {
    "article_number": {1: MISSING, 2: f"longer than {ARTICLE_NUMBER_MAX} characters", 3: "unknown article number"},
    "supplier_sku": {1: f"longer than {SKU_MAX} characters"},
    "quantity": {1: "not a whole number", 2: "negative stock", 3: f"too large (at most {QUANTITY_MAX})"},
    "price": {
        1: "required, must be above zero",
        2: "not a number (decimal separator {separator!r})",
        3: f"too large (at most {PRICE_MAX})",
    },  # fmt: skip
    "delivery_date": {1: "not a date in format {date_format}"},
}
UNKNOWN = 3  # article_problem of a number the catalogue replica does not hold

staged_row = sa.Table(
    "staged_feed_row",
    STAGING,
    sa.Column("article_number", RAW, nullable=False),  # '' when missing
    sa.Column("row_no", sa.Integer, nullable=False, autoincrement=False),
    sa.Column("supplier_sku", RAW),
    sa.Column("quantity", sa.Integer),
    sa.Column("price", MONEY),
    sa.Column("delivery_date", sa.Date),
    *(sa.Column(column, sa.SmallInteger) for column in PROBLEM.values()),
    sa.Column("bad", sa.Boolean, nullable=False),
    *(sa.Column(f"reported_{field}", RAW) for field in FIELDS),  # the value an error report shows
    # Rejected rows first: the error report reads their range alone, every other step the valid rows
    # by article number.
    sa.PrimaryKeyConstraint("bad", "article_number", "row_no"),
    **TEMPORARY,
)
# Valid rows that differ from the stored offer or name an unknown article (several per article until
# the superseded ones are dropped).
staged_change = sa.Table(
    "staged_offer_change",
    STAGING,
    sa.Column("article_number", ARTICLE_NUMBER, primary_key=True),
    sa.Column("row_no", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("unknown", sa.Boolean, nullable=False),
    sa.Column("stock_changed", sa.Boolean, nullable=False),  # quantity, price or delivery date (not only the SKU)
    **TEMPORARY,
)


@asynccontextmanager
async def staging_tables(conn: AsyncConnection) -> AsyncIterator[None]:
    """The import's temporary tables, empty, for the block (dropped after; DROP TEMPORARY never commits)."""
    names = ", ".join(table.name for table in STAGING.sorted_tables)
    drop = sa.text(f"SET STATEMENT sql_notes = 0 FOR DROP TEMPORARY TABLE IF EXISTS {names}")  # no note if absent
    await conn.execute(drop)
    for table in STAGING.sorted_tables:
        await conn.execute(sa.schema.CreateTable(table))
    try:
        yield
    finally:
        with suppress(SQLAlchemyError):  # a broken connection took them along; the first error matters more
            await conn.execute(drop)


def _date_pattern(date_format: str) -> tuple[str, str]:
    """A regex reading ``date_format`` the way strptime does, and the replacement giving ``Y-M-D``."""
    groups = {"%d": "(3[01]|[12][0-9]|0[1-9]|[1-9])", "%m": "(1[0-2]|0[1-9]|[1-9])", "%Y": "([0-9]{4})"}
    pattern, order = "", []
    for token in re.findall(r"%.|[^%]+", date_format):
        if token in groups:
            pattern += groups[token]
            order.append(token)
        else:
            pattern += re.escape(token.replace("%%", "%"))
    group = {token: f"\\{index}" for index, token in enumerate(order, start=1)}
    return f"^{pattern}$", f"{group['%Y']}-{group['%m']}-{group['%d']}"


def _raw_values(staged: StagedFile, mapping: FeedMapping) -> tuple[list[str], dict[str, str]]:
    """The column list of the LOAD statement and the SQL expression of each field's raw text."""
    if staged.layout == "lines":
        slices = {field: where for field, where in mapping.columns.items() if isinstance(where, list)}
        return ["@line"], {f: f"SUBSTRING(@line, {start + 1}, {end - start})" for f, (start, end) in slices.items()}
    return [f"@c{index}" for index in range(staged.columns)], {f: f"@c{i}" for f, i in staged.positions.items()}


def load_statement(staged: StagedFile, mapping: FeedMapping) -> tuple[str, dict[str, Any]]:
    """``LOAD DATA`` of the staged file into ``staged_row``, typing and checking every row; SQL and parameters."""
    columns, raw = _raw_values(staged, mapping)
    value = {field: f"TRIM(COALESCE({raw[field]}, ''))" if field in raw else "''" for field in FIELDS}
    separator = mapping.decimal_separator
    date_pattern, date_canonical = _date_pattern(mapping.date_format)
    article = "(@article_text := " + value["article_number"] + ")"
    if mapping.article_number_prefix:
        article = (f"IF(LEFT({article}, {len(mapping.article_number_prefix)}) = BINARY :prefix, "
                   f"SUBSTRING(@article_text, {len(mapping.article_number_prefix) + 1}), @article_text)")  # fmt: skip
    price = "REPLACE(@price, ',', '.')" if separator == "," else "@price"
    is_real_day = (  # day within its month (the pattern keeps day 1-31 and month 1-12)
        "(@year := SUBSTRING_INDEX(@date, '-', 1) + 0) >= 1 AND SUBSTRING_INDEX(@date, '-', -1) + 0 <= "
        "CASE SUBSTRING_INDEX(SUBSTRING_INDEX(@date, '-', 2), '-', -1) + 0 WHEN 2 THEN "
        "28 + (@year % 4 = 0 AND (@year % 100 <> 0 OR @year % 400 = 0)) WHEN 4 THEN 30 WHEN 6 THEN 30 "
        "WHEN 9 THEN 30 WHEN 11 THEN 30 ELSE 31 END"
    )
    assignments = [
        "row_no = (@row_no := @row_no + 1)",
        f"article_number = (@article := {article})",
        f"article_problem = (@article_problem := CASE WHEN @article = '' THEN 1 "
        f"WHEN CHAR_LENGTH(@article) > {ARTICLE_NUMBER_MAX} THEN 2 END)",
        f"supplier_sku = (@sku := NULLIF({value['supplier_sku']}, ''))",
        f"sku_problem = (@sku_problem := IF(CHAR_LENGTH(@sku) > {SKU_MAX}, 1, NULL))",
        # Up to nine digits is the common case and always fine; only other texts go through the checks.
        f"quantity_problem = (@quantity_problem := CASE WHEN (@quantity := {value['quantity']}) "
        "REGEXP '^[0-9]{1,9}$' THEN NULL WHEN @quantity NOT REGEXP '^-?[0-9]+$' THEN 1 "
        "WHEN LEFT(@quantity, 1) = '-' THEN IF(@quantity REGEXP '[1-9]', 2, NULL) "
        "WHEN CHAR_LENGTH(@quantity) >= 10 AND (CHAR_LENGTH(@digits := TRIM(LEADING '0' FROM @quantity)) > 10 "
        f"OR (CHAR_LENGTH(@digits) = 10 AND @digits > '{QUANTITY_MAX}')) THEN 3 END)",
        "quantity = IF(@quantity_problem IS NULL, CAST(@quantity AS SIGNED), NULL)",
        # DECIMAL(65, 2) holds any number the pattern lets through, or clamps it: still above the maximum.
        f"price_problem = (@price_problem := CASE WHEN (@price := {value['price']}) = '' THEN 1 "
        "WHEN @price NOT REGEXP :price_pattern THEN 2 "
        f"WHEN (@amount := CAST({price} AS DECIMAL(65, 2))) > {PRICE_MAX} THEN 3 WHEN @amount <= 0 THEN 1 END)",
        "price = IF(@price_problem IS NULL, @amount, NULL)",
        # Most dates are written exactly as DATE_FORMAT writes them back (a cheap exact check); the rest
        # go through the strptime-shaped pattern.
        f"date_problem = (@date_problem := IF((@date_text := {value['delivery_date']}) = '', NULL, "
        "IF(DATE_FORMAT(@day := STR_TO_DATE(@date_text, :date_format), :date_format) = @date_text "
        "AND @day + INTERVAL 0 DAY IS NOT NULL, NULL, "
        "IF((@date := IF(@date_text REGEXP :date_pattern, REGEXP_REPLACE(@date_text, :date_pattern, :date_canonical), "
        f"NULL)) IS NOT NULL AND {is_real_day} AND (@day := STR_TO_DATE(@date, :iso_date)) IS NOT NULL, NULL, 1))))",
        "delivery_date = IF(@date_text <> '' AND @date_problem IS NULL, @day, NULL)",
        "bad = (@bad := COALESCE(@article_problem, @sku_problem, @quantity_problem, @price_problem, @date_problem) "
        "IS NOT NULL)",
        "reported_article_number = IF(@article_problem = 1, COALESCE("
        + raw.get("article_number", "''")
        + ", ''), IF(@article_problem IS NULL, NULL, @article))",
        "reported_supplier_sku = IF(@sku_problem IS NULL, NULL, @sku)",
        "reported_quantity = IF(@quantity_problem IS NULL, NULL, @quantity)",
        "reported_price = IF(@price_problem IS NULL, NULL, @price)",
        "reported_delivery_date = IF(@date_problem IS NULL, NULL, @date_text)",
    ]
    if staged.layout == "csv":
        fields = "FIELDS TERMINATED BY :delimiter OPTIONALLY ENCLOSED BY '\"' ESCAPED BY ''"
    elif staged.layout == "tsv":
        fields = "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\'"
    else:  # whole lines: NUL never occurs (the file was checked), so it splits nothing
        fields = "FIELDS TERMINATED BY '\\0' ESCAPED BY ''"
    # Short or long rows and values cut to 255 characters raise notes the rules already cover.
    header = "IGNORE 1 LINES " if staged.skip_header else ""
    sql = (f"SET STATEMENT max_error_count = 0 FOR LOAD DATA LOCAL INFILE :path INTO TABLE {staged_row.name} "
           f"CHARACTER SET {staged.charset} {fields} LINES TERMINATED BY :line_end {header}"
           f"({', '.join(columns)}) SET {', '.join(assignments)}")  # fmt: skip
    escaped_separator = re.escape(separator)
    params = {
        "delimiter": mapping.delimiter,
        "line_end": staged.line_end,
        "prefix": mapping.article_number_prefix,
        "separator": separator,
        "price_pattern": f"^([0-9]+({escaped_separator}[0-9]*)?|{escaped_separator}[0-9]+)$",
        "date_pattern": date_pattern,
        "date_canonical": date_canonical,
        "date_format": mapping.date_format,
        "iso_date": "%Y-%m-%d",
    }
    return sql, params


async def load(conn: AsyncConnection, staged: StagedFile, mapping: FeedMapping) -> None:
    """Stream the staged file (each part in turn, row numbers running on) into ``staged_row``."""
    sql, params = load_statement(staged, mapping)
    await conn.execute(sa.text("SET @row_no = 0"))
    async for part in staged.parts:
        with allow_local_file(part) as name:
            await conn.execute(sa.text(sql), {**params, "path": name})


async def diff_offers(conn: AsyncConnection, supplier_id: str, check_known: bool) -> None:
    """Collect the valid rows that name an unknown article or differ from the supplier's stored offer.

    A row repeating an offer stored for a known article (``article_known``) is not looked up in the
    catalogue: the discontinued articles' offers lost that mark. Other rows are, in the SELECT list,
    which only the rows the WHERE keeps reach; a known one then rewrites its offer with the mark.
    """
    same_stock = "o.quantity <=> s.quantity AND o.purchase_price <=> s.price AND o.delivery_date <=> s.delivery_date"
    same = f"{same_stock} AND o.supplier_sku <=> s.supplier_sku"
    # The catalogue index finds the number case-insensitively; BINARY then insists on the exact spelling.
    unknown = (f"NOT EXISTS (SELECT 1 FROM {known_article.name} k WHERE k.article_number = s.article_number "
               "AND BINARY k.article_number = s.article_number)" if check_known else "FALSE")  # fmt: skip
    repeated = f"{same} AND o.article_known" if check_known else same
    await conn.execute(
        sa.text(f"""
            INSERT INTO {staged_change.name} (article_number, row_no, unknown, stock_changed)
            SELECT s.article_number, s.row_no, {unknown}, NOT ({same_stock})
            FROM {staged_row.name} s
            LEFT JOIN {supplier_offer.name} o ON o.supplier_id = :supplier AND o.article_number = s.article_number
            WHERE NOT s.bad AND NOT ({repeated})"""),
        {"supplier": supplier_id},
    )
    # A row followed by a later valid row of the same article does not count (the last one wins).
    await conn.execute(
        sa.text(f"""
            DELETE c FROM {staged_change.name} c WHERE NOT c.unknown AND EXISTS (
                SELECT 1 FROM {staged_row.name} s
                WHERE s.article_number = c.article_number AND s.row_no > c.row_no AND NOT s.bad)""")
    )


async def apply_offers(
    conn: AsyncConnection, supplier_id: str, batch_id: str, *, full: bool, now: datetime, check_known: bool
) -> int:
    """After ``diff_offers``: zero what a full feed no longer lists, write the changed offers; offers changed.

    The articles whose quantity, price or delivery date changed are left in ``touched_article``.
    """
    if full:  # before the writes: it takes what is in touched_article as the offers to zero
        await _zero_missing_offers(conn, supplier_id, batch_id, now)
    await _write_offers(conn, supplier_id, batch_id, now, check_known)
    return int(await conn.scalar(sa.select(sa.func.count()).select_from(touched_article)) or 0)


async def _zero_missing_offers(conn: AsyncConnection, supplier_id: str, batch_id: str, now: datetime) -> None:
    """The supplier's offers the feed does not list with a valid row go to quantity 0 (and are touched)."""
    # Each stored offer probes the staged rows' primary key (valid rows, then article number); faster than
    # a hash table of the listed articles built for the probe, whose filling cost more than it saved.
    await conn.execute(
        sa.text(f"""
            INSERT INTO {touched_article.name} (article_number)
            SELECT o.article_number FROM {supplier_offer.name} o
            WHERE o.supplier_id = :supplier AND o.quantity <> 0 AND NOT EXISTS (
                SELECT 1 FROM {staged_row.name} s WHERE s.article_number = o.article_number AND NOT s.bad)"""),
        {"supplier": supplier_id},
    )
    # Rows of an unknown article are not "bad" in the staged table, so the statement above kept them.
    await conn.execute(
        sa.text(f"""
            INSERT INTO {touched_article.name} (article_number)
            SELECT DISTINCT o.article_number FROM {staged_change.name} c
            JOIN {supplier_offer.name} o ON o.supplier_id = :supplier AND o.article_number = c.article_number
            WHERE c.unknown AND o.quantity <> 0"""),
        {"supplier": supplier_id},
    )
    await conn.execute(
        sa.text(f"""
            UPDATE {touched_article.name} t STRAIGHT_JOIN {supplier_offer.name} o
              ON o.supplier_id = :supplier AND o.article_number = t.article_number
            SET o.quantity = 0, o.batch_id = :batch, o.updated_at = :now"""),
        {"supplier": supplier_id, "batch": batch_id, "now": now},
    )


async def _write_offers(conn: AsyncConnection, supplier_id: str, batch_id: str, now: datetime, known: bool) -> None:
    """Upsert the changed offers in one statement (in key order) and add their articles to the touched ones.

    ``known``: the rows were checked against the catalogue replica (the offers get ``article_known``).
    """
    await conn.execute(
        sa.text(f"""
            INSERT INTO {supplier_offer.name}
                (supplier_id, article_number, supplier_sku, quantity, purchase_price, delivery_date, batch_id,
                 updated_at, article_known)
            SELECT :supplier, s.article_number, s.supplier_sku, s.quantity, s.price, s.delivery_date, :batch, :now,
                :known
            FROM {staged_change.name} c
            JOIN {staged_row.name} s ON NOT s.bad AND s.article_number = c.article_number AND s.row_no = c.row_no
            WHERE NOT c.unknown ORDER BY c.article_number
            ON DUPLICATE KEY UPDATE supplier_sku = VALUES(supplier_sku), quantity = VALUES(quantity),
                purchase_price = VALUES(purchase_price), delivery_date = VALUES(delivery_date),
                batch_id = VALUES(batch_id), updated_at = VALUES(updated_at), article_known = VALUES(article_known)"""),
        {"supplier": supplier_id, "batch": batch_id, "now": now, "known": known},
    )
    await conn.execute(
        sa.text(f"""
            INSERT INTO {touched_article.name} (article_number)
            SELECT article_number FROM {staged_change.name} WHERE NOT unknown AND stock_changed""")
    )


def _reason_cases(mapping: FeedMapping) -> tuple[str, dict[str, Any]]:
    """``CASE`` choosing the reason of each (field, problem) from ``REASONS``, with its parameters."""
    params: dict[str, Any] = {}
    cases = []
    for field, reasons in REASONS.items():
        for code, reason in reasons.items():
            name = f"reason_{field}_{code}"
            params[name] = reason.format(separator=mapping.decimal_separator, date_format=mapping.date_format)
            cases.append(f"WHEN f.field = '{field}' AND f.code = {code} THEN :{name}")
    return f"CASE {' '.join(cases)} END", params


async def record_row_errors(conn: AsyncConnection, batch_id: str, mapping: FeedMapping) -> None:
    """Every problem of every rejected row into the batch's error report, in row and field order."""
    reason, params = _reason_cases(mapping)
    fields = " UNION ALL ".join(f"SELECT {order} AS ord, '{field}' AS field" for order, field in enumerate(FIELDS))
    code = "CASE f.ord " + " ".join(f"WHEN {order} THEN s.{PROBLEM[field]}" for order, field in enumerate(FIELDS))
    value = "CASE f.ord " + " ".join(f"WHEN {order} THEN s.reported_{field}" for order, field in enumerate(FIELDS))
    # One pass over the rejected rows, each paired with the five fields (the field list stays in the join buffer).
    problems = (f"SELECT STRAIGHT_JOIN f.ord, f.field, s.row_no, {code} END AS code, {value} END AS value "
                f"FROM {staged_row.name} s JOIN ({fields}) f WHERE s.bad HAVING code IS NOT NULL")  # fmt: skip
    unknown = (f"SELECT 0, 'article_number', c.row_no, {UNKNOWN}, c.article_number "
               f"FROM {staged_change.name} c WHERE c.unknown")  # fmt: skip
    await conn.execute(
        sa.text(f"""
            INSERT INTO {import_row_error.name} (batch_id, row_no, field, value, reason)
            SELECT :batch, f.row_no, f.field, COALESCE(LEFT(f.value, 255), ''), {reason}
            FROM ({problems} UNION ALL {unknown}) f ORDER BY f.row_no, f.ord"""),
        {**params, "batch": batch_id},
    )


async def row_counts(conn: AsyncConnection, batch_id: str) -> tuple[int, int]:
    """After ``record_row_errors``: rows in the feed and rows rejected (read from the small error report)."""
    rejected = sa.select(sa.func.count(sa.distinct(import_row_error.c.row_no))).where(
        import_row_error.c.batch_id == batch_id
    )
    row = (await conn.execute(sa.select(sa.text("@row_no"), rejected.scalar_subquery()))).one()
    return int(row[0]), int(row[1])


async def first_row_errors(conn: AsyncConnection, batch_id: str, limit: int) -> list[RowError]:
    """The first ``limit`` errors of a batch's report, in row order."""
    rows = await conn.execute(
        sa.select(import_row_error.c.row_no, import_row_error.c.field, import_row_error.c.value,
                  import_row_error.c.reason)
        .where(import_row_error.c.batch_id == batch_id)
        .order_by(import_row_error.c.row_no, import_row_error.c.id)
        .limit(limit)
    )  # fmt: skip
    return [RowError(row_no, field, value, reason) for row_no, field, value, reason in rows]
