"""Typed article records of the ERP export, one model per article type.

A record is valid when every field its type needs is present and well-formed and every field of
another type is empty; the ERP sends all spec columns on every line.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

CENT = Decimal("0.01")
TENTH = Decimal("0.1")


def _check_ean(value: str) -> str:
    if len(value) != 13 or not value.isdigit() or not value.isascii():
        raise ValueError("EAN must be 13 digits")
    digits = value.encode()
    # Weights 1,3,1,3... over the first 12 digits; 48 is ord("0"), taken off the 24 weighted bytes.
    weighted = sum(digits[0:12:2]) + 3 * sum(digits[1:12:2]) - 48 * 24
    expected = -weighted % 10
    if digits[12] - 48 != expected:
        raise ValueError(f"EAN check digit is {value[12]}, expected {expected}")
    return value


def _tpms_frequency(value: int) -> int:
    if value not in (315, 433):
        raise ValueError("frequency must be 315 or 433 MHz")
    return value


def _split_makes(value: Any) -> Any:
    return [make.strip() for make in value.split("|")] if isinstance(value, str) else value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Ean = Annotated[str, AfterValidator(_check_ean)]
# Quantised so "99.9" and "99.90" are the same price and hash the same.
Money = Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2), AfterValidator(lambda v: v.quantize(CENT))]
EuClass = Literal["A", "B", "C", "D", "E"]

# DECIMAL(n,1) measures, quantised like Money; they travel as "112.0" like the catalogue contract's.
Tenths = AfterValidator(lambda v: v.quantize(TENTH))
Pcd = Annotated[Decimal, Field(ge=80, le=250, max_digits=5, decimal_places=1), Tenths]
RimWidth = Annotated[Decimal, Field(ge=3, le=15, max_digits=3, decimal_places=1), Tenths]
Bore = Annotated[Decimal, Field(ge=40, le=200, max_digits=4, decimal_places=1), Tenths]


class ArticleRecord(BaseModel):
    """Fields every article has."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    article_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
    ean: Ean | None = None
    brand: Name
    model: Name
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)] = ""
    list_price: Money


class TyreRecord(ArticleRecord):
    """A tyre: size, load/speed, season and EU label."""

    article_type: Literal["tyre"]
    width: Annotated[int, Field(ge=100, le=455)]
    aspect: Annotated[int, Field(ge=20, le=100)]
    rim_diameter: Annotated[int, Field(ge=10, le=30)]
    load_index: Annotated[int, Field(ge=50, le=170)]
    speed_rating: Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,2}$")]
    season: Literal["summer", "winter", "all_season"]
    run_flat: bool = False
    xl: bool = False
    three_pmsf: bool = False
    eu_fuel: EuClass | None = None
    eu_wet: EuClass | None = None
    eu_noise_db: Annotated[int, Field(ge=50, le=90)] | None = None


class WheelRecord(ArticleRecord):
    """A wheel (rim): bolt pattern, size, offset, centre bore."""

    article_type: Literal["wheel"]
    bolt_count: Annotated[int, Field(ge=3, le=10)]
    pcd: Pcd
    wheel_diameter: Annotated[int, Field(ge=10, le=30)]
    wheel_width: RimWidth
    offset: Annotated[int, Field(ge=-100, le=150)]
    center_bore: Bore
    wheel_load_kg: Annotated[int, Field(ge=100, le=3000)]
    material: Literal["alloy", "steel"]


class TpmsRecord(ArticleRecord):
    """A tyre pressure sensor."""

    article_type: Literal["tpms"]
    protocol: Literal["direct"]
    frequency_mhz: Annotated[int, AfterValidator(_tpms_frequency)]
    compatible_makes: Annotated[list[Name], BeforeValidator(_split_makes), Field(min_length=1)]


Article = TyreRecord | WheelRecord | TpmsRecord
MODELS: dict[str, type[Article]] = {"tyre": TyreRecord, "wheel": WheelRecord, "tpms": TpmsRecord}
COMMON_FIELDS = ("article_number", "article_type", "ean", "brand", "model", "description", "list_price")
SPEC_FIELDS = {
    kind: tuple(name for name in model.model_fields if name not in COMMON_FIELDS) for kind, model in MODELS.items()
}
# The export's columns, in the ERP's order: common fields, then every type's spec fields.
COLUMNS = (*COMMON_FIELDS, *(name for names in SPEC_FIELDS.values() for name in names))
