"""The envelope every message travels in: identity, tracing, type and version, and the contract body.

The envelope is read as a tolerant reader, like a newer-minor payload: ``from_bytes`` ignores envelope
fields it does not know, so adding an optional header field later does not send every message of a
newer producer to an older consumer's DLQ. Building one stays strict (``extra="forbid"``).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints, ValidationError, field_validator

from contracts.registry import Contract, ContractValidationError
from contracts.types import AggregateVersion

ENVELOPE_SCHEMA_VERSION = "1.0"
"""Version of the envelope's own shape (published as ``envelope.v1.json``)."""

IDEMPOTENCY_KEY_MAX = 200  # the inbox's key column is VARCHAR(200)

MessageType = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$", max_length=100)]
SchemaVersion = Annotated[str, StringConstraints(pattern=r"^\d+\.\d+$")]
TraceId = Annotated[str, StringConstraints(min_length=1, max_length=128)]


def default_idempotency_key(event: Contract) -> str:
    """The contract's ``inbox_key()``, hashed if it would overflow the inbox column."""
    key = event.inbox_key()
    if len(key) <= IDEMPOTENCY_KEY_MAX:
        return key
    # Still deterministic when a long aggregate id would overflow the inbox column.
    return f"{event.message_type}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


class Envelope(BaseModel):
    """Headers of one message plus its contract body (``payload``, the contract as JSON data)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    message_id: UUID
    """Unique per publication: a re-announcement of the same change gets a new one."""
    idempotency_key: Annotated[str, StringConstraints(min_length=1, max_length=IDEMPOTENCY_KEY_MAX)]
    """Deduplication key of the inbox: equal for every delivery or announcement of one change."""
    correlation_id: TraceId
    """The request or job the message ultimately stems from; carried into logs of every island."""
    causation_id: TraceId | None = None
    """``message_id`` of the message whose handling produced this one; ``None`` at the origin."""
    message_type: MessageType
    """Dotted routing key, e.g. ``stock.availability.changed``."""
    schema_version: SchemaVersion
    """``MAJOR.MINOR`` of the contract the payload follows."""
    occurred_at: AwareDatetime
    """When the change happened at the producer, in UTC."""
    produced_by: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$", max_length=40)]
    """Island that produced the message, e.g. ``stock-import``."""
    aggregate_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    """Identity of the aggregate the message is about."""
    aggregate_version: AggregateVersion
    """Aggregate version after the change; consumers never let an older one overwrite a newer one."""
    payload: dict[str, Any]
    """The contract body as JSON data; read it with ``open_envelope``."""

    @field_validator("occurred_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @classmethod
    def wrap(
        cls,
        event: Contract,
        *,
        produced_by: str,
        correlation_id: str,
        causation_id: str | None = None,
        idempotency_key: str | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope:
        """Put a contract instance into a new envelope (new message id; key derived unless given)."""
        return cls(
            message_id=uuid4(),
            idempotency_key=idempotency_key if idempotency_key is not None else default_idempotency_key(event),
            correlation_id=correlation_id,
            causation_id=causation_id,
            message_type=event.message_type,
            schema_version=event.schema_version,
            occurred_at=occurred_at or datetime.now(UTC),
            produced_by=produced_by,
            aggregate_id=event.aggregate_id(),
            aggregate_version=event.aggregate_version(),
            payload=event.model_dump(mode="json"),
        )

    def to_bytes(self) -> bytes:
        """UTF-8 JSON, as it goes into the outbox and onto the broker."""
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, data: bytes | str) -> Envelope:
        """Parse a message body; anything unreadable raises ``ContractValidationError`` (permanent)."""
        try:
            return cls.model_validate_json(data, extra="ignore")
        except ValidationError as exc:
            raise ContractValidationError.from_pydantic("envelope", exc) from exc
