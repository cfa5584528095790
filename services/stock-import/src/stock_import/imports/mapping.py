"""The declarative description of one supplier's feed, and the supplier definition that carries it."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

OFFER_FIELDS = ("article_number", "supplier_sku", "quantity", "price", "delivery_date")
REQUIRED_FIELDS = ("article_number", "quantity", "price")
Slice = Annotated[list[int], Field(min_length=2, max_length=2)]
DATE_DIRECTIVES = ("%d", "%m", "%Y")  # what the SQL validation of delivery dates understands


class FeedMapping(BaseModel):
    """Format, encoding, separators and where each offer field sits in the feed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["csv", "xml", "fixed_width"]
    encoding: str = "utf-8"
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ";"
    decimal_separator: Literal[".", ","] = "."
    date_format: str = "%Y-%m-%d"
    has_header: bool = True
    # our field → CSV column name, XML element name, or fixed-width [start, end) slice
    columns: dict[str, str | Slice]
    article_number_prefix: str = ""
    record_element: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> FeedMapping:
        unknown = set(self.columns) - set(OFFER_FIELDS)
        if unknown:
            raise ValueError(f"unknown field(s) {sorted(unknown)}; known: {', '.join(OFFER_FIELDS)}")
        missing = [field for field in REQUIRED_FIELDS if field not in self.columns]
        if missing:
            raise ValueError(f"the mapping must place {', '.join(missing)}")
        slices = self.format == "fixed_width"
        if any(isinstance(where, list) != slices for where in self.columns.values()):
            raise ValueError("fixed_width maps fields to [start, end] slices; csv and xml to names")
        if self.format == "xml" and not self.record_element:
            raise ValueError("an xml mapping needs record_element")
        if sorted(d for d in re.findall(r"%.", self.date_format) if d != "%%") != sorted(DATE_DIRECTIVES):
            raise ValueError(f"date_format must use each of {', '.join(DATE_DIRECTIVES)} once (and literal characters)")
        "".encode(self.encoding)  # an unknown encoding fails here, not halfway through a feed
        return self


class SupplierDefinition(BaseModel):
    """A supplier as registered in stock-import."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    supplier_id: Annotated[str, Field(pattern=r"^[A-Z0-9-]{1,20}$")]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    min_order_qty: Annotated[int, Field(ge=1)] = 1
    lead_time_days: Annotated[int, Field(ge=0)] = 0
    mapping: FeedMapping
