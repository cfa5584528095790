"""Keeping ``wheel_set_projection`` and ``wheel_set_component_index`` right, incrementally.

- A component's stock or price changed: the sets the reverse index names for it get their quantity and
  price again (``refresh_for_articles``: one UPDATE ... JOIN over the index and the availability
  projection; no composition, since membership does not depend on stock or price).
- A variant's fitment, its vehicle data or a component's catalogue entry changed: the variant's sets are
  composed again (``recompose``: rows and index replaced, then refreshed).
- A tyre is new to the catalogue, or changed what decides whether it fits and ranks (size, season,
  ratings, labels): every variant taking its size may get it in a set. Those variants are listed once in
  ``wheel_set_pending`` (``queue_variants_taking``), however many catalogue batches name the size (a
  popular size is thousands of variants), and composed a chunk at a time.

The projections that see those changes ask for it in their own transaction (``request_recompute``: a
``webshop.wheel-sets.recompute-requested`` command through the outbox onto ``webshop.bulk``), so the
storefront's stock projection commits without waiting for sets, nothing is lost between the two, and
the set handler (``apply_recompute``) coalesces the requests of a batch: a component changed ten times is
refreshed once. Both steps read the committed projections, so a duplicate or late request is harmless.

Quantity per set: for each component SKU ``floor(sellable / needed)``, the smallest (``compose.set_quantity``);
unit price: the availability projection's best price, else the catalogue's list price; a component gone
from the catalogue makes the set unsellable (quantity 0) until its variant is composed again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import Envelope, WheelSetRecomputeRequested
from foundation.bulk import chunked, insert_rows, utc_now
from integration_sdk import metrics
from integration_sdk.consumer import BatchContext, Batched
from integration_sdk.spec_tables import TIMESTAMP
from webshop.search.queries import SPEC_COLUMNS
from webshop.tables import (
    article_availability_projection,
    catalog_article,
    vehicle_tyre_fitment,
    vehicle_variant,
    wheel_set_pending,
)
from webshop.tables import wheel_set_component_index as component_index
from webshop.tables import wheel_set_projection as set_projection
from webshop.wheel_sets.candidates import TyresBySize, read_candidates
from webshop.wheel_sets.compose import ROLE_COUNT, WheelSet, compose

DOMAIN = "sets"
REQUEST_CHUNK = 5_000  # articles or variants per request message
# Variants composed per transaction (about 10 s at full scale); a batch naming more composes these and
# asks again for the rest: a full fitment rebuild names all 20k variants, which as one transaction would
# hold their locks for minutes and block every single-variant recompose behind it.
RECOMPOSE_CHUNK = 250
# Keys per IN list: below MariaDB's in_predicate_conversion_threshold (1,000), at which an IN list turns
# into a join over a temporary table (a 2,000-key delete by set_key scanned the whole reverse index).
IN_LIST = 500


def _observe(kind: str, outcome: str, count: int) -> None:
    metrics.RECOMPUTE_ROWS.labels("webshop", DOMAIN, kind, outcome).inc(count)


async def lock_variants(session: AsyncSession, variant_ids: Sequence[int]) -> None:
    """Lock the variants' selector rows: two workers never compose one variant at the same time."""
    v = vehicle_variant.c
    for chunk in chunked(sorted(variant_ids), IN_LIST):  # in key order, as every locker takes them
        await session.execute(
            sa.select(v.vehicle_variant_id).where(v.vehicle_variant_id.in_(chunk)).order_by(v.vehicle_variant_id)
            .with_for_update()
        )  # fmt: skip


async def compose_variants(
    session: AsyncSession, variant_ids: Sequence[int], catalogue: TyresBySize | None = None
) -> dict[int, list[WheelSet]]:
    """The sets the variants get now (a variant not in the replica gets none)."""
    candidates, sensors = await read_candidates(session, variant_ids, catalogue)
    composed: dict[int, list[WheelSet]] = {variant_id: [] for variant_id in variant_ids}
    for variant_id, (variant, wheels, tyres) in candidates.items():
        composed[variant_id] = compose(variant, wheels, tyres, sensors)
    return composed


