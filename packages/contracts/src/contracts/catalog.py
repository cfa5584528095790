"""Contracts produced by erp-middleware: the article master (``catalog.*``) and ERP order status (``erp.*``)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints, model_validator

from contracts.registry import Contract, register
from contracts.types import AggregateVersion, ArticleNumber, Bore, Ean, EuGrade, Money, Pcd, ProductType, RimWidth

TYRE_SPEC_FIELDS = frozenset(
    {"width", "aspect", "rim_diameter", "load_index", "speed_rating", "season", "run_flat", "xl", "three_pmsf",
     "eu_fuel", "eu_wet", "eu_noise_db"}
)  # fmt: skip
WHEEL_SPEC_FIELDS = frozenset(
    {"bolt_count", "pcd", "wheel_diameter", "wheel_width", "offset", "center_bore", "wheel_load_kg", "material"}
)
TPMS_SPEC_FIELDS = frozenset({"protocol", "frequency_mhz", "compatible_makes"})
SPEC_FIELDS: dict[str, frozenset[str]] = {
    "tyre": TYRE_SPEC_FIELDS,
    "wheel": WHEEL_SPEC_FIELDS,
    "tpms": TPMS_SPEC_FIELDS,
}

Text = Annotated[str, StringConstraints(max_length=255)]


@register
class ArticleUpserted(Contract):
    """An article of the ERP master was created or changed: the full current state, not a diff.

    Spec fields are flat and optional; only those of the article's own type may be set.
    """

    message_type: ClassVar[str] = "catalog.article.upserted"
    schema_version: ClassVar[str] = "1.0"

    article_number: ArticleNumber
    """ERP article number, the catalogue's key."""
    article_type: ProductType
    """``tyre``, ``wheel`` or ``tpms``: decides which spec fields apply."""
    ean: Ean | None = None
    """EAN-13, when the article has one."""
    brand: Text
    """Brand name, e.g. ``Michelin``."""
    model: Text
    """Brand's model line, e.g. ``Pilot Sport 5``."""
    description: Text
    """Article description as the ERP holds it."""
    list_price: Money
    """List price excluding VAT, EUR."""
    version: AggregateVersion
    """Article version in the ERP master, +1 per real change."""

    width: int | None = Field(default=None, gt=0)
    """Tyre: section width in mm."""
    aspect: int | None = Field(default=None, gt=0)
    """Tyre: aspect ratio in %."""
    rim_diameter: int | None = Field(default=None, gt=0)
    """Tyre: rim diameter in inches."""
    load_index: int | None = Field(default=None, gt=0)
    """Tyre: load index."""
    speed_rating: Annotated[str, StringConstraints(min_length=1, max_length=4)] | None = None
    """Tyre: speed rating, e.g. ``W``."""
    season: Literal["summer", "winter", "all_season"] | None = None
    """Tyre: season."""
    run_flat: bool | None = None
    """Tyre: run-flat construction."""
    xl: bool | None = None
    """Tyre: extra load (reinforced)."""
    three_pmsf: bool | None = None
    """Tyre: three-peak mountain snowflake marking."""
    eu_fuel: EuGrade | None = None
    """Tyre: EU label fuel efficiency class."""
    eu_wet: EuGrade | None = None
    """Tyre: EU label wet grip class."""
    eu_noise_db: int | None = Field(default=None, gt=0)
    """Tyre: EU label external rolling noise in dB."""

    bolt_count: int | None = Field(default=None, gt=0)
    """Wheel: number of bolt holes."""
    pcd: Pcd | None = None
    """Wheel: pitch circle diameter in mm."""
    wheel_diameter: int | None = Field(default=None, gt=0)
    """Wheel: diameter in inches."""
    wheel_width: RimWidth | None = None
    """Wheel: width in inches."""
    offset: int | None = None
    """Wheel: offset (ET) in mm; may be negative."""
    center_bore: Bore | None = None
    """Wheel: centre bore in mm."""
    wheel_load_kg: int | None = Field(default=None, gt=0)
    """Wheel: maximum load per wheel in kg."""
    material: Literal["alloy", "steel"] | None = None
    """Wheel: material."""

    protocol: Literal["direct"] | None = None
    """TPMS: sensor protocol."""
    frequency_mhz: Literal[315, 433] | None = None
    """TPMS: radio frequency in MHz."""
    compatible_makes: list[Annotated[str, StringConstraints(min_length=1)]] | None = None
    """TPMS: vehicle makes the sensor is programmed for."""

    @model_validator(mode="after")
    def _specs_match_type(self) -> ArticleUpserted:
        foreign = sorted(
            name
            for kind, names in SPEC_FIELDS.items()
            if kind != self.article_type
            for name in names
            if getattr(self, name) is not None
        )
        if foreign:
            raise ValueError(f"spec fields {', '.join(foreign)} do not apply to a {self.article_type}")
        return self

    def aggregate_id(self) -> str:
        """The article number."""
        return self.article_number

    def aggregate_version(self) -> int:
        """The article's master version."""
        return self.version


@register
class ArticleDiscontinued(Contract):
    """An article left the ERP master: replicas drop it (or hide it) from search and exports."""

    message_type: ClassVar[str] = "catalog.article.discontinued"
    schema_version: ClassVar[str] = "1.0"

    article_number: ArticleNumber
    """ERP article number."""
    version: AggregateVersion
    """Article version after discontinuation; newer than any upsert it supersedes."""
    reason: Text | None = None
    """Why, when the ERP says so."""

    def aggregate_id(self) -> str:
        """The article number (same stream as ``catalog.article.upserted``)."""
        return self.article_number

    def aggregate_version(self) -> int:
        """The article's master version."""
        return self.version


ErpOrderStatus = Literal["accepted", "shipped", "rejected"]
# Status has no version column in erp_order; its place in the lifecycle orders the events instead,
# so a late "accepted" never overwrites "shipped", and each status gets its own idempotency key.
STATUS_RANK: dict[str, int] = {"accepted": 1, "shipped": 2, "rejected": 3}


@register
class ErpOrderStatusChanged(Contract):
    """The ERP accepted, shipped or rejected an order handed to it (webshop or platform order)."""

    message_type: ClassVar[str] = "erp.order.status-changed"
    schema_version: ClassVar[str] = "1.0"

    order_key: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    """Idempotency key the order travelled to the ERP with; the source island finds its order by it."""
    status: ErpOrderStatus
    """New status in the ERP."""
    erp_order_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    """The ERP's own order number, once it assigned one."""
    tracking_number: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    """Carrier tracking number, when shipped."""
    reason: Text | None = None
    """The ERP's reason, when rejected."""

    def aggregate_id(self) -> str:
        """The order key."""
        return self.order_key

    def aggregate_version(self) -> int:
        """Rank of the status in the order lifecycle (accepted 1, shipped 2, rejected 3)."""
        return STATUS_RANK[self.status]


@register
class ErpOrderDispatchRequested(Contract):
    """Command (erp-middleware to itself): send the recorded order ``order_key`` to the ERP's API.

    Recording an order and sending it are two steps with their own retries: the send is retried by
    tier and dead-lettered on its own, and a replay from the DLQ sends it again with the same key.
    """

    message_type: ClassVar[str] = "erp.order.dispatch-requested"
    schema_version: ClassVar[str] = "1.0"

    order_key: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    """The ``erp_order`` to send; the ERP deduplicates by it."""

    def aggregate_id(self) -> str:
        """The order key."""
        return self.order_key

    def aggregate_version(self) -> int:
        """Always 1: an order is dispatched once (its retries and replays keep the idempotency key)."""
        return 1
