"""A small world of variants, products and rules for the fitment tests, loaded through the real paths.

Variants go through the vehicle sync, products through the catalogue handler (as catalogue events),
rules through the rule service; ``drain`` then runs the recompute the worker would run.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from contracts import ArticleDiscontinued, ArticleUpserted, Envelope, FitmentMappingChanged, open_envelope
from foundation.db import Database
from integration_sdk.consumer import BatchContext, Consumer, is_deadlock
from integration_sdk.outbox import OUTBOX, Outbox
from integration_sdk.partners.catalog import Article, generate_articles
from integration_sdk.partners.vehicles import generate_variants
from integration_sdk.topology import HIGH_PRIORITY
from vehicle_data import product_specs
from vehicle_data.fitment import repository as repo
from vehicle_data.fitment.handlers import HANDLERS
from vehicle_data.fitment.recompute import RecomputeReport, process_pending
from vehicle_data.tables import vehicle_variant
from vehicle_data.vehicles.service import sync_variants

DERIVED_TABLES = (
    "vehicle_axle_size", "vehicle_tyre_bucket", "product_tyre_bucket", "vehicle_wheel_bucket",
    "product_wheel_bucket", "product_vehicle_mappings", "vehicle_tyre_exclusion",
)  # fmt: skip


def article_event(article: Article, version: int = 1, **changes: Any) -> ArticleUpserted:
    """The catalogue event of a generated article (``changes`` override spec fields)."""
    return ArticleUpserted(
        article_number=article.article_number, article_type=article.article_type, ean=article.ean,  # type: ignore[arg-type]
        brand=article.brand, model=article.model, description=article.description[:255],
        list_price=article.list_price, version=version, **{**article.specs, **changes},
    )  # fmt: skip


def generated(seed: int, variants: int, tyres: int, wheels: int) -> tuple[list[dict[str, Any]], list[Article]]:
    """Deterministic variants and articles from the partner data generator."""
    articles = generate_articles(random.Random(f"{seed}:articles"), tyres, wheels, 0)
    return generate_variants(random.Random(f"{seed}:vehicles"), variants), articles


async def sync(
    db: Database, outbox: Outbox, folder: Path, records: Sequence[dict[str, Any]], kind: str = "full"
) -> None:
    """Variants through the vehicle sync."""
    path = folder / f"variants-{uuid4().hex[:6]}.jsonl"
    path.write_text("".join(json.dumps(record, default=str) + "\n" for record in records))
    result = await sync_variants(db, outbox, path, kind)  # type: ignore[arg-type]
    assert result.records_rejected == 0, result.errors


def _envelope(event: Any, settings_island: str = "erp-middleware") -> Envelope:
    return Envelope.wrap(event, produced_by=settings_island, correlation_id=uuid4().hex)


async def publish_articles(
    db: Database, outbox: Outbox, events: Iterable[ArticleUpserted | ArticleDiscontinued]
) -> None:
    """Catalogue events through vehicle-data's catalogue handlers (as the consumer applies a batch)."""
    upserts = [(e, _envelope(e)) for e in events if isinstance(e, ArticleUpserted)]
    ended = [(e, _envelope(e)) for e in events if isinstance(e, ArticleDiscontinued)]  # type: ignore[unreachable]
    async with db.sessions.begin() as session:
        context = BatchContext(session, outbox)
        if upserts:
            await product_specs.apply_upserts(upserts, context)
        if ended:
            await product_specs.apply_discontinued(ended, context)


async def drain(db: Database, outbox: Outbox, *, chains: int = 1, **options: Any) -> RecomputeReport:
    """Run the pending recomputes chunk by chunk, each in its own transaction, until none is left;
    ``chains`` of them at once, as the worker's drainers run them, a deadlocked step run again."""
    total = RecomputeReport()

    async def chain() -> None:
        more = True
        while more:
            try:
                async with db.sessions.begin() as session:
                    report, more = await process_pending(session, outbox, **options)
            except OperationalError as exc:
                if not is_deadlock(exc):
                    raise
                continue
            total.add(report)

    await asyncio.gather(*(chain() for _ in range(chains)))
    return total