async def recompose(session: AsyncSession, variant_ids: Sequence[int], catalogue: TyresBySize | None = None) -> int:
    """Compose the variants' sets again (their selector rows locked first): rows and reverse index replaced,
    then refreshed; the set count.

    ``catalogue``: tyres already read by size (a rebuild shares one over its pages)."""
    ids = sorted(set(variant_ids))
    if not ids:
        return 0
    started = time.perf_counter()
    await lock_variants(session, ids)
    composed = await compose_variants(session, ids, catalogue)
    sets = [wheel_set for sets in composed.values() for wheel_set in sets]
    await delete_sets(session, ids, [s.set_key for s in sets])
    await write_sets(session, sets)
    metrics.RECOMPUTE_SECONDS.labels("webshop", DOMAIN).observe(time.perf_counter() - started)
    _observe("set", "composed", len(sets))
    return len(sets)


async def delete_sets(session: AsyncSession, variant_ids: Sequence[int], keys: Sequence[str] = ()) -> None:
    """The variants' sets and their reverse index rows, and any index rows left of ``keys`` (a repair)."""
    s, i = set_projection, component_index
    for chunk in chunked(variant_ids, IN_LIST):
        await session.execute(sa.delete(i).where(i.c.set_key == s.c.set_key).where(s.c.vehicle_variant_id.in_(chunk)))
        await session.execute(sa.delete(s).where(s.c.vehicle_variant_id.in_(chunk)))
    for key_chunk in chunked(keys, IN_LIST):
        await session.execute(sa.delete(i).where(i.c.set_key.in_(key_chunk)))


async def write_sets(session: AsyncSession, sets: Sequence[WheelSet]) -> None:
    """Insert sets (quantity and price then computed from the components) and their reverse index rows."""
    now = utc_now()
    rows = [{**s.row(), "sellable_quantity": 0, "set_price": s.mounting_fee, "computed_at": now} for s in sets]
    links = [{"component_article_number": number, "component_role": role, "set_key": s.set_key}
             for s in sets for number, role in s.components()]  # fmt: skip
    for chunk_rows in chunked(rows, 10_000):
        await insert_rows(session, set_projection, chunk_rows)
    for chunk_links in chunked(links, 20_000):
        await insert_rows(session, component_index, chunk_links)
    for keys in chunked([s.set_key for s in sets], IN_LIST):
        await session.execute(refresh_statement(component_index.c.set_key.in_(keys)))


def refresh_statement(linked: sa.ColumnElement[bool]) -> sa.Update:
    """Quantity, price and computed_at of the sets whose index rows match ``linked``, from the components."""
    i, a, c, s = component_index, article_availability_projection, catalog_article, set_projection
    needed = sa.case(ROLE_COUNT, value=i.c.component_role, else_=4)
    keys = sa.select(i.c.set_key).where(linked).distinct().subquery("touched")
    per_component = (
        sa.select(i.c.set_key, i.c.component_article_number, sa.func.sum(needed).label("needed"))
        .join(keys, keys.c.set_key == i.c.set_key)
        .group_by(i.c.set_key, i.c.component_article_number)
        .subquery("per_component")
    )
    sets_of_stock = sa.case(
        (c.c.article_number.is_(None), 0),
        else_=sa.func.floor(sa.func.greatest(sa.func.coalesce(a.c.sellable_qty, 0), 0) / per_component.c.needed),
    )
    unit_price = sa.func.coalesce(a.c.best_price, c.c.list_price, 0)
    per_set = (
        sa.select(
            per_component.c.set_key,
            sa.func.min(sets_of_stock).label("quantity"),
            sa.func.sum(unit_price * per_component.c.needed).label("price"),
        )  # fmt: skip
        .select_from(per_component)
        .outerjoin(a, a.c.article_number == per_component.c.component_article_number)
        .outerjoin(c, c.c.article_number == per_component.c.component_article_number)
        .group_by(per_component.c.set_key)
        .subquery("per_set")
    )
    return (
        sa.update(s)
        .where(s.c.set_key == per_set.c.set_key)
        .values(
            sellable_quantity=per_set.c.quantity, set_price=per_set.c.price + s.c.mounting_fee, computed_at=utc_now()
        )  # fmt: skip
    )


