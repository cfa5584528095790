"""The registry: resolving type and major version, typed errors, minor-version tolerance, every contract."""

from __future__ import annotations

import inspect
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID

import pytest

import contracts
from contracts import (
    REGISTRY,
    ArticleDiscontinued,
    ArticleUpserted,
    AxleFitment,
    Contract,
    ContractError,
    ContractRegistry,
    ContractValidationError,
    CorrectionFeedReceived,
    Envelope,
    ErpOrderDispatchRequested,
    ErpOrderStatusChanged,
    FitmentMapping,
    FitmentMappingChanged,
    FitmentRecomputeRequested,
    FullFeedReceived,
    OrderLine,
    OrderPlaced,
    PlatformExportRequested,
    PlatformOrderImported,
    PlatformTrackingPushRequested,
    StockAvailabilityChanged,
    TyreExclusion,
    TyreSizeFitment,
    UnknownContractVersion,
    UnknownMessageType,
    VehicleFitmentRecomputeRequested,
    VehicleVariantUpserted,
    WheelSetRecomputeRequested,
    open_envelope,
)
from contracts.catalog import SPEC_FIELDS, TPMS_SPEC_FIELDS, TYRE_SPEC_FIELDS, WHEEL_SPEC_FIELDS
from contracts.registry import Frozen

SAMPLES: list[Contract] = [
    ArticleUpserted(
        article_number="MI-245-40-18-PS5", article_type="tyre", ean="3528704567890", brand="Michelin",
        model="Pilot Sport 5", description="245/40 R18 97Y XL", list_price=Decimal("189.00"), version=3,
        width=245, aspect=40, rim_diameter=18, load_index=97, speed_rating="Y", season="summer", xl=True,
        eu_fuel="C", eu_wet="A", eu_noise_db=71,
    ),
    ArticleUpserted(
        article_number="AL-7518-5112", article_type="wheel", brand="Alutec", model="Grip", description="7.5x18 ET51",
        list_price=Decimal("219.5"), version=1, bolt_count=5, pcd=Decimal("112.0"), wheel_diameter=18,
        wheel_width=Decimal("7.5"), offset=51, center_bore=Decimal("57.1"), material="alloy",
    ),
    ArticleUpserted(
        article_number="TPMS-433", article_type="tpms", brand="Schrader", model="EZ", description="Sensor 433 MHz",
        list_price=Decimal("39.95"), version=1, protocol="direct", frequency_mhz=433, compatible_makes=["BMW", "VW"],
    ),
    ArticleDiscontinued(article_number="AL-7518-5112", version=2, reason="end of series"),
    ErpOrderStatusChanged(order_key="web:3f6c", status="shipped", erp_order_id="SO-1001", tracking_number="1Z999"),
    StockAvailabilityChanged(
        article_number="AL-7518-5112", sellable_qty=0, best_price=Decimal("120.00"), source_batch_id="b-1", version=4
    ),
    FullFeedReceived(batch_id="SUP-001-20261125-1a2b", supplier_id="SUP-001", file_name="stock.csv"),
    CorrectionFeedReceived(batch_id="SUP-001-20261125-3c4d", supplier_id="SUP-001", file_name="fix.csv"),
    FitmentMappingChanged(
        vehicle_variant_id=4711, version=9, replace=True,
        tyre_sizes=[
            TyreSizeFitment(axle="both", width=225, aspect=45, rim_diameter=17, base_score=100,
                            is_original_equipment=True, min_load_index=88, reference_speed_rating="W",
                            reference_run_flat=False),
        ],
        tyre_exclusions=[TyreExclusion(axle="both", article_number="TY0000042")],
        mappings_upserted=[
            ("AL-7518-5112", "wheel", "both", True, 100),
            ("AL-8019-5112", "wheel", "rear", False, 80),
        ],
    ),
    FitmentMappingChanged(vehicle_variant_id=4711, version=10, replace=False, mappings_removed=["AL-8019-5112"]),
    FitmentRecomputeRequested(request_id="r-1", reason="vehicle sync"),
    VehicleFitmentRecomputeRequested(request_id="r-2", vehicle_variant_id=4711, tyre_buckets=["225:45:17:both"],
                                     reason="rule 3 added"),
    VehicleVariantUpserted(
        vehicle_variant_id=4711, make="Volkswagen", model="Golf", generation="VIII", variant_name="2.0 TDI 150",
        year_from=2020, engine="2.0 TDI", body="hatchback", drive="fwd", bolt_count=5, pcd=Decimal("112.0"),
        hub_bore=Decimal("57.1"), offset_min=40, offset_max=51, fastener="bolt", thread="M14x1.5",
        axle_load_front_kg=1050, axle_load_rear_kg=950, tpms_type="indirect", is_staggered=False, version=2,
        fitments=[
            AxleFitment(axle="both", fitment_kind="oe", tyre_width=225, tyre_aspect=45, rim_diameter=17,
                        wheel_width=Decimal("7.0"), wheel_offset=49, load_index=94, speed_rating="W"),
        ],
    ),
    OrderPlaced(
        order_id=UUID("6f1c2a52-8d5e-4c8e-9f0e-1c2d3e4f5a6b"), idempotency_key="checkout-77", customer_id="C-1001",
        lines=[OrderLine(article_number="MI-245-40-18-PS5", quantity=4, unit_price=Decimal("189.00"))],
        total=Decimal("756.00"), currency="EUR", placed_at=datetime(2026, 3, 1, 10, 30, tzinfo=UTC),
    ),
    PlatformOrderImported(
        platform_id="bol", platform_order_id="A-991", order_key="platform:bol:A-991", customer_reference="REF 12",
        lines=[OrderLine(article_number="TPMS-433", quantity=4, unit_price=Decimal("35"))], currency="EUR",
    ),
    PlatformTrackingPushRequested(platform_id="bol", platform_order_id="A-991", tracking_number="1Z999", carrier="UPS"),
    ErpOrderDispatchRequested(order_key="bol:A-991"),
    PlatformExportRequested(run_id="run-1", platform_id="bol", kind="delta"),
    WheelSetRecomputeRequested(request_id="r-1", article_numbers=["MI-245-40-18-PS5"], vehicle_variant_ids=[7],
                               changed_at=datetime(2026, 3, 1, 10, 30, tzinfo=UTC)),
]  # fmt: skip


