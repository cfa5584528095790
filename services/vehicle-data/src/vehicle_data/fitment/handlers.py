"""The worker's side of the fitment recompute: the two recompute commands on vehicle-data's own queues.

- ``fitment.recompute.requested`` (``vehicle-data.bulk``): backfills and catalogue or sync changes. The
  handler works off one chunk of ``fitment_pending`` in its delivery's transaction and, while work
  remains, sends the next request from that same transaction: a chain of small exactly-once steps
  that a crash resumes where it stopped (the pending rows are the checkpoint).
- ``fitment.recompute.vehicle-requested`` (``vehicle-data.high-priority``): one rule change, recomputed
  at once for its variant, scoped to the rule's tyre buckets or article.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from contracts import Envelope, FitmentRecomputeRequested, VehicleFitmentRecomputeRequested
from integration_sdk.consumer import AnyHandler, Exclusive, MessageContext
from integration_sdk.outbox import Outbox
from integration_sdk.topology import BULK, HIGH_PRIORITY
from vehicle_data.fitment.recompute import process_pending, recompute_vehicles


async def request_recompute(session: AsyncSession, outbox: Outbox, reason: str, cause: Envelope | None = None) -> None:
    """Ask the bulk queue to work off ``fitment_pending`` (in the caller's transaction)."""
    command = FitmentRecomputeRequested(request_id=uuid.uuid4().hex, reason=reason)
    if cause is None:
        await outbox.add(session, command)
    else:
        await outbox.add(session, command, causation_id=str(cause.message_id), correlation_id=cause.correlation_id)


async def work_off_pending(command: FitmentRecomputeRequested, context: MessageContext) -> None:
    """One chunk of the pending recomputes; the next request if more is pending."""
    _, more = await process_pending(context.session, context.outbox, correlation_id=context.envelope.correlation_id)
    if more:
        await request_recompute(context.session, context.outbox, command.reason, context.envelope)


async def recompute_vehicle(command: VehicleFitmentRecomputeRequested, context: MessageContext) -> None:
    """Recompute what one rule change touched."""
    await recompute_vehicles(
        context.session, context.outbox, [command.vehicle_variant_id], tyre_buckets=command.tyre_buckets,
        article=command.article_number, correlation_id=context.envelope.correlation_id,
    )  # fmt: skip


HANDLERS: dict[str, dict[str, AnyHandler]] = {
    BULK: {"fitment.recompute.requested": Exclusive(work_off_pending)},
    HIGH_PRIORITY: {"fitment.recompute.vehicle-requested": recompute_vehicle},
}
