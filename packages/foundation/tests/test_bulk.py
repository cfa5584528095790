"""The shared bulk-ingestion helpers, against the real MariaDB where they touch it."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import create_async_engine

from foundation.bulk import (
    LockBusyError,
    RowError,
    chunked,
    content_hash,
    named_lock,
    row_errors,
    split_changed,
    upsert,
)
from foundation.settings import ServiceSettings

metadata = sa.MetaData()
item = sa.Table(
    "bulk_test_item",
    metadata,
    sa.Column("item_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(20), nullable=False),
    sa.Column("content_hash", sa.CHAR(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Integer, nullable=False),
)


def test_content_hash_ignores_key_order_and_sees_every_value() -> None:
    assert content_hash({"a": 1, "b": Decimal("9.90")}) == content_hash({"b": Decimal("9.90"), "a": 1})
    assert content_hash({"a": 1, "b": Decimal("9.90")}) != content_hash({"a": 1, "b": Decimal("9.9")})
    assert len(content_hash({})) == 64


def test_chunked_keeps_order_and_the_short_tail() -> None:
    assert list(chunked(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(chunked([], 3)) == []


def test_row_errors_name_line_field_value_and_key() -> None:
    class Line(BaseModel):
        quantity: int
        price: Decimal

    with pytest.raises(ValidationError) as caught:
        Line.model_validate({"quantity": "many"})
    errors = row_errors(7, caught.value, key="SKU-1")
    assert [(e.line_no, e.field, e.value, e.key) for e in errors] == [
        (7, "quantity", "many", "SKU-1"),
        (7, "price", None, "SKU-1"),
    ]
    assert errors[1].reason == "required but missing or empty"
    assert RowError(3, "f" * 80, None, "r" * 300).as_row("row_no", batch_id="b") == {
        "row_no": 3, "field": "f" * 64, "value": "", "reason": "r" * 255, "batch_id": "b",
    }  # fmt: skip


async def test_split_and_upsert_write_only_new_and_changed_rows(migrated_islands: dict[str, ServiceSettings]) -> None:
    engine = create_async_engine(migrated_islands["webshop"].db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            rows = [{"item_id": i, "name": f"n{i}", "created_at": 1} for i in range(3)]
            split = await split_changed(conn, item, "item_id", [{**r, "content_hash": content_hash(r)} for r in rows])
            assert (split.created, split.unchanged) == (3, 0)
            await upsert(conn, item, split.written)

            rows[1] = {**rows[1], "name": "renamed", "created_at": 2}
            rows.append({"item_id": 9, "name": "new", "created_at": 2})
            split = await split_changed(conn, item, "item_id", [{**r, "content_hash": content_hash(r)} for r in rows])
            assert [(r["item_id"], r["version"]) for r in split.written] == [(1, 2), (9, 1)]
            assert (split.created, split.unchanged) == (1, 2)
            await upsert(conn, item, split.written)

            stored = (
                await conn.execute(sa.select(item.c.item_id, item.c.name, item.c.version, item.c.created_at))
            ).all()
            assert sorted(tuple(row) for row in stored) == [
                (0, "n0", 1, 1), (1, "renamed", 2, 1), (2, "n2", 1, 1), (9, "new", 1, 2),
            ]  # fmt: skip  # created_at of an existing row is kept
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
        await engine.dispose()


async def test_named_lock_is_exclusive_per_schema(migrated_islands: dict[str, ServiceSettings]) -> None:
    engine = create_async_engine(migrated_islands["webshop"].db_url)
    other_schema = create_async_engine(migrated_islands["stock-import"].db_url)
    try:
        async with engine.connect() as first, engine.connect() as second, other_schema.connect() as third:
            async with named_lock(first, "job"):
                with pytest.raises(LockBusyError, match=r"\.job is held"):
                    async with named_lock(second, "job"):
                        pass
                async with named_lock(third, "job"):  # another island's schema: no conflict
                    pass
            async with named_lock(second, "job"):  # released
                pass
    finally:
        await engine.dispose()
        await other_schema.dispose()
