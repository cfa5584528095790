"""Contracts produced by vehicle-data: vehicle variants and the vehicle-to-product mapping."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from contracts.registry import Contract, Frozen, register
from contracts.types import AggregateVersion, ArticleNumber, Axle, Bore, Pcd, ProductType, RimWidth

VehicleVariantId = Annotated[int, Field(ge=1)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100)]


Score = Annotated[int, Field(ge=0, le=32767)]


FitmentMapping = tuple[ArticleNumber, ProductType, Axle, bool, Score]
"""One article that fits the vehicle, a row of ``product_vehicle_mappings``: ``(article_number, product_type,
position, is_original_equipment, match_score)``. ``product_type`` is ``wheel`` (every fitting wheel) or
``tyre`` (only tyres an operator included outside their sizes); ``position`` the axle (``front``,
``rear``, ``both``); ``match_score`` higher is better. A tuple, not an object: a variant's full state
carries hundreds of them (11M rows in a full build), and a list of tuples reads ten times faster."""


class TyreSizeFitment(Frozen):
    """A tyre size that fits one axle of the vehicle, and the limits a tyre of that size must meet.

    Tyres fit by size, so the mapping carries sizes, not the thousands of tyres in them. A catalogue
    tyre of this size fits when ``min_load_index <= load_index <= 120`` and its speed rating is at
    least ``reference_speed_rating`` in ``QRSTHVWY`` order, or it is a winter tyre; its score is
    ``base_score``, minus 5 for a winter tyre below the reference speed rating, minus 10 when
    ``reference_run_flat`` and the tyre is not run-flat.
    """

    axle: Axle
    """``front``, ``rear`` or ``both``."""
    width: Annotated[int, Field(gt=0)]
    """Section width in mm."""
    aspect: Annotated[int, Field(gt=0)]
    """Aspect ratio in %."""
    rim_diameter: Annotated[int, Field(gt=0)]
    """Rim diameter in inches."""
    base_score: Score
    """100 OE size, 90 optional size, 60/50 alternative size within 1.5%/3%, 75 included by an operator."""
    is_original_equipment: bool
    """The size is the axle's OE size."""
    min_load_index: Annotated[int, Field(ge=0)]
    """Lowest load index that carries the axle (121: no passenger tyre does)."""
    reference_speed_rating: Annotated[str, StringConstraints(min_length=1, max_length=4)]
    """Speed rating a non-winter tyre must reach."""
    reference_run_flat: bool
    """The reference size is run-flat from the factory: a tyre that is not costs 10 points."""


class TyreExclusion(Frozen):
    """A tyre an operator excluded from one axle of the vehicle, whatever its size."""

    axle: Axle
    """``front``, ``rear`` or ``both`` (all axles)."""
    article_number: ArticleNumber
    """The excluded tyre."""


