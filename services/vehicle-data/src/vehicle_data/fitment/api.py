"""vehicle-data's operator API: fitment rules, the recompute, and fitment snapshots for other islands.

Everything under ``/api/v1`` needs the operator token (``Authorization: Bearer <token>``).

- ``POST /api/v1/fitment-rules``, ``GET /api/v1/fitment-rules?vehicle=``, ``DELETE /api/v1/fitment-rules/{id}``:
  manual include/exclude rules; a change is recomputed on ``vehicle-data.high-priority`` at once.
- ``POST /api/v1/fitment/recompute`` (``scope`` ``all``, ``vehicle:<id>``, ``bucket:<key>``) and
  ``GET /api/v1/fitment/status``: backfills on ``vehicle-data.bulk`` and how much is still pending.
- ``GET /api/v1/vehicles/{id}/fitment``: a variant's announced fitment with its version, read in one
  consistent snapshot (the webshop rebuilds and reconciles its replica from it, never from this schema);
  ``GET /api/v1/fitment/versions``: variants by id with their version, optionally changed since a time;
  ``GET /api/v1/fitment/buckets/{bucket}``: the variants and articles in a bucket.
- ``GET /api/v1/vehicles/{id}/fitment/reference``: the reference path (every article through the rules,
  no buckets, no mapping), for dual-read and as the projection's performance peer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from foundation.app import ReaderDep, SessionDep, get_database
from foundation.auth import require_operator
from foundation.bulk import utc_now
from foundation.errors import ApiError
from integration_sdk.runtime import OutboxDep
from vehicle_data.fitment import repository as repo
from vehicle_data.fitment.derived import axles_of
from vehicle_data.fitment.handlers import request_recompute
from vehicle_data.fitment.manual_rules import (
    RuleInput,
    UnknownRule,
    UnknownVariant,
    add_rule,
    delete_rule,
    list_rules,
    rule_json,
)
from vehicle_data.fitment.reference import reference_for_axle
from vehicle_data.fitment.rules import POSITIONS
from vehicle_data.tables import fitment_version, product_spec, vehicle_variant

router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_operator)], tags=["fitment"])
ProductType = Literal["tyre", "wheel"]


@router.post("/fitment-rules", status_code=201)
async def create_rule(rule: RuleInput, session: SessionDep, outbox: OutboxDep) -> dict[str, Any]:
    """Add a manual include/exclude rule for a variant's axle; its effect is recomputed at once."""
    try:
        return rule_json(await add_rule(session, outbox, rule))
    except UnknownVariant as exc:
        raise ApiError(404, "unknown_vehicle", str(exc)) from exc


@router.get("/fitment-rules")
async def get_rules(
    reader: ReaderDep,
    vehicle: Annotated[int | None, Query(ge=1, description="Only this variant's rules.")] = None,
    include_deleted: bool = False,
) -> dict[str, Any]:
    """Manual rules, newest first."""
    async with reader.connect() as conn:
        rules = await list_rules(conn, vehicle, include_deleted=include_deleted)
    return {"items": [rule_json(rule) for rule in rules]}


@router.delete("/fitment-rules/{rule_id}")
async def remove_rule(rule_id: int, session: SessionDep, outbox: OutboxDep) -> dict[str, Any]:
    """End a rule (kept for the record); its effect is recomputed at once."""
    try:
        return rule_json(await delete_rule(session, outbox, rule_id))
    except UnknownRule as exc:
        raise ApiError(404, "unknown_rule", str(exc)) from exc


class RecomputeRequest(BaseModel):
    """What to recompute."""

    model_config = ConfigDict(extra="forbid")

    scope: Annotated[str, Field(pattern=r"^(all|vehicle:\d+|bucket:[\w.:\-x]+)$", examples=["all", "vehicle:42"])]


@router.post("/fitment/recompute", status_code=202)
async def recompute(body: RecomputeRequest, request: Request, outbox: OutboxDep) -> dict[str, Any]:
    """List the scope for the recompute (bulk queue); follow it with ``GET /api/v1/fitment/status``."""
    kind, _, key = body.scope.partition(":")
    db = get_database(request)
    async with db.sessions.begin() as session:
        conn = await session.connection()
        if kind == "all":  # every variant, and every article's memberships (folded into the variants' recompute)
            variants = list(await conn.scalars(sa.select(vehicle_variant.c.vehicle_variant_id)))
            articles: list[str] = list(await conn.scalars(sa.select(product_spec.c.article_number)))
        elif kind == "vehicle":
            variants, articles = [int(key)], []
            if not await conn.scalar(
                sa.select(sa.func.count()).where(vehicle_variant.c.vehicle_variant_id == int(key))
            ):
                raise ApiError(404, "unknown_vehicle", f"no vehicle variant {key}")
        elif key.rsplit(":", 1)[-1] in POSITIONS:  # a tyre bucket: its rows of the variants in it, nothing else
            variants = await repo.variants_in_bucket(conn, key, 0, 1_000_000)
            await request_recompute(session, outbox, f"recompute {body.scope}", tyre_bucket=key)
            return {"scope": body.scope, "vehicles": len(variants), "articles": 0}
        else:  # a wheel bucket: the intersections of its wheels (with the variants in it)
            variants = await repo.variants_in_bucket(conn, key, 0, 1_000_000)
            articles = await repo.articles_in_bucket(conn, key)
        await repo.add_pending(conn, repo.VEHICLE, variants if kind != "bucket" else [])
        await repo.add_pending(conn, repo.ARTICLE, articles)
        await request_recompute(session, outbox, f"recompute {body.scope}")
    return {"scope": body.scope, "vehicles": len(variants), "articles": len(articles)}