async def refresh_for_articles(session: AsyncSession, article_numbers: Sequence[str]) -> int:
    """Quantity and price again for every set the reverse index names for these components; sets touched."""
    touched = 0
    for chunk in chunked(sorted(set(article_numbers)), IN_LIST):
        result = await session.execute(refresh_statement(component_index.c.component_article_number.in_(chunk)))
        touched += int(result.rowcount or 0)  # type: ignore[attr-defined]
    _observe("set", "refreshed", touched)
    return touched


async def linked_articles(session: AsyncSession, article_numbers: Iterable[str]) -> list[str]:
    """Those of the articles that are a component of some set."""
    i = component_index.c
    found: list[str] = []
    for chunk in chunked(sorted(set(article_numbers)), IN_LIST):
        rows = await session.execute(
            sa.select(i.component_article_number).distinct().where(i.component_article_number.in_(chunk))
        )
        found.extend(rows.scalars())
    return found


async def variants_using(session: AsyncSession, article_numbers: Iterable[str]) -> list[int]:
    """Variants with a set holding one of the articles (a catalogue change of a component recomposes them)."""
    i, s = component_index, set_projection
    found: set[int] = set()
    for chunk in chunked(sorted(set(article_numbers)), IN_LIST):
        rows = await session.execute(
            sa.select(s.c.vehicle_variant_id).distinct().join(i, i.c.set_key == s.c.set_key)
            .where(i.c.component_article_number.in_(chunk))
        )  # fmt: skip
        found.update(rows.scalars())
    return sorted(found)


async def request_recompute(
    context: BatchContext,
    envelopes: Sequence[Envelope],
    *,
    article_numbers: Iterable[str] = (),
    variant_ids: Iterable[int] = (),
) -> None:
    """Ask ``webshop.bulk`` (through the outbox, in the caller's transaction) to refresh the sets linked to
    these components and compose these variants again; nothing is asked when no set is concerned."""
    articles = await linked_articles(context.session, article_numbers)
    variants = sorted(set(variant_ids))
    if not articles and not variants:
        return
    changed_at = min(envelope.occurred_at for envelope in envelopes)
    cause = envelopes[0]
    new = WheelSetRecomputeRequested
    requests = [new(request_id=uuid.uuid4().hex, article_numbers=chunk, changed_at=changed_at)
                for chunk in chunked(articles, REQUEST_CHUNK)]  # fmt: skip
    requests += [new(request_id=uuid.uuid4().hex, vehicle_variant_ids=chunk, changed_at=changed_at)
                 for chunk in chunked(variants, REQUEST_CHUNK)]  # fmt: skip
    for request in requests:
        await context.publish(request, cause)


# What decides whether a tyre fits a variant's size and where it ranks (membership never depends on price).
TYRE_FIT_COLUMNS = ("article_type", *SPEC_COLUMNS["tyre"])