ORDER = next(event for event in SAMPLES if isinstance(event, OrderPlaced))


def envelope_of(event: Contract) -> Envelope:
    return Envelope.wrap(event, produced_by="test", correlation_id="corr")


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.message_type)
def test_every_contract_survives_the_wire(event: Contract) -> None:
    assert open_envelope(Envelope.from_bytes(envelope_of(event).to_bytes())) == event


def test_samples_cover_every_registered_contract() -> None:
    assert {type(e) for e in SAMPLES} == set(REGISTRY.models())


def test_every_contract_class_of_the_package_is_registered() -> None:
    defined = {
        cls
        for _, module in inspect.getmembers(contracts, inspect.ismodule)
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, Contract)
        and cls is not Contract
        and cls.__module__.startswith("contracts.")
        and getattr(cls, "message_type", None)  # a shared base (e.g. FeedReceived) has no message type
    }
    assert defined == set(REGISTRY.models())


def test_unknown_major_version_is_refused() -> None:
    envelope = envelope_of(SAMPLES[0]).model_copy(update={"schema_version": "2.0"})
    with pytest.raises(UnknownContractVersion, match="catalog.article.upserted") as caught:
        open_envelope(envelope)
    assert caught.value.known_majors == [1]


def test_unknown_message_type_is_refused() -> None:
    envelope = envelope_of(SAMPLES[0]).model_copy(update={"message_type": "catalog.article.teleported"})
    with pytest.raises(UnknownMessageType, match="catalog.article.teleported"):
        open_envelope(envelope)


def test_validation_error_names_field_and_value() -> None:
    payload = envelope_of(ORDER).payload
    broken = {**payload, "lines": [{**payload["lines"][0], "quantity": 0}]}
    with pytest.raises(ContractValidationError) as caught:
        REGISTRY.parse("order.placed", "1.0", broken)
    problem = caught.value.problems[0]
    assert (problem.field, problem.value) == ("lines.0.quantity", "0")
    assert "lines.0.quantity=0" in str(caught.value)
    assert "order.placed 1.0" in str(caught.value)


def test_missing_field_is_named() -> None:
    payload = {key: value for key, value in envelope_of(ORDER).payload.items() if key != "customer_id"}
    with pytest.raises(ContractValidationError, match=r"customer_id=<missing>: Field required"):
        REGISTRY.parse("order.placed", "1.0", payload)


def test_contract_errors_share_one_base() -> None:
    for error in (UnknownMessageType, UnknownContractVersion, ContractValidationError):
        assert issubclass(error, ContractError)


def test_spec_fields_of_another_article_type_are_refused() -> None:
    with pytest.raises(ValueError, match="pcd do not apply to a tyre"):
        ArticleUpserted.model_validate({**SAMPLES[0].model_dump(), "pcd": Decimal("112.0")})


def test_spec_field_sets_name_exactly_the_optional_spec_fields() -> None:
    common = {"article_number", "article_type", "ean", "brand", "model", "description", "list_price", "version"}
    listed = TYRE_SPEC_FIELDS | WHEEL_SPEC_FIELDS | TPMS_SPEC_FIELDS
    assert listed == set(ArticleUpserted.model_fields) - common
    assert sum(map(len, SPEC_FIELDS.values())) == len(listed)


