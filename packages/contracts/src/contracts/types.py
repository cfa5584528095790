"""Field types shared by the contracts: article numbers, fixed-point decimals, versions.

Fixed-point decimals (money, PCD, bores, rim widths) stay ``Decimal`` in Python and travel as strings
with exactly their scale (``"12.50"``): a JSON number would pass through a float in many readers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, PlainSerializer, StringConstraints, WithJsonSchema


def _fixed_point_text(places: int) -> PlainSerializer:
    return PlainSerializer(lambda value: f"{value:.{places}f}", return_type=str, when_used="json")


def _fixed_point_schema(integer_digits: int, places: int) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "pattern": rf"^\d{{1,{integer_digits}}}\.\d{{{places}}}$"})


Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=10, decimal_places=2),
    _fixed_point_text(2),
    _fixed_point_schema(8, 2),
]
"""DECIMAL(10,2), non-negative; a string such as ``"149.90"`` in JSON."""

Pcd = Annotated[Decimal, Field(gt=0, max_digits=5, decimal_places=1), _fixed_point_text(1), _fixed_point_schema(4, 1)]
"""Pitch circle diameter in mm, DECIMAL(5,1), e.g. ``"112.0"``."""

Bore = Annotated[Decimal, Field(gt=0, max_digits=4, decimal_places=1), _fixed_point_text(1), _fixed_point_schema(3, 1)]
"""Centre or hub bore in mm, DECIMAL(4,1), e.g. ``"66.6"``."""

RimWidth = Annotated[
    Decimal, Field(gt=0, max_digits=3, decimal_places=1), _fixed_point_text(1), _fixed_point_schema(2, 1)
]
"""Wheel width in inches, DECIMAL(3,1), e.g. ``"7.5"``."""

ArticleNumber = Annotated[str, StringConstraints(min_length=1, max_length=50)]
"""Article number of the ERP master, VARCHAR(50)."""

Ean = Annotated[str, StringConstraints(pattern=r"^\d{13}$")]
"""EAN-13 barcode."""

AggregateVersion = Annotated[int, Field(ge=0)]
"""Version of the aggregate at the source: +1 per real change; consumers apply only newer ones."""

Quantity = Annotated[int, Field(ge=1)]
"""A positive piece count."""

CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
"""ISO 4217 currency code, e.g. ``EUR``."""

ProductType = Literal["tyre", "wheel", "tpms"]
Axle = Literal["front", "rear", "both"]
EuGrade = Literal["A", "B", "C", "D", "E"]

JsonObject = dict[str, Any]