async def tyre_sizes_to_compose(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[tuple[int, int, int]]:
    """The sizes (width, aspect, rim) of the tyres among these catalogue rows, read before they are written,
    that are new to the catalogue or changed a column of ``TYRE_FIT_COLUMNS``."""
    sized = [row for row in rows if None not in (row["width"], row["aspect"], row["rim_diameter"])]
    tyres = {row["article_number"]: row for row in sized if row["article_type"] == "tyre"}
    c = catalog_article.c
    stored: dict[str, Any] = {}
    for chunk in chunked(sorted(tyres), IN_LIST):
        found = await session.execute(
            sa.select(c.article_number, *(c[name] for name in TYRE_FIT_COLUMNS)).where(c.article_number.in_(chunk))
        )
        stored.update({row.article_number: row for row in found})
    return {
        (row["width"], row["aspect"], row["rim_diameter"])
        for number, row in tyres.items()
        if (old := stored.get(number)) is None or any(getattr(old, name) != row[name] for name in TYRE_FIT_COLUMNS)
    }


async def queue_variants_taking(
    context: BatchContext, envelopes: Sequence[Envelope], sizes: Iterable[tuple[int, int, int]]
) -> int:
    """List the variants that take one of these tyre sizes (width, aspect, rim) in ``wheel_set_pending``
    (each once) and, if that added any, ask ``webshop.bulk`` to compose the pending variants; how many
    were added."""
    fit, pending = vehicle_tyre_fitment.c, wheel_set_pending
    changed_at = min(envelope.occurred_at for envelope in envelopes)
    added = 0
    for chunk in chunked(sorted(set(sizes)), IN_LIST):
        taking = (
            sa.select(fit.vehicle_variant_id, sa.literal(utc_now(), TIMESTAMP)).distinct()
            .where(sa.tuple_(fit.width, fit.aspect, fit.rim_diameter).in_(chunk))
            .order_by(fit.vehicle_variant_id)  # in key order, as the pending rows are claimed
        )  # fmt: skip
        result = await context.session.execute(
            sa.insert(pending).prefix_with("IGNORE").from_select(["vehicle_variant_id", "listed_at"], taking)
        )
        added += result.rowcount  # type: ignore[attr-defined]
    if added:
        request = WheelSetRecomputeRequested(request_id=uuid.uuid4().hex, pending=True, changed_at=changed_at)
        await context.publish(request, envelopes[0])
    return added


async def claim_pending(session: AsyncSession, limit: int) -> list[int]:
    """Take up to ``limit`` pending variants off the list (rows another transaction holds are skipped: it
    composes them, or it added them and asks for them itself)."""
    pending = wheel_set_pending.c
    claimed = list(await session.scalars(
        sa.select(pending.vehicle_variant_id).order_by(pending.vehicle_variant_id).limit(limit)
        .with_for_update(skip_locked=True)
    ))  # fmt: skip
    for chunk in chunked(claimed, IN_LIST):
        await session.execute(sa.delete(wheel_set_pending).where(pending.vehicle_variant_id.in_(chunk)))
    return claimed


async def apply_recompute(items: list[tuple[WheelSetRecomputeRequested, Envelope]], context: BatchContext) -> None:
    """Coalesce a batch of requests: compose each named variant once, refresh each named component once.

    At most ``RECOMPOSE_CHUNK`` variants are composed here; the rest are asked for again in the same
    transaction, so they are neither lost nor composed twice by this batch. A pending request fills the
    chunk's room with pending variants and, while the list may hold more, asks again.
    """
    variants = sorted({v for request, _ in items for v in request.vehicle_variant_ids})
    articles = sorted({a for request, _ in items for a in request.article_numbers})
    first, later = variants[:RECOMPOSE_CHUNK], set(variants[RECOMPOSE_CHUNK:])
    more_pending = False
    if any(request.pending for request, _ in items):
        room = RECOMPOSE_CHUNK - len(first)
        claimed = await claim_pending(context.session, room) if room else []
        first = sorted(set(first) | set(claimed))
        more_pending = len(claimed) == room  # the list may hold more (or the chunk had no room)
    if first:
        await recompose(context.session, first)
    # freshness of the requests done here (changes); the follow-up reports the deferred ones once done
    changes: list[datetime] = []
    deferred: list[datetime] = []
    pending_deferred: list[datetime] = []
    for request, _ in items:
        waits_for_pending = request.pending and more_pending
        waits_for_later = bool(later.intersection(request.vehicle_variant_ids))
        if waits_for_pending:
            pending_deferred.append(request.changed_at)
        if waits_for_later:
            deferred.append(request.changed_at)
        if not (waits_for_pending or waits_for_later):
            changes.append(request.changed_at)
    if pending_deferred:
        again = WheelSetRecomputeRequested(request_id=uuid.uuid4().hex, pending=True, changed_at=min(pending_deferred))
        await context.publish(again, items[0][1])
    for chunk in chunked(sorted(later), REQUEST_CHUNK):
        follow_up = WheelSetRecomputeRequested(request_id=uuid.uuid4().hex, vehicle_variant_ids=chunk,
                                               changed_at=min(deferred))  # fmt: skip
        await context.publish(follow_up, items[0][1])
    if articles:
        await refresh_for_articles(context.session, articles)

    async def committed() -> None:
        now = time.time()
        histogram = metrics.PROJECTION_FRESHNESS.labels("webshop", "wheel_sets")
        for changed_at in changes:
            histogram.observe(max(now - changed_at.timestamp(), 0))

    context.after_commit(committed)


# own_batch: a batch composing 250 variants takes seconds; the stock and fitment projections on the same
# queue commit without waiting for it.
HANDLERS: dict[str, Any] = {WheelSetRecomputeRequested.message_type: Batched(apply_recompute, own_batch=True)}
