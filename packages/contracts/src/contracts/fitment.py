"""Contracts produced by vehicle-data: vehicle variants and the vehicle-to-product mapping."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints, field_validator

from contracts.registry import Contract, Frozen, register
from contracts.types import AggregateVersion, ArticleNumber, Axle, Bore, Pcd, ProductType, RimWidth

VehicleVariantId = Annotated[int, Field(ge=1)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class FitmentMapping(Frozen):
    """One article that fits the vehicle (a row of ``product_vehicle_mappings``)."""

    article_number: ArticleNumber
    """ERP article number."""
    position: Axle
    """Axle the article fits: ``front``, ``rear`` or ``both``."""
    is_original_equipment: bool
    """The vehicle maker fits this size from the factory."""
    match_score: Annotated[int, Field(ge=0, le=32767)]
    """Ranking of the match, higher is better (SMALLINT)."""


@register
class FitmentMappingChanged(Contract):
    """The complete current mapping of one vehicle variant for one product type.

    Replace-the-set semantics: the consumer replaces all its rows for (variant, product type) with
    ``mappings``, so the replica is right whatever happened before; an empty list means nothing fits.
    Together with versioning, a late older set never overwrites a newer one.
    """

    message_type: ClassVar[str] = "fitment.mapping.changed"
    schema_version: ClassVar[str] = "1.0"

    vehicle_variant_id: VehicleVariantId
    """Vehicle variant the set belongs to."""
    product_type: ProductType
    """Product type the set covers."""
    mappings: list[FitmentMapping]
    """Every article that fits now, one entry per article number."""
    version: AggregateVersion
    """Version of this (variant, product type) mapping at vehicle-data, +1 per recompute that changed it."""

    @field_validator("mappings")
    @classmethod
    def _one_entry_per_article(cls, mappings: list[FitmentMapping]) -> list[FitmentMapping]:
        counts = Counter(mapping.article_number for mapping in mappings)
        duplicates = sorted(number for number, count in counts.items() if count > 1)
        if duplicates:
            raise ValueError(f"article numbers listed more than once: {', '.join(duplicates)}")
        return mappings

    def aggregate_id(self) -> str:
        """``<vehicle_variant_id>:<product_type>``."""
        return f"{self.vehicle_variant_id}:{self.product_type}"

    def aggregate_version(self) -> int:
        """The mapping set's version."""
        return self.version


class AxleFitment(Frozen):
    """A tyre/wheel size the vehicle takes on an axle (OE or approved optional)."""

    axle: Axle
    """``front``, ``rear`` or ``both``."""
    fitment_kind: Literal["oe", "optional"]
    """Factory fitment or approved alternative."""
    tyre_width: Annotated[int, Field(gt=0)]
    """Tyre section width in mm."""
    tyre_aspect: Annotated[int, Field(gt=0)]
    """Tyre aspect ratio in %."""
    rim_diameter: Annotated[int, Field(gt=0)]
    """Rim diameter in inches."""
    wheel_width: RimWidth
    """Wheel width in inches."""
    wheel_offset: int
    """Wheel offset (ET) in mm."""
    load_index: Annotated[int, Field(gt=0)]
    """Minimum tyre load index."""
    speed_rating: Annotated[str, StringConstraints(min_length=1, max_length=4)]
    """Minimum tyre speed rating."""


@register
class VehicleVariantUpserted(Contract):
    """A vehicle variant was created or changed: its full current state, for the webshop's vehicle selector."""

    message_type: ClassVar[str] = "vehicle.variant.upserted"
    schema_version: ClassVar[str] = "1.0"

    vehicle_variant_id: VehicleVariantId
    """Vehicle variant key."""
    make: Name
    """Make, e.g. ``Volkswagen``."""
    model: Name
    """Model, e.g. ``Golf``."""
    generation: Name
    """Generation, e.g. ``VIII (CD1)``."""
    variant_name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    """Variant as shown to customers, e.g. ``2.0 TDI 150``."""
    year_from: Annotated[int, Field(ge=1900, le=2100)]
    """First model year."""
    year_to: Annotated[int, Field(ge=1900, le=2100)] | None = None
    """Last model year; ``None`` while still built."""
    engine: Name
    """Engine description."""
    body: Name
    """Body style, e.g. ``hatchback``."""
    drive: Literal["fwd", "rwd", "awd"]
    """Driven axles."""
    bolt_count: Annotated[int, Field(gt=0)]
    """Wheel bolts per hub."""
    pcd: Pcd
    """Pitch circle diameter in mm."""
    hub_bore: Bore
    """Hub bore in mm."""
    offset_min: int
    """Lowest wheel offset (ET) allowed, mm."""
    offset_max: int
    """Highest wheel offset (ET) allowed, mm."""
    fastener: Literal["bolt", "nut"]
    """Wheel fastener kind."""
    thread: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    """Fastener thread, e.g. ``M14x1.5``."""
    axle_load_front_kg: Annotated[int, Field(gt=0)]
    """Permitted front axle load in kg."""
    axle_load_rear_kg: Annotated[int, Field(gt=0)]
    """Permitted rear axle load in kg."""
    tpms_type: Literal["none", "indirect", "direct"]
    """Tyre pressure monitoring: ``direct`` means a wheel set needs sensors."""
    is_staggered: bool
    """Different sizes front and rear (staggered sets)."""
    fitments: list[AxleFitment]
    """Tyre/wheel sizes per axle, OE first as the source lists them."""
    version: AggregateVersion
    """Variant version at vehicle-data, +1 per real change (fitments included)."""

    def aggregate_id(self) -> str:
        """The vehicle variant id."""
        return str(self.vehicle_variant_id)

    def aggregate_version(self) -> int:
        """The variant's version."""
        return self.version