async def snapshot(db: Database) -> dict[str, set[tuple[Any, ...]]]:
    """Every derived table's rows without timestamps: what a recompute must reproduce."""
    result = {}
    async with db.reader.connect() as conn:
        for name in DERIVED_TABLES:
            rows = await conn.execute(sa.text(f"SELECT * FROM `{name}`"))
            keys = [k for k in rows.keys() if k != "computed_at"]
            result[name] = {tuple(row._mapping[k] for k in keys) for row in rows}
    return result


async def variant_ids(db: Database) -> list[int]:
    async with db.reader.connect() as conn:
        return list(
            await conn.scalars(
                sa.select(vehicle_variant.c.vehicle_variant_id).order_by(vehicle_variant.c.vehicle_variant_id)
            )
        )


async def run_rule_commands(db: Database, outbox: Outbox, after_id: int) -> int:
    """Run the high-priority recompute commands the outbox holds after ``after_id`` as the worker would;
    the last outbox id seen."""
    async with db.reader.connect() as conn:
        rows = (await conn.execute(
            sa.select(OUTBOX.c.id, OUTBOX.c.body).where(
                OUTBOX.c.id > after_id, OUTBOX.c.message_type == "fitment.recompute.vehicle-requested")
            .order_by(OUTBOX.c.id)
        )).all()  # fmt: skip
        last = await conn.scalar(sa.select(sa.func.max(OUTBOX.c.id)))
    # Through the worker's high-priority consumer, inbox included: a command it took for a duplicate
    # would show as a recompute that never happened.
    consumer = Consumer(settings=outbox.settings, queue_class=HIGH_PRIORITY, handlers=HANDLERS[HIGH_PRIORITY],
                        sessions=db.sessions, outbox=outbox)  # fmt: skip
    for _, body in rows:
        outcomes = await consumer.apply_batch([Envelope.from_bytes(body)])
        assert outcomes == [True], outcomes
    return int(last or after_id)


def fold_announcements(bodies: Iterable[bytes]) -> dict[int, dict[str, Any]]:
    """What a replica ends with after applying every ``fitment.mapping.changed`` in order (checking the
    version sequence): per variant its tyre sizes, exclusions and article rows."""
    state: dict[int, dict[str, Any]] = {}
    for body in bodies:
        event = open_envelope(Envelope.from_bytes(body))
        if not isinstance(event, FitmentMappingChanged):
            continue
        current = state.setdefault(event.vehicle_variant_id, {"version": 0, "tyres": set(), "exclusions": set(),
                                                               "mappings": {}})  # fmt: skip
        if event.replace:
            assert event.version > current["version"]
            current["mappings"] = {}
        else:
            assert event.version == current["version"] + 1, (event.vehicle_variant_id, event.version)
        current["version"] = event.version
        if event.tyre_sizes is not None:
            current["tyres"] = {tuple(t.model_dump().values()) for t in event.tyre_sizes}
        if event.tyre_exclusions is not None:
            current["exclusions"] = {(e.axle, e.article_number) for e in event.tyre_exclusions}
        for number in event.mappings_removed:
            current["mappings"].pop(number, None)
        for mapping in event.mappings_upserted:
            current["mappings"][mapping[0]] = tuple(mapping)
    return state


async def announced_state(db: Database) -> dict[int, dict[str, Any]]:
    """vehicle-data's current announced fitment per variant, shaped like ``fold_announcements``."""
    state: dict[int, dict[str, Any]] = {}
    async with db.reader.connect() as conn:
        ids = await variant_ids(db)
        tyres = await repo.tyre_rows_by_variant(conn, ids)
        exclusions = await repo.exclusions_by_variant(conn, ids)
        mappings = await repo.mappings_by_variant(conn, ids)
    for variant_id in ids:
        state[variant_id] = {
            "tyres": {(r["axle"], r["width"], r["aspect"], r["rim_diameter"], r["base_score"],
                       bool(r["is_original_equipment"]), r["min_load_index"], r["reference_speed_rating"],
                       bool(r["reference_run_flat"])) for r in tyres[variant_id]},
            "exclusions": set(exclusions[variant_id]),
            "mappings": {r["article_number"]: (r["article_number"], r["product_type"], r["position"],
                                               bool(r["is_original_equipment"]), r["match_score"])
                         for r in mappings[variant_id]},
        }  # fmt: skip
    return state


async def outbox_bodies(db: Database) -> list[bytes]:
    async with db.reader.connect() as conn:
        return [row[0] for row in await conn.execute(sa.select(OUTBOX.c.body).order_by(OUTBOX.c.id))]
