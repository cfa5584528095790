"""Contract base class, the registry of versioned contracts, and the errors of reading a message.

Versioning rules (``schema_version`` is ``"MAJOR.MINOR"``):

- A major version is a separate contract: the registry maps ``(message_type, major)`` to one model
  class, and a message of a major the consumer has no model for is rejected with
  :class:`UnknownContractVersion` (permanent: retrying cannot teach the consumer a new major).
- A minor version only adds optional fields. The code base holds one model per major, always at its
  newest minor (a minor bump edits the class in place), so older minors need no models of their own.
- Models are ``extra="forbid"``: a producer cannot send a misspelt or undeclared field, and a message
  of the consumer's own or an older minor is read just as strictly. A message of a *newer* minor than
  the consumer's model is read with ``extra="ignore"`` (pydantic applies it to nested models too):
  its extra fields are the optional additions the consumer does not know yet, and dropping them is
  exactly what "backward compatible minor" promises. Fields the consumer does know are validated as
  usual, since a minor never changes an existing field (the compatibility test enforces that).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

if TYPE_CHECKING:
    from contracts.envelope import Envelope

C = TypeVar("C", bound="type[Contract]")

_SHOWN_VALUE_CHARS = 80


class Frozen(BaseModel):
    """Immutable, closed model with field docs taken from attribute docstrings: the base of every part."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class Contract(Frozen):
    """An event or command body: a routing key, a schema version and the aggregate it is about."""

    message_type: ClassVar[str]
    schema_version: ClassVar[str]

    @abstractmethod
    def aggregate_id(self) -> str:
        """Identity of the aggregate this message is about (ordering and scope of replays)."""

    @abstractmethod
    def aggregate_version(self) -> int:
        """Version of the aggregate after the change: a newer one supersedes older ones."""

    def inbox_key(self) -> str:
        """What consumers deduplicate by: ``<message_type>:<aggregate_id>:<aggregate_version>``, so the same
        state change always gets the same key. A command that is not a state change (several may name one
        aggregate) keys by its own request id instead."""
        return f"{self.message_type}:{self.aggregate_id()}:{self.aggregate_version()}"


def parse_version(schema_version: str) -> tuple[int, int]:
    """``"1.2"`` -> ``(1, 2)``."""
    major, _, minor = schema_version.partition(".")
    return int(major), int(minor)


class ContractError(Exception):
    """A message that cannot be read as any known contract: permanent, a retry gives the same answer."""


class UnknownMessageType(ContractError):
    """No contract is registered for the message type."""

    def __init__(self, message_type: str) -> None:
        super().__init__(f"unknown message type {message_type!r}")
        self.message_type = message_type


class UnknownContractVersion(ContractError):
    """The message type is known, but not in this major version."""

    def __init__(self, message_type: str, schema_version: str, known_majors: list[int]) -> None:
        known = ", ".join(f"{major}.x" for major in known_majors)
        super().__init__(f"{message_type} has no contract for version {schema_version} (this consumer reads {known})")
        self.message_type = message_type
        self.schema_version = schema_version
        self.known_majors = known_majors


@dataclass(frozen=True)
class FieldProblem:
    """One invalid field: its dotted path, the value received and why it was refused."""

    field: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}={self.value}: {self.reason}"


class ContractValidationError(ContractError):
    """The envelope, or the payload of a known contract, does not validate: names each field and value."""

    def __init__(self, subject: str, problems: list[FieldProblem]) -> None:
        super().__init__(f"invalid {subject}: " + "; ".join(map(str, problems)))
        self.subject = subject
        self.problems = problems

    @classmethod
    def from_pydantic(cls, subject: str, error: ValidationError) -> ContractValidationError:
        """Name every failing field and the value it had (shortened), so a DLQ entry explains itself."""
        problems = [
            FieldProblem(
                field=".".join(map(str, detail["loc"])) or "<message>",
                value="<missing>" if detail["type"] == "missing" else _shorten(repr(detail["input"])),
                reason=detail["msg"],
            )
            for detail in error.errors(include_url=False)
        ]
        return cls(subject, problems)


def _shorten(text: str) -> str:
    return text if len(text) <= _SHOWN_VALUE_CHARS else text[: _SHOWN_VALUE_CHARS - 3] + "..."


class ContractRegistry:
    """Maps ``(message_type, major)`` to the contract model that reads it."""

    def __init__(self) -> None:
        self._models: dict[tuple[str, int], type[Contract]] = {}

    def register(self, model: C) -> C:
        """Class decorator: make ``model`` the reader of its message type and major version."""
        key = (model.message_type, parse_version(model.schema_version)[0])
        registered = self._models.setdefault(key, model)
        if registered is not model:
            raise ValueError(f"{key[0]} v{key[1]} is already registered by {registered.__qualname__}")
        return model

    def resolve(self, message_type: str, schema_version: str) -> type[Contract]:
        """The model for a message type and version, or the contract error saying why there is none."""
        majors = sorted(major for known_type, major in self._models if known_type == message_type)
        if not majors:
            raise UnknownMessageType(message_type)
        model = self._models.get((message_type, parse_version(schema_version)[0]))
        if model is None:
            raise UnknownContractVersion(message_type, schema_version, majors)
        return model

    def parse(self, message_type: str, schema_version: str, payload: Mapping[str, Any]) -> Contract:
        """Validate a payload as the registered contract (newer-minor fields ignored, see module doc)."""
        model = self.resolve(message_type, schema_version)
        newer_minor = parse_version(schema_version)[1] > parse_version(model.schema_version)[1]
        extra: Literal["ignore", "forbid"] = "ignore" if newer_minor else "forbid"
        try:
            return model.model_validate(payload, extra=extra)
        except ValidationError as exc:
            raise ContractValidationError.from_pydantic(f"{message_type} {schema_version}", exc) from exc

    def open(self, envelope: Envelope) -> Contract:
        """The contract instance an envelope carries."""
        return self.parse(envelope.message_type, envelope.schema_version, envelope.payload)

    def models(self) -> list[type[Contract]]:
        """Every registered model, ordered by message type and major."""
        return [self._models[key] for key in sorted(self._models)]


REGISTRY = ContractRegistry()
"""The registry of this code base's contracts; every contract module registers into it on import."""

register = REGISTRY.register


def open_envelope(envelope: Envelope) -> Contract:
    """The contract instance an envelope carries, read with the code base's registry."""
    return REGISTRY.open(envelope)
