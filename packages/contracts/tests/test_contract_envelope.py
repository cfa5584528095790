"""The envelope: building, bytes round trip, idempotency keys, tolerant reading."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from contracts import (
    ContractError,
    ContractValidationError,
    Envelope,
    StockAvailabilityChanged,
    VehicleFitmentRecomputeRequested,
    open_envelope,
)
from contracts.envelope import IDEMPOTENCY_KEY_MAX, default_idempotency_key
from contracts.platform import PlatformTrackingPushRequested


def stock_event(version: int = 7) -> StockAvailabilityChanged:
    return StockAvailabilityChanged(
        article_number="MI-245-40-18-PS5",
        sellable_qty=12,
        best_price=Decimal("149.9"),
        next_delivery_date=date(2026, 3, 2),
        source_batch_id="SUP01-20260301-1",
        version=version,
    )


def wrap(event: Any, **overrides: Any) -> Envelope:
    return Envelope.wrap(event, produced_by="stock-import", correlation_id="req-1", **overrides)


def test_round_trip_bytes_to_model() -> None:
    envelope = wrap(stock_event(), causation_id="cause-1")
    assert Envelope.from_bytes(envelope.to_bytes()) == envelope
    assert open_envelope(Envelope.from_bytes(envelope.to_bytes())) == stock_event()


def test_headers_come_from_the_event() -> None:
    envelope = wrap(stock_event(version=7))
    assert (envelope.message_type, envelope.schema_version) == ("stock.availability.changed", "1.0")
    assert (envelope.aggregate_id, envelope.aggregate_version) == ("MI-245-40-18-PS5", 7)
    assert envelope.produced_by == "stock-import"
    assert envelope.occurred_at.tzinfo is UTC


def test_money_and_dates_travel_as_strings() -> None:
    body = json.loads(wrap(stock_event()).to_bytes())
    assert body["payload"]["best_price"] == "149.90"
    assert body["payload"]["next_delivery_date"] == "2026-03-02"


def test_default_idempotency_key_is_deterministic_per_state_change() -> None:
    first, again = wrap(stock_event(version=7)), wrap(stock_event(version=7))
    assert first.message_id != again.message_id
    assert first.idempotency_key == again.idempotency_key == "stock.availability.changed:MI-245-40-18-PS5:7"
    assert wrap(stock_event(version=8)).idempotency_key != first.idempotency_key


def test_requests_naming_one_aggregate_are_each_their_own_message() -> None:
    first, second = (VehicleFitmentRecomputeRequested(request_id=rid, vehicle_variant_id=7, reason="rule added")
                     for rid in ("r1", "r2"))  # fmt: skip
    assert wrap(first).aggregate_id == wrap(second).aggregate_id == "7"  # one variant: in order
    assert wrap(first).idempotency_key == "fitment.recompute.vehicle-requested:r1"
    assert wrap(second).idempotency_key != wrap(first).idempotency_key  # both recomputed, not one a duplicate


def test_explicit_idempotency_key_wins() -> None:
    assert wrap(stock_event(), idempotency_key="batch-9:row-3").idempotency_key == "batch-9:row-3"


def test_long_aggregate_id_still_gives_a_bounded_deterministic_key() -> None:
    event = PlatformTrackingPushRequested(platform_id="p" * 40, platform_order_id="o" * 59, tracking_number="1Z")
    key = default_idempotency_key(event)
    assert len(key) <= IDEMPOTENCY_KEY_MAX
    assert key == default_idempotency_key(event.model_copy())


def test_occurred_at_is_normalised_to_utc_and_must_be_aware() -> None:
    brussels = timezone(timedelta(hours=1))
    envelope = wrap(stock_event(), occurred_at=datetime(2026, 3, 1, 12, 0, tzinfo=brussels))
    assert envelope.occurred_at == datetime(2026, 3, 1, 11, 0, tzinfo=UTC)
    assert envelope.occurred_at.utcoffset() == timedelta(0)
    with pytest.raises(ValueError, match="occurred_at"):
        wrap(stock_event(), occurred_at=datetime(2026, 3, 1, 12, 0))


def test_empty_idempotency_key_is_refused() -> None:
    with pytest.raises(ValueError, match="idempotency_key"):
        wrap(stock_event(), idempotency_key="")


@pytest.mark.parametrize("body", [b"not json", b"{}", b'{"message_id": "nope"}'])
def test_unreadable_body_is_a_contract_error(body: bytes) -> None:
    with pytest.raises(ContractValidationError) as caught:
        Envelope.from_bytes(body)
    assert isinstance(caught.value, ContractError)


def test_unknown_envelope_field_of_a_newer_producer_is_ignored() -> None:
    envelope = wrap(stock_event())
    body = json.loads(envelope.to_bytes())
    body["tenant"] = "be"
    assert Envelope.from_bytes(json.dumps(body).encode()) == envelope


def test_envelope_is_frozen() -> None:
    envelope = wrap(stock_event())
    with pytest.raises(ValueError, match="frozen"):
        envelope.produced_by = "webshop"  # type: ignore[misc]
