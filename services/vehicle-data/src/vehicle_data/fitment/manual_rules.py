"""Manual fitment rules: an operator includes or excludes an article or a tyre size for a variant's axle.

A rule is stored with who and why; deleting one keeps it (``deleted_at``) for the record. Adding or
deleting a rule puts a ``fitment.recompute.vehicle-requested`` for exactly what it touches (the
variant's buckets of that size, or that article) into the outbox in the same transaction, so the
high-priority worker recomputes it within moments. ``derived`` says how rules act on the fitment.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from contracts import VehicleFitmentRecomputeRequested
from foundation.bulk import utc_now
from integration_sdk.outbox import Outbox
from vehicle_data.fitment import repository as repo
from vehicle_data.fitment.derived import applies_to, axles_of, format_tyre_size, parse_tyre_size
from vehicle_data.fitment.rules import tyre_bucket
from vehicle_data.tables import fitment_rule


class UnknownVariant(LookupError):
    """No vehicle variant with that id."""


class UnknownRule(LookupError):
    """No active rule with that id."""


class RuleInput(BaseModel):
    """A new rule: what (an article or a tyre size), where (variant, axle), and who decided it why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vehicle_variant_id: Annotated[int, Field(ge=1)]
    axle: Literal["front", "rear", "both"] = "both"
    action: Literal["include", "exclude"]
    article_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)] | None = None
    tyre_size: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)] | None = None
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    created_by: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]

    @field_validator("tyre_size")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        return None if value is None else format_tyre_size(parse_tyre_size(value))

    @model_validator(mode="after")
    def _one_target(self) -> RuleInput:
        if (self.article_number is None) == (self.tyre_size is None):
            raise ValueError("give exactly one of article_number and tyre_size")
        return self


def rule_json(rule: dict[str, Any]) -> dict[str, Any]:
    """A stored rule as the API returns it (times in ISO 8601)."""
    return {**rule, **{name: rule[name] and rule[name].isoformat() for name in ("created_at", "deleted_at")}}


async def _axles(conn: AsyncConnection, vehicle_variant_id: int) -> list[str]:
    sources = await repo.variants_with_fitments(conn, [vehicle_variant_id])
    if vehicle_variant_id not in sources:
        raise UnknownVariant(f"no vehicle variant {vehicle_variant_id}")
    return list(axles_of(*sources[vehicle_variant_id]))


async def _request(
    session: AsyncSession, outbox: Outbox, rule: dict[str, Any], axles: list[str], reason: str
) -> VehicleFitmentRecomputeRequested:
    buckets = None
    if rule["tyre_size"] is not None:
        width, aspect, rim = parse_tyre_size(rule["tyre_size"])
        buckets = [tyre_bucket(width, aspect, rim, axle) for axle in axles if applies_to(rule["axle"], axle)]
    command = VehicleFitmentRecomputeRequested(
        request_id=uuid.uuid4().hex, vehicle_variant_id=rule["vehicle_variant_id"],
        article_number=rule["article_number"], tyre_buckets=buckets, reason=reason,
    )  # fmt: skip
    await outbox.add(session, command)
    return command


async def add_rule(session: AsyncSession, outbox: Outbox, rule: RuleInput) -> dict[str, Any]:
    """Store the rule and request the recompute of what it touches; the stored rule."""
    conn = await session.connection()
    axles = await _axles(conn, rule.vehicle_variant_id)
    values = {**rule.model_dump(), "created_at": utc_now(), "deleted_at": None}
    result = await conn.execute(fitment_rule.insert().values(**values))
    rule_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
    stored = {"rule_id": rule_id, **values}
    await _request(session, outbox, stored, axles, f"rule {stored['rule_id']} added")
    return stored


async def delete_rule(session: AsyncSession, outbox: Outbox, rule_id: int) -> dict[str, Any]:
    """End an active rule (kept with ``deleted_at``) and request the recompute of what it touched."""
    conn = await session.connection()
    row = (await conn.execute(
        sa.select(fitment_rule).where(fitment_rule.c.rule_id == rule_id, fitment_rule.c.deleted_at.is_(None))
        .with_for_update()
    )).mappings().first()  # fmt: skip
    if row is None:
        raise UnknownRule(f"no active fitment rule {rule_id}")
    now = utc_now()
    await conn.execute(fitment_rule.update().where(fitment_rule.c.rule_id == rule_id).values(deleted_at=now))
    stored = {**dict(row), "deleted_at": now}
    await _request(session, outbox, stored, await _axles(conn, row["vehicle_variant_id"]), f"rule {rule_id} deleted")
    return stored


async def list_rules(
    conn: AsyncConnection, vehicle_variant_id: int | None = None, *, include_deleted: bool = False
) -> list[dict[str, Any]]:
    """Rules, newest first (of one variant, if given)."""
    query = sa.select(fitment_rule).order_by(fitment_rule.c.rule_id.desc()).limit(1_000)
    if vehicle_variant_id is not None:
        query = query.where(fitment_rule.c.vehicle_variant_id == vehicle_variant_id)
    if not include_deleted:
        query = query.where(fitment_rule.c.deleted_at.is_(None))
    return [dict(row) for row in (await conn.execute(query)).mappings()]