@router.get("/fitment/status")
async def status(reader: ReaderDep) -> dict[str, Any]:
    """How many variants and articles wait for the recompute; the newest fitment change."""
    async with reader.connect() as conn:
        pending = await repo.pending_counts(conn)
        newest = await conn.scalar(sa.select(sa.func.max(fitment_version.c.changed_at)))
    return {"pending": pending, "last_change_at": newest.isoformat() if newest else None}


@router.get("/vehicles/{vehicle_variant_id}/fitment")
async def vehicle_fitment(vehicle_variant_id: int, request: Request) -> dict[str, Any]:
    """A variant's announced fitment (tyre sizes, tyre exclusions, article rows) with its version, consistently."""
    db = get_database(request)
    async with db.writer.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():  # one snapshot: the version and the rows belong together
            version = await conn.scalar(
                sa.select(fitment_version.c.version).where(fitment_version.c.vehicle_variant_id == vehicle_variant_id)
            )
            if version is None:
                exists = await conn.scalar(
                    sa.select(sa.func.count()).where(vehicle_variant.c.vehicle_variant_id == vehicle_variant_id)
                )
                if not exists:
                    raise ApiError(404, "unknown_vehicle", f"no vehicle variant {vehicle_variant_id}")
            tyres = (await repo.tyre_rows_by_variant(conn, [vehicle_variant_id]))[vehicle_variant_id]
            exclusions = (await repo.exclusions_by_variant(conn, [vehicle_variant_id]))[vehicle_variant_id]
            mappings = (await repo.mappings_by_variant(conn, [vehicle_variant_id]))[vehicle_variant_id]
    tyre_fields = ("axle", "width", "aspect", "rim_diameter", "base_score", "is_original_equipment", "min_load_index",
                   "reference_speed_rating", "reference_run_flat")  # fmt: skip
    mapping_fields = ("article_number", "product_type", "position", "is_original_equipment", "match_score")
    return {
        "vehicle_variant_id": vehicle_variant_id,
        "version": version or 0,
        "tyre_sizes": [{name: row[name] for name in tyre_fields}
                       for row in sorted(tyres, key=lambda r: r["tyre_bucket"])],
        "tyre_exclusions": [{"axle": axle, "article_number": number} for axle, number in sorted(exclusions)],
        "mappings": [{name: row[name] for name in mapping_fields}
                     for row in sorted(mappings, key=lambda r: r["article_number"])],
    }  # fmt: skip


@router.get("/fitment/versions")
async def versions(
    reader: ReaderDep,
    changed_since: Annotated[
        datetime | None, Query(description="Only variants whose fitment changed since (UTC).")
    ] = None,
    after: Annotated[int, Query(ge=0, description="Keyset: variant ids above this one.")] = 0,
    limit: Annotated[int, Query(ge=1, le=5_000)] = 1_000,
) -> dict[str, Any]:
    """Variants by id with their fitment version (for reconcile and rebuild), one page."""
    query = (sa.select(fitment_version).where(fitment_version.c.vehicle_variant_id > after)
             .order_by(fitment_version.c.vehicle_variant_id).limit(limit))  # fmt: skip
    if changed_since is not None:
        query = query.where(fitment_version.c.changed_at >= changed_since.replace(tzinfo=None))
    async with reader.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    items = [{"vehicle_variant_id": r["vehicle_variant_id"], "version": r["version"],
              "changed_at": r["changed_at"].isoformat()} for r in rows]  # fmt: skip
    return {"items": items, "next_after": items[-1]["vehicle_variant_id"] if len(items) == limit else None,
            "as_of": utc_now().isoformat()}  # fmt: skip


@router.get("/fitment/buckets/{bucket}")
async def bucket_members(
    bucket: str,
    reader: ReaderDep,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5_000)] = 1_000,
) -> dict[str, Any]:
    """The variants (one page, by id) and the articles in a tyre or wheel bucket."""
    async with reader.connect() as conn:
        variants = await repo.variants_in_bucket(conn, bucket, after, limit)
        articles = await repo.articles_in_bucket(conn, bucket) if after == 0 else []
    return {"bucket": bucket, "vehicles": variants, "articles": articles,
            "next_after": variants[-1] if len(variants) == limit else None}  # fmt: skip


@router.get("/vehicles/{vehicle_variant_id}/fitment/reference")
async def reference(
    vehicle_variant_id: int,
    reader: ReaderDep,
    product_type: ProductType = "tyre",
    axle: Annotated[str | None, Query(pattern="^(front|rear|both)$")] = None,
) -> dict[str, Any]:
    """The reference path: every article of the type through the rules for one axle (no buckets, no mapping)."""
    async with reader.connect() as conn:
        sources = await repo.variants_with_fitments(conn, [vehicle_variant_id])
        if vehicle_variant_id not in sources:
            raise ApiError(404, "unknown_vehicle", f"no vehicle variant {vehicle_variant_id}")
        axles = list(axles_of(*sources[vehicle_variant_id]))
        chosen = axle or axles[0]
        if chosen not in axles:
            raise ApiError(
                400, "invalid_axle", f"variant {vehicle_variant_id} has axles {', '.join(axles)}, not {chosen}"
            )
        answer = await reference_for_axle(conn, vehicle_variant_id, product_type, chosen)
    items = sorted(answer.items(), key=lambda item: (-item[1][0], item[0]))
    fits = [{"article_number": n, "match_score": s, "is_original_equipment": oe} for n, (s, oe) in items]
    return {"vehicle_variant_id": vehicle_variant_id, "product_type": product_type, "axle": chosen, "items": fits}
