"""The worker's side of the fitment recompute: the two recompute commands on vehicle-data's own queues.

- ``fitment.recompute.requested`` (``vehicle-data.bulk``): backfills and catalogue or sync changes. The
  handler works off one chunk of ``fitment_pending`` in its delivery's transaction and, while work
  remains, sends the next request from that same transaction: a chain of small exactly-once steps
  that a crash resumes where it stopped (the pending rows are the checkpoint).
- ``fitment.recompute.vehicle-requested`` (``vehicle-data.high-priority``): one rule change, recomputed
  at once for its variant, scoped to the rule's tyre buckets or article.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts import Envelope, FitmentRecomputeRequested, VehicleFitmentRecomputeRequested
from integration_sdk import metrics
from integration_sdk.consumer import AnyHandler, Exclusive, MessageContext
from integration_sdk.outbox import Outbox
from integration_sdk.topology import BULK, HIGH_PRIORITY
from vehicle_data.fitment import repository as repo
from vehicle_data.fitment.recompute import (
    BUCKET_CHUNK,
    ISLAND,
    RecomputeReport,
    process_pending,
    recompute_vehicles,
)


async def request_recompute(
    session: AsyncSession, outbox: Outbox, reason: str, cause: Envelope | None = None, **scope: Any
) -> None:
    """Ask the bulk queue to work off ``fitment_pending`` (or a tyre bucket: ``scope``), in the caller's transaction."""
    command = FitmentRecomputeRequested(request_id=uuid.uuid4().hex, reason=reason, **scope)
    if cause is None:
        await outbox.add(session, command)
    else:
        await outbox.add(session, command, causation_id=str(cause.message_id), correlation_id=cause.correlation_id)


def _measured(context: MessageContext, report: RecomputeReport, started: float) -> None:
    async def committed() -> None:
        report.record_metrics()
        metrics.RECOMPUTE_SECONDS.labels(ISLAND, "fitment").observe(time.perf_counter() - started)

    context.after_commit(committed)


async def work_off_pending(command: FitmentRecomputeRequested, context: MessageContext) -> None:
    """One chunk of the pending recomputes (or of a tyre bucket's variants); the next request if more is left."""
    started = time.perf_counter()
    correlation_id = context.envelope.correlation_id
    if command.tyre_bucket is None:
        report, more = await process_pending(context.session, context.outbox, correlation_id=correlation_id)
        follow_up: dict[str, Any] = {}
    else:
        conn = await context.session.connection()
        chunk = await repo.variants_in_bucket(conn, command.tyre_bucket, command.after_variant, BUCKET_CHUNK)
        report = await recompute_vehicles(context.session, context.outbox, chunk, tyre_buckets=[command.tyre_bucket],
                                          correlation_id=correlation_id)  # fmt: skip
        more = len(chunk) == BUCKET_CHUNK
        follow_up = {"tyre_bucket": command.tyre_bucket, "after_variant": chunk[-1] if chunk else 0}
    _measured(context, report, started)
    if more:
        await request_recompute(context.session, context.outbox, command.reason, context.envelope, **follow_up)


async def recompute_vehicle(command: VehicleFitmentRecomputeRequested, context: MessageContext) -> None:
    """Recompute what one rule change touched."""
    started = time.perf_counter()
    report = await recompute_vehicles(
        context.session, context.outbox, [command.vehicle_variant_id], tyre_buckets=command.tyre_buckets,
        article=command.article_number, correlation_id=context.envelope.correlation_id,
    )  # fmt: skip
    _measured(context, report, started)


HANDLERS: dict[str, dict[str, AnyHandler]] = {
    BULK: {"fitment.recompute.requested": Exclusive(work_off_pending)},
    HIGH_PRIORITY: {"fitment.recompute.vehicle-requested": recompute_vehicle},
}
