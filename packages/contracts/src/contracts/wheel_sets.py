"""Wheel-set commands: the webshop asks its own bulk queue to recompute sets after a component change."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints, model_validator

from contracts.fitment import VehicleVariantId
from contracts.registry import Contract, register
from contracts.types import ArticleNumber


@register
class WheelSetRecomputeRequested(Contract):
    """Command to ``webshop.bulk``: recompute the wheel sets a committed projection change touched.

    ``article_numbers``: components whose stock or price changed; the sets the reverse index names for
    them get new quantities and prices. ``vehicle_variant_ids``: variants whose fitment, vehicle data or
    component specs changed; their sets are composed again (membership). ``pending``: compose the
    variants listed in the webshop's ``wheel_set_pending`` (those taking the size of a tyre new to the
    catalogue or changed), a chunk at a time. Recomputing reads the current projections, so a duplicate
    or late request is harmless.
    """

    message_type: ClassVar[str] = "webshop.wheel-sets.recompute-requested"
    schema_version: ClassVar[str] = "1.1"

    request_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    """Unique per request."""
    article_numbers: Annotated[list[ArticleNumber], Field(max_length=20_000)] = []
    """Components whose availability changed."""
    vehicle_variant_ids: Annotated[list[VehicleVariantId], Field(max_length=20_000)] = []
    """Variants whose sets are composed again."""
    pending: bool = False
    """Compose (a chunk of) the variants waiting in ``wheel_set_pending``."""
    changed_at: datetime
    """When the earliest change behind this request happened at its source (freshness is measured from it)."""

    @model_validator(mode="after")
    def _names_something(self) -> WheelSetRecomputeRequested:
        if not self.article_numbers and not self.vehicle_variant_ids and not self.pending:
            raise ValueError("a recompute request names article_numbers or vehicle_variant_ids, or is pending")
        return self

    def aggregate_id(self) -> str:
        """All requests are about the one set projection."""
        return "wheel-sets"

    def aggregate_version(self) -> int:
        """Requests are not versioned."""
        return 1

    def inbox_key(self) -> str:
        """The request's own: every request is applied, not only the first."""
        return f"{self.message_type}:{self.request_id}"
