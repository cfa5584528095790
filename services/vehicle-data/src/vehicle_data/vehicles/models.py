"""Typed records of the vehicle data provider's sync file: a variant with its per-axle fitments."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

ONE_PLACE = Decimal("0.1")


def _one_place(value: Decimal) -> Decimal:
    # Quantised so 112 and 112.0 are the same PCD and hash the same.
    return value.quantize(ONE_PLACE)


def _text(max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)


Tenths = AfterValidator(_one_place)
Year = Annotated[int, Field(ge=1900, le=2100)]


class AxleFitment(BaseModel):
    """An OE or optional tyre/wheel size on one axle (``both`` when front and rear are the same)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    axle: Literal["front", "rear", "both"]
    fitment_kind: Literal["oe", "optional"]
    tyre_width: Annotated[int, Field(ge=100, le=455)]
    tyre_aspect: Annotated[int, Field(ge=20, le=100)]
    rim_diameter: Annotated[int, Field(ge=10, le=30)]
    wheel_width: Annotated[Decimal, Field(ge=3, le=15, max_digits=3, decimal_places=1), Tenths]
    wheel_offset: Annotated[int, Field(ge=-100, le=150)]
    load_index: Annotated[int, Field(ge=50, le=170)]
    speed_rating: Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,2}$")]
    run_flat: bool = False

    @property
    def size_key(self) -> tuple[str, str, int, int, int]:
        """What makes a fitment unique within its variant (the table's unique key)."""
        return (self.axle, self.fitment_kind, self.tyre_width, self.tyre_aspect, self.rim_diameter)


class VariantRecord(BaseModel):
    """One vehicle variant: identity, hub geometry, axle loads, TPMS need and fitments."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vehicle_variant_id: Annotated[int, Field(ge=1, le=2_147_483_647)]
    make: Annotated[str, _text(50)]
    model: Annotated[str, _text(100)]
    generation: Annotated[str, _text(100)]
    variant_name: Annotated[str, _text(150)]
    year_from: Year
    year_to: Year | None = None
    engine: Annotated[str, _text(100)]
    body: Annotated[str, _text(50)]
    drive: Literal["fwd", "rwd", "awd"]
    bolt_count: Annotated[int, Field(ge=3, le=10)]
    pcd: Annotated[Decimal, Field(ge=80, le=250, max_digits=5, decimal_places=1), Tenths]
    hub_bore: Annotated[Decimal, Field(ge=40, le=200, max_digits=4, decimal_places=1), Tenths]
    offset_min: Annotated[int, Field(ge=-100, le=150)]
    offset_max: Annotated[int, Field(ge=-100, le=150)]
    fastener: Literal["bolt", "nut"]
    thread: Annotated[str, _text(20)]
    axle_load_front_kg: Annotated[int, Field(ge=100, le=10_000)]
    axle_load_rear_kg: Annotated[int, Field(ge=100, le=10_000)]
    tpms_type: Literal["none", "indirect", "direct"]
    is_staggered: bool
    fitments: Annotated[list[AxleFitment], Field(min_length=1)]

    @field_validator("fitments")
    @classmethod
    def _unique_sizes(cls, fitments: list[AxleFitment]) -> list[AxleFitment]:
        keys = [fitment.size_key for fitment in fitments]
        if duplicated := sorted({key for key in keys if keys.count(key) > 1}):
            raise ValueError(f"the same axle, kind and tyre size is listed twice: {duplicated[0]}")
        return fitments

    @field_validator("year_to")
    @classmethod
    def _not_before_start(cls, year_to: int | None, info: ValidationInfo) -> int | None:
        year_from = info.data.get("year_from")
        if year_to is not None and year_from is not None and year_to < year_from:
            raise ValueError(f"before year_from {year_from}")
        return year_to

    @field_validator("offset_max")
    @classmethod
    def _not_below_min(cls, offset_max: int, info: ValidationInfo) -> int:
        offset_min = info.data.get("offset_min")
        if offset_min is not None and offset_max < offset_min:
            raise ValueError(f"below offset_min {offset_min}")
        return offset_max
