"""SQL of the fitment recompute: reading the source rows, the set-based wheel check, writing derived rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from foundation.bulk import chunked, insert_rows, utc_now
from vehicle_data.fitment.derived import Rule
from vehicle_data.fitment.rules import MAX_RING_STEP_MM, OFFSET_BAND_MM, WIDTH_TOLERANCE_INCH, Fit
from vehicle_data.tables import (
    fitment_lock,
    fitment_pending,
    fitment_rule,
    fitment_version,
    product_spec,
    product_tyre_bucket,
    product_vehicle_mappings,
    product_wheel_bucket,
    vehicle_axle_fitment,
    vehicle_axle_size,
    vehicle_tyre_bucket,
    vehicle_tyre_exclusion,
    vehicle_variant,
    vehicle_wheel_bucket,
)

KEY_CHUNK = 1_000  # keys per IN list
AxleFits = dict[tuple[int, str], dict[str, Fit]]  # (variant, article) -> axle -> fit


async def variants_with_fitments(
    conn: AsyncConnection, vehicle_ids: Collection[int]
) -> dict[int, tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each variant's axle columns (``derived.axles_of``) with its axle fitment rows (in source order)."""
    found: dict[int, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    v = vehicle_variant.c
    columns = [v.vehicle_variant_id, v.bolt_count, v.pcd, v.hub_bore, v.offset_min, v.offset_max,
               v.axle_load_front_kg, v.axle_load_rear_kg]  # fmt: skip
    for chunk in chunked(sorted(vehicle_ids), KEY_CHUNK):
        for row in (await conn.execute(sa.select(*columns).where(v.vehicle_variant_id.in_(chunk)))).mappings():
            found[row["vehicle_variant_id"]] = (dict(row), [])
        fitments = await conn.execute(
            sa.select(vehicle_axle_fitment)
            .where(vehicle_axle_fitment.c.vehicle_variant_id.in_(chunk))
            .order_by(vehicle_axle_fitment.c.vehicle_variant_id, vehicle_axle_fitment.c.id)
        )
        for row in fitments.mappings():
            found[row["vehicle_variant_id"]][1].append(dict(row))
    return found


async def active_rules(conn: AsyncConnection, vehicle_ids: Collection[int]) -> dict[int, list[Rule]]:
    """Active (not deleted) manual rules per variant, oldest first."""
    rules: dict[int, list[Rule]] = defaultdict(list)
    for chunk in chunked(sorted(vehicle_ids), KEY_CHUNK):
        rows = await conn.execute(
            sa.select(fitment_rule)
            .where(fitment_rule.c.vehicle_variant_id.in_(chunk), fitment_rule.c.deleted_at.is_(None))
            .order_by(fitment_rule.c.rule_id)
        )
        for row in rows.mappings():
            rules[row["vehicle_variant_id"]].append(Rule.from_row(row))
    return rules


async def variants_with_article_rules(conn: AsyncConnection, article_numbers: Collection[str]) -> set[int]:
    """Variants with an active rule naming one of the articles."""
    found: set[int] = set()
    for chunk in chunked(sorted(article_numbers), KEY_CHUNK):
        found.update(await conn.scalars(
            sa.select(fitment_rule.c.vehicle_variant_id).where(
                fitment_rule.c.article_number.in_(chunk), fitment_rule.c.deleted_at.is_(None))
        ))  # fmt: skip
    return found


async def product_specs(conn: AsyncConnection, article_numbers: Collection[str]) -> dict[str, dict[str, Any]]:
    """``product_spec`` rows by article number (articles without one are absent)."""
    specs: dict[str, dict[str, Any]] = {}
    for chunk in chunked(sorted(article_numbers), KEY_CHUNK):
        rows = await conn.execute(sa.select(product_spec).where(product_spec.c.article_number.in_(chunk)))
        specs.update({row["article_number"]: dict(row) for row in rows.mappings()})
    return specs


async def replace_rows(
    conn: AsyncConnection, table: sa.Table, key: str, keys: Collection[Any], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Delete the rows of ``keys`` (column ``key``) and insert ``rows`` in their place."""
    for chunk in chunked(sorted(keys), KEY_CHUNK):
        await conn.execute(sa.delete(table).where(table.c[key].in_(chunk)))
    for chunk_rows in chunked(rows, 20_000):
        await insert_rows(conn, table, chunk_rows)


# --- the wheel check, set-based ------------------------------------------------------------------------


def wheel_fit_query(
    *, vehicle_ids: Collection[int] | None = None, article_numbers: Collection[str] | None = None
) -> sa.Select[Any]:
    """(variant, article, axle, score, OE) of every wheel that passes the hard checks, by bucket join.

    The same checks and score as ``rules.wheel_fit`` (the reference path runs those on every wheel;
    tests hold the two equal): the bucket narrows by bolt pattern, diameter, bore floor and offset band;
    the membership rows carry the axle's limits and the wheel's sizes, so the exact bore, offset, load
    and width checks decide there, without a row lookup per candidate. Restricted to some variants or
    articles.
    """
    vb, pb, s = vehicle_wheel_bucket, product_wheel_bucket, vehicle_axle_size
    same_width = s.c.wheel_width == pb.c.wheel_width
    size_score = sa.func.max(sa.case((same_width, sa.case((s.c.kind == "oe", 100), else_=90)), else_=80))
    oe_size = sa.func.max(sa.case((sa.and_(same_width, s.c.kind == "oe"), 1), else_=0))
    bore, hub = sa.func.min(pb.c.center_bore), sa.func.min(vb.c.hub_bore)
    offset_penalty = sa.func.least(
        sa.func.floor(sa.func.abs(sa.func.min(pb.c.offset) - sa.func.min(vb.c.oe_wheel_offset)) / OFFSET_BAND_MM), 10
    )
    score = sa.case((bore > hub, 72), else_=size_score) - offset_penalty
    is_oe = sa.and_(oe_size == 1, bore == hub)
    query = (
        sa.select(vb.c.vehicle_variant_id, pb.c.article_number, vb.c.axle, score.label("score"), is_oe.label("is_oe"))
        .select_from(vb)
        .join(pb, sa.and_(
            pb.c.wheel_bucket == vb.c.wheel_bucket,
            pb.c.center_bore >= vb.c.hub_bore,
            pb.c.center_bore - vb.c.hub_bore <= MAX_RING_STEP_MM,
            pb.c.offset.between(vb.c.offset_min, vb.c.offset_max),
            pb.c.wheel_load_kg * 2 >= vb.c.axle_load_kg,
        ))
        .join(s, sa.and_(s.c.vehicle_variant_id == vb.c.vehicle_variant_id, s.c.axle == vb.c.axle,
                         s.c.rim_diameter == vb.c.rim_diameter,
                         sa.func.abs(s.c.wheel_width - pb.c.wheel_width) <= WIDTH_TOLERANCE_INCH))
        .group_by(vb.c.vehicle_variant_id, pb.c.article_number, vb.c.axle)
    )  # fmt: skip
    if vehicle_ids is not None:
        query = query.where(vb.c.vehicle_variant_id.in_(sorted(vehicle_ids)))
    if article_numbers is not None:
        query = query.where(pb.c.article_number.in_(sorted(article_numbers)))
    return query


async def wheel_fits(
    conn: AsyncConnection, *, vehicle_ids: Collection[int] | None = None, article_numbers: Collection[str] | None = None
) -> AxleFits:
    """Per (variant, article) the fit on each axle, for the variants or articles given."""
    fits: AxleFits = defaultdict(dict)
    result = await conn.execute(wheel_fit_query(vehicle_ids=vehicle_ids, article_numbers=article_numbers))
    for variant_id, article, axle, score, is_oe in result:
        fits[(variant_id, article)][axle] = Fit(int(score), bool(is_oe))
    return fits


# --- stored derived state ------------------------------------------------------------------------------


async def stored_tyre_rows(
    conn: AsyncConnection, vehicle_ids: Collection[int], tyre_buckets: Collection[str] | None = None
) -> dict[tuple[str, int, str], dict[str, Any]]:
    """``vehicle_tyre_bucket`` rows of the variants by primary key (``tyre_buckets``: only of these buckets,
    a range of the primary key instead of every row of the variants)."""
    t = vehicle_tyre_bucket.c
    query = sa.select(vehicle_tyre_bucket)
    if tyre_buckets is not None:
        query = query.where(t.tyre_bucket.in_(sorted(tyre_buckets)))
    stored = {}
    for chunk in chunked(sorted(vehicle_ids), KEY_CHUNK):
        rows = await conn.execute(query.where(t.vehicle_variant_id.in_(chunk)))
        for row in rows.mappings():
            stored[(row["tyre_bucket"], row["vehicle_variant_id"], row["axle"])] = dict(row)
    return stored


MappingKey = tuple[int, str]
MAPPING_COLUMNS = ("product_type", "position", "is_original_equipment", "match_score")


async def stored_mappings(
    conn: AsyncConnection, *, vehicle_ids: Collection[int] | None = None, article_numbers: Collection[str] | None = None
) -> dict[MappingKey, dict[str, Any]]:
    """``product_vehicle_mappings`` rows of the variants, of the articles, or of these articles of the variants."""
    pvm = product_vehicle_mappings
    query = sa.select(pvm)
    keys: Collection[Any]
    if vehicle_ids is None:
        column, keys = pvm.c.article_number, article_numbers or ()
    else:
        column, keys = pvm.c.vehicle_variant_id, vehicle_ids
        if article_numbers is not None:  # a scope within the variants: not all of their ~500 rows each
            if not article_numbers:
                return {}
            query = query.where(pvm.c.article_number.in_(sorted(article_numbers)))
    stored = {}
    for chunk in chunked(sorted(keys), KEY_CHUNK):
        for row in (await conn.execute(query.where(column.in_(chunk)))).mappings():
            stored[(row["vehicle_variant_id"], row["article_number"])] = dict(row)
    return stored


async def write_mappings(
    conn: AsyncConnection, upserts: Sequence[Mapping[str, Any]], deletes: Iterable[MappingKey]
) -> None:
    """Apply a mapping diff: multi-row upserts, deletes by key."""
    pvm = product_vehicle_mappings
    by_variant: dict[int, list[str]] = defaultdict(list)
    for variant_id, article in deletes:
        by_variant[variant_id].append(article)
    for variant_id, articles in by_variant.items():
        for chunk in chunked(articles, KEY_CHUNK):
            await conn.execute(
                sa.delete(pvm).where(pvm.c.vehicle_variant_id == variant_id, pvm.c.article_number.in_(chunk))
            )
    for chunk_rows in chunked(upserts, 20_000):
        await insert_rows(conn, pvm, chunk_rows, update=(*MAPPING_COLUMNS, "computed_at"))


async def lock_versions(conn: AsyncConnection, vehicle_ids: Collection[int]) -> dict[int, int]:
    """Lock the variants' fitment versions (creating version 0 where none exists), in key order."""
    if not vehicle_ids:
        return {}
    now = utc_now()
    ordered = sorted(vehicle_ids)
    for chunk in chunked(ordered, KEY_CHUNK):
        await conn.execute(
            sa.insert(fitment_version).prefix_with("IGNORE"),
            [{"vehicle_variant_id": variant_id, "version": 0, "changed_at": now} for variant_id in chunk],
        )
    versions = {}
    for chunk in chunked(ordered, KEY_CHUNK):
        rows = await conn.execute(
            sa.select(fitment_version.c.vehicle_variant_id, fitment_version.c.version)
            .where(fitment_version.c.vehicle_variant_id.in_(chunk))
            .order_by(fitment_version.c.vehicle_variant_id)
            .with_for_update()
        )
        versions.update({row[0]: row[1] for row in rows})
    return versions


async def save_versions(conn: AsyncConnection, versions: Mapping[int, int]) -> None:
    """Store the variants' new fitment versions."""
    now = utc_now()
    for chunk in chunked(sorted(versions.items()), KEY_CHUNK):
        statement = mysql_insert(fitment_version)
        await conn.execute(
            statement.on_duplicate_key_update(
                version=statement.inserted.version, changed_at=statement.inserted.changed_at
            ),
            [
                {"vehicle_variant_id": variant_id, "version": version, "changed_at": now}
                for variant_id, version in chunk
            ],
        )


# --- ordering recomputes -------------------------------------------------------------------------------

PRODUCT_BUCKETS = "product_buckets"
# The guard is held for one recompute's transaction (a fold of many articles' buckets can outlast the
# statement limit on a busy machine): waiting for it is the point, so its read is bounded by the lock
# wait alone instead of being killed by ``max_statement_time``.
GUARD_WAIT_S = 120
_GUARD = (
    "SET STATEMENT max_statement_time=0, innodb_lock_wait_timeout={wait} FOR "
    "SELECT name FROM fitment_lock WHERE name = :name {lock}"
)


async def guard_product_buckets(conn: AsyncConnection, *, exclusive: bool, wait_s: int = GUARD_WAIT_S) -> None:
    """Hold the product bucket guard until the transaction ends: exclusive to refresh articles' buckets,
    shared to recompute variants whole; a lock wait past ``wait_s`` fails the recompute (it is retried).

    A refresh finds the variants its new buckets concern from the committed wheel buckets, and a whole
    recompute writes a variant's wheel buckets and reads the committed product buckets. Run at the same
    time, neither sees the other's writes and the pair is mapped by neither; with the guard, a refresh
    waits for the recomputes under way (then sees their wheel buckets) and the next ones wait for it.
    """
    guard = sa.text(_GUARD.format(wait=int(wait_s), lock="FOR UPDATE" if exclusive else "LOCK IN SHARE MODE"))
    if (await conn.execute(guard, {"name": PRODUCT_BUCKETS})).first() is None:
        # the row is the migration's; written again where the table was emptied (it is then held
        # exclusively, or waited for, until this transaction ends)
        await conn.execute(sa.insert(fitment_lock).prefix_with("IGNORE").values(name=PRODUCT_BUCKETS))
        await conn.execute(guard, {"name": PRODUCT_BUCKETS})


# --- the pending work list -----------------------------------------------------------------------------

VEHICLE, ARTICLE = "vehicle", "article"


async def add_pending(conn: AsyncConnection, kind: str, keys: Iterable[object]) -> int:
    """List variants or articles for the recompute (idempotent); how many distinct keys were given."""
    now = utc_now()
    # in key order: recomputes listing overlapping variants at once wait on each other, not deadlock over them
    rows = [{"kind": kind, "item_key": key, "requested_at": now} for key in sorted({str(key) for key in keys})]
    for chunk_rows in chunked(rows, 5_000):
        await conn.execute(sa.insert(fitment_pending).prefix_with("IGNORE"), chunk_rows)
    return len(rows)


async def claim_pending(conn: AsyncConnection, kind: str, limit: int) -> list[str]:
    """Take up to ``limit`` pending keys of a kind (skipping those another recompute holds) and delete them.

    The delete commits with the recompute's result: if that transaction dies, the keys are pending again.
    """
    keys = list(await conn.scalars(
        sa.select(fitment_pending.c.item_key).where(fitment_pending.c.kind == kind)
        .order_by(fitment_pending.c.item_key).limit(limit).with_for_update(skip_locked=True)
    ))  # fmt: skip
    for chunk in chunked(keys, KEY_CHUNK):
        await conn.execute(sa.delete(fitment_pending).where(fitment_pending.c.kind == kind,
                                                            fitment_pending.c.item_key.in_(chunk)))  # fmt: skip
    return keys


async def pending_counts(conn: AsyncConnection) -> dict[str, int]:
    """How many variants and articles wait for the recompute."""
    rows = await conn.execute(sa.select(fitment_pending.c.kind, sa.func.count()).group_by(fitment_pending.c.kind))
    return {VEHICLE: 0, ARTICLE: 0, **{kind: int(count) for kind, count in rows}}


async def upsert_rows(conn: AsyncConnection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Multi-row upserts of rows with the same keys (every non-key column overwritten)."""
    primary = {column.name for column in table.primary_key.columns}
    for chunk_rows in chunked(rows, 20_000):
        await insert_rows(conn, table, chunk_rows, update=[name for name in chunk_rows[0] if name not in primary])


async def stored_exclusions(conn: AsyncConnection, vehicle_ids: Collection[int]) -> set[tuple[int, str, str]]:
    """(variant, axle, article) of the variants' stored tyre exclusions."""
    table = vehicle_tyre_exclusion
    found: set[tuple[int, str, str]] = set()
    for chunk in chunked(sorted(vehicle_ids), KEY_CHUNK):
        rows = await conn.execute(sa.select(table.c.vehicle_variant_id, table.c.axle, table.c.article_number)
                                  .where(table.c.vehicle_variant_id.in_(chunk)))  # fmt: skip
        found.update((variant_id, axle, article) for variant_id, axle, article in rows)
    return found


async def tyre_rows_by_variant(conn: AsyncConnection, vehicle_ids: Collection[int]) -> dict[int, list[dict[str, Any]]]:
    """The variants' ``vehicle_tyre_bucket`` rows (the tyre sizes that fit them)."""
    grouped: dict[int, list[dict[str, Any]]] = {variant_id: [] for variant_id in vehicle_ids}
    for row in (await stored_tyre_rows(conn, vehicle_ids)).values():
        grouped[row["vehicle_variant_id"]].append(row)
    return grouped


async def exclusions_by_variant(
    conn: AsyncConnection, vehicle_ids: Collection[int]
) -> dict[int, list[tuple[str, str]]]:
    """The variants' tyre exclusions as (axle, article)."""
    grouped: dict[int, list[tuple[str, str]]] = {variant_id: [] for variant_id in vehicle_ids}
    for variant_id, axle, article in await stored_exclusions(conn, vehicle_ids):
        grouped[variant_id].append((axle, article))
    return grouped


async def variants_in_wheel_buckets(conn: AsyncConnection, buckets: Collection[str]) -> set[int]:
    """Variants with an axle in one of the wheel buckets."""
    found: set[int] = set()
    for chunk in chunked(sorted(buckets), KEY_CHUNK):
        found.update(await conn.scalars(
            sa.select(vehicle_wheel_bucket.c.vehicle_variant_id).distinct()
            .where(vehicle_wheel_bucket.c.wheel_bucket.in_(chunk))
        ))  # fmt: skip
    return found


async def variants_mapped_to(conn: AsyncConnection, article_numbers: Collection[str]) -> set[int]:
    """Variants that have a mapping row for one of the articles."""
    pvm = product_vehicle_mappings
    found: set[int] = set()
    for chunk in chunked(sorted(article_numbers), KEY_CHUNK):
        found.update(await conn.scalars(
            sa.select(pvm.c.vehicle_variant_id).distinct().where(pvm.c.article_number.in_(chunk))
        ))  # fmt: skip
    return found


async def mappings_by_variant(conn: AsyncConnection, vehicle_ids: Collection[int]) -> dict[int, list[dict[str, Any]]]:
    """The variants' ``product_vehicle_mappings`` rows."""
    grouped: dict[int, list[dict[str, Any]]] = {variant_id: [] for variant_id in vehicle_ids}
    for (variant_id, _), row in (await stored_mappings(conn, vehicle_ids=vehicle_ids)).items():
        grouped[variant_id].append(row)
    return grouped


async def variants_in_bucket(conn: AsyncConnection, bucket: str, after: int, limit: int) -> list[int]:
    """Variants with an axle in a tyre or wheel bucket, by id after ``after``."""
    tables = (
        (vehicle_tyre_bucket, vehicle_tyre_bucket.c.tyre_bucket),
        (vehicle_wheel_bucket, vehicle_wheel_bucket.c.wheel_bucket),
    )
    found: set[int] = set()
    for table, column in tables:
        found.update(await conn.scalars(
            sa.select(table.c.vehicle_variant_id).distinct()
            .where(column == bucket, table.c.vehicle_variant_id > after)
            .order_by(table.c.vehicle_variant_id).limit(limit)
        ))  # fmt: skip
    return sorted(found)[:limit]


async def articles_in_bucket(conn: AsyncConnection, bucket: str) -> list[str]:
    """Articles in a tyre or wheel bucket."""
    found: set[str] = set()
    for table, column in ((product_tyre_bucket, product_tyre_bucket.c.tyre_bucket),
                          (product_wheel_bucket, product_wheel_bucket.c.wheel_bucket)):  # fmt: skip
        found.update(await conn.scalars(sa.select(table.c.article_number).where(column == bucket)))
    return sorted(found)
