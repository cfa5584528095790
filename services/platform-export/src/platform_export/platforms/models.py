"""A sales platform's export configuration, as the operator maintains it in ``platforms.json``."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

ArticleType = Literal["tyre", "wheel", "tpms"]


def _sorted_unique(values: list[str] | None) -> list[str] | None:
    # A filter is a set: order and repeats carry no meaning, so they must not count as a change.
    return None if values is None else sorted(set(values))


class PlatformConfig(BaseModel):
    """Feed format, pricing, stock threshold, article filters and delivery of one platform."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    platform_id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    format: Literal["csv", "xml", "json"]
    markup_pct: Annotated[Decimal, Field(ge=-50, le=500, max_digits=5, decimal_places=2)]
    min_stock: Annotated[int, Field(ge=0, le=10_000)]
    brand_filter: Annotated[
        list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]] | None,
        Field(min_length=1),
        AfterValidator(_sorted_unique),
    ] = None
    type_filter: Annotated[list[ArticleType] | None, Field(min_length=1), AfterValidator(_sorted_unique)] = None
    delivery_channel: Literal["file", "http"]
    endpoint_url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=255)] | None = Field(
        default=None, validate_default=True
    )
    orders_url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=255)] | None = None
    delta_interval_min: Annotated[int, Field(ge=1, le=1440)]
    active: bool = True

    @field_validator("endpoint_url")
    @classmethod
    def _required_for_http(cls, endpoint_url: str | None, info: ValidationInfo) -> str | None:
        if endpoint_url is None and info.data.get("delivery_channel") == "http":
            raise ValueError("required when delivery_channel is http")
        return endpoint_url