def test_fitment_change_lists_each_article_once() -> None:
    mapping: FitmentMapping = ("A", "wheel", "both", False, 1)
    with pytest.raises(ValueError, match="more than once: A"):
        FitmentMappingChanged(vehicle_variant_id=1, version=1, replace=False, mappings_upserted=[mapping, mapping])


def test_a_replacing_fitment_change_is_complete() -> None:
    with pytest.raises(ValueError, match="carries tyre_sizes and tyre_exclusions"):
        FitmentMappingChanged(vehicle_variant_id=1, version=1, replace=True, tyre_sizes=[])
    with pytest.raises(ValueError, match="removes nothing"):
        FitmentMappingChanged(vehicle_variant_id=1, version=1, replace=True, tyre_sizes=[], tyre_exclusions=[],
                              mappings_removed=["A"])  # fmt: skip


def test_erp_status_versions_follow_the_lifecycle() -> None:
    versions = [ErpOrderStatusChanged(order_key="k", status=s).aggregate_version() for s in ("accepted", "shipped")]
    assert versions == sorted(versions)


def test_a_major_version_is_registered_once() -> None:
    registry = ContractRegistry()
    registry.register(StockAvailabilityChanged)
    registry.register(StockAvailabilityChanged)  # importing twice is harmless

    class Rival(StockAvailabilityChanged):
        message_type: ClassVar[str] = "stock.availability.changed"

    with pytest.raises(ValueError, match="already registered"):
        registry.register(Rival)


# A consumer deployed with v1.0 of a contract, and the producer's v1.1 that added optional fields,
# both at the top level and inside a nested part.
class LineV10(Frozen):
    sku: str


class ShipmentV10(Contract):
    message_type: ClassVar[str] = "test.shipment.sent"
    schema_version: ClassVar[str] = "1.0"
    shipment_id: str
    lines: list[LineV10]

    def aggregate_id(self) -> str:
        return self.shipment_id

    def aggregate_version(self) -> int:
        return 1


class LineV11(Frozen):
    sku: str
    lot: str | None = None


class ShipmentV11(Contract):
    message_type: ClassVar[str] = "test.shipment.sent"
    schema_version: ClassVar[str] = "1.1"
    shipment_id: str
    lines: list[LineV11]
    carrier: str | None = None

    def aggregate_id(self) -> str:
        return self.shipment_id

    def aggregate_version(self) -> int:
        return 1


def consumer_on(model: type[Contract]) -> ContractRegistry:
    registry = ContractRegistry()
    registry.register(model)
    return registry


def test_newer_minor_with_extra_fields_parses_on_an_older_consumer() -> None:
    sent = Envelope.from_bytes(
        envelope_of(ShipmentV11(shipment_id="S1", carrier="DPD", lines=[LineV11(sku="X", lot="L7")])).to_bytes()
    )
    assert sent.schema_version == "1.1"
    assert consumer_on(ShipmentV10).open(sent) == ShipmentV10(shipment_id="S1", lines=[LineV10(sku="X")])


def test_older_minor_parses_on_a_newer_consumer() -> None:
    sent = envelope_of(ShipmentV10(shipment_id="S1", lines=[LineV10(sku="X")]))
    assert consumer_on(ShipmentV11).open(sent) == ShipmentV11(shipment_id="S1", lines=[LineV11(sku="X")])


def test_newer_minor_still_validates_the_fields_the_consumer_knows() -> None:
    payload: dict[str, Any] = {"shipment_id": "S1", "lines": [{"lot": "L7"}], "carrier": "DPD"}
    with pytest.raises(ContractValidationError, match=r"lines\.0\.sku=<missing>"):
        consumer_on(ShipmentV10).parse("test.shipment.sent", "1.1", payload)


def test_undeclared_field_of_the_same_minor_is_a_producer_bug() -> None:
    with pytest.raises(ContractValidationError, match="carrier='DPD': Extra inputs are not permitted"):
        consumer_on(ShipmentV10).parse(
            "test.shipment.sent", "1.0", {"shipment_id": "S1", "lines": [], "carrier": "DPD"}
        )


def test_contract_without_aggregate_accessors_cannot_be_built() -> None:
    class Incomplete(Contract):
        message_type: ClassVar[str] = "test.incomplete"
        schema_version: ClassVar[str] = "1.0"

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()  # type: ignore[abstract]


def test_date_fields_are_iso() -> None:
    event = StockAvailabilityChanged(
        article_number="A", sellable_qty=1, best_price=Decimal("1"), next_delivery_date=date(2026, 1, 5),
        source_batch_id="b", version=1,
    )  # fmt: skip
    assert envelope_of(event).payload["next_delivery_date"] == "2026-01-05"