@register
class FitmentMappingChanged(Contract):
    """The fitment of one vehicle variant changed: what fits it now, as a full state or as a change.

    Versions of one variant follow each other without gaps. ``replace`` carries the full state (every
    field set; apply when newer than what was applied). Otherwise it is the change from ``version - 1``:
    apply it only right after that version. ``tyre_sizes`` and ``tyre_exclusions`` are always complete
    when present (``None``: unchanged); ``mappings_upserted``/``mappings_removed`` change article rows.
    """

    message_type: ClassVar[str] = "fitment.mapping.changed"
    schema_version: ClassVar[str] = "2.0"

    vehicle_variant_id: VehicleVariantId
    """Vehicle variant the fitment belongs to."""
    version: Annotated[int, Field(ge=1)]
    """Version of the variant's fitment at vehicle-data, +1 per recompute that changed it."""
    replace: bool
    """True: the complete fitment; False: the change from the previous version."""
    tyre_sizes: list[TyreSizeFitment] | None = None
    """Every tyre size that fits, per axle (complete), or None when unchanged."""
    tyre_exclusions: list[TyreExclusion] | None = None
    """Every excluded tyre (complete), or None when unchanged."""
    mappings_upserted: list[FitmentMapping] = []
    """Article rows that are new or changed (with ``replace``: all of them)."""
    mappings_removed: list[ArticleNumber] = []
    """Articles that no longer fit (never with ``replace``)."""

    @field_validator("mappings_upserted")
    @classmethod
    def _one_entry_per_article(cls, mappings: list[FitmentMapping]) -> list[FitmentMapping]:
        counts = Counter(mapping[0] for mapping in mappings)
        duplicates = sorted(number for number, count in counts.items() if count > 1)
        if duplicates:
            raise ValueError(f"article numbers listed more than once: {', '.join(duplicates)}")
        return mappings

    @model_validator(mode="after")
    def _complete_when_replacing(self) -> FitmentMappingChanged:
        if self.replace and (self.tyre_sizes is None or self.tyre_exclusions is None or self.mappings_removed):
            raise ValueError("a replacing change carries tyre_sizes and tyre_exclusions and removes nothing")
        return self

    def aggregate_id(self) -> str:
        """The vehicle variant id."""
        return str(self.vehicle_variant_id)

    def aggregate_version(self) -> int:
        """The fitment's version."""
        return self.version


@register
class FitmentRecomputeRequested(Contract):
    """Command to vehicle-data's bulk queue: work through the pending recomputes (``fitment_pending``).

    Sent after changes that leave work pending (catalogue specs, vehicle syncs, backfills); the handler
    takes a chunk and sends the next request while work remains, so any number of requests coalesce.
    With ``tyre_bucket``, it recomputes that bucket's rows of the variants in it instead, a chunk of
    variants (ids above ``after_variant``) at a time.
    """

    message_type: ClassVar[str] = "fitment.recompute.requested"
    schema_version: ClassVar[str] = "1.0"

    request_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    """Unique per request."""
    reason: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    """What left work pending, e.g. ``vehicle sync`` or ``catalogue``."""
    tyre_bucket: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    """Recompute only this tyre bucket (an operator's bucket recompute)."""
    after_variant: Annotated[int, Field(ge=0)] = 0
    """With ``tyre_bucket``: continue with the variants above this id."""

    def aggregate_id(self) -> str:
        """The request."""
        return self.request_id

    def aggregate_version(self) -> int:
        """A request is sent once."""
        return 1


@register
class VehicleFitmentRecomputeRequested(Contract):
    """Command to vehicle-data's high-priority queue: recompute what one rule change touched, now."""

    message_type: ClassVar[str] = "fitment.recompute.vehicle-requested"
    schema_version: ClassVar[str] = "1.0"

    request_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    """Unique per request."""
    vehicle_variant_id: VehicleVariantId
    """The variant whose fitment rules changed."""
    article_number: ArticleNumber | None = None
    """Only this article's fit (an article rule), or None."""
    tyre_buckets: list[Annotated[str, StringConstraints(min_length=1, max_length=40)]] | None = None
    """Only these tyre buckets (a size rule), or None; with neither, the whole variant."""
    reason: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    """Why, e.g. ``rule 17 added``."""

    def aggregate_id(self) -> str:
        """The variant (its requests are applied in order)."""
        return str(self.vehicle_variant_id)

    def aggregate_version(self) -> int:
        """Requests are not versioned."""
        return 1

    def inbox_key(self) -> str:
        """The request's own: every rule change of a variant is recomputed, not just its first."""
        return f"{self.message_type}:{self.request_id}"


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
    run_flat: bool = False
    """The factory fits run-flat tyres (added in 1.1)."""


@register
class VehicleVariantUpserted(Contract):
    """A vehicle variant was created or changed: its full current state, for the webshop's vehicle selector."""

    message_type: ClassVar[str] = "vehicle.variant.upserted"
    schema_version: ClassVar[str] = "1.1"

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
