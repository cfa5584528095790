"""A small storefront world for the wheel-set tests, written through the webshop's own handlers.

A Golf (standard, direct TPMS), a BMW (staggered, direct TPMS) and a Clio (indirect TPMS), a catalogue
of tyres, wheels and a sensor, their availability; every change goes through the worker's bulk
consumer (inbox included), and the set recompute requests the projections leave in the outbox are run
the same way (``Shop.drain``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from contracts import (
    ArticleUpserted,
    AxleFitment,
    Envelope,
    FitmentMapping,
    FitmentMappingChanged,
    StockAvailabilityChanged,
    TyreSizeFitment,
    VehicleVariantUpserted,
)
from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk.consumer import Consumer
from integration_sdk.outbox import OUTBOX, Outbox
from integration_sdk.testing import truncate_tables
from integration_sdk.topology import BULK
from webshop.tables import wheel_set_component_index, wheel_set_projection
from webshop.wheel_sets.recompute import recompose
from webshop.worker import MESSAGING

RECOMPUTE = "webshop.wheel-sets.recompute-requested"
GOLF, BMW, CLIO = 7, 8, 9


def tyre(
    number: str, size: tuple[int, int, int], season: str, li: int = 94, speed: str = "W", wet: str = "B"
) -> ArticleUpserted:
    width, aspect, rim = size
    return ArticleUpserted(article_number=number, article_type="tyre", brand="Conti", model="Sport",
                           description=f"{width}/{aspect} R{rim}", list_price=Decimal("100.00"), version=1,
                           width=width, aspect=aspect, rim_diameter=rim, load_index=li, speed_rating=speed,
                           season=season, run_flat=False, xl=False, three_pmsf=season == "winter", eu_fuel="C",
                           eu_wet=wet, eu_noise_db=70)  # fmt: skip


def wheel(number: str, rim: int, width: str) -> ArticleUpserted:
    return ArticleUpserted(article_number=number, article_type="wheel", brand="BBS", model="CI-R",
                           description=f"{width}x{rim}", list_price=Decimal("200.00"), version=1, bolt_count=5,
                           pcd=Decimal("112.0"), wheel_diameter=rim, wheel_width=Decimal(width), offset=40,
                           center_bore=Decimal("66.6"), wheel_load_kg=700, material="alloy")  # fmt: skip


def sensor(number: str, makes: list[str]) -> ArticleUpserted:
    return ArticleUpserted(article_number=number, article_type="tpms", brand="Schrader", model="EZ",
                           description="sensor", list_price=Decimal("40.00"), version=1, protocol="direct",
                           frequency_mhz=433, compatible_makes=makes)  # fmt: skip


ARTICLES = [
    tyre("T-205-S1", (205, 55, 16), "summer", wet="A"), tyre("T-205-S2", (205, 55, 16), "summer", wet="B"),
    tyre("T-205-S3", (205, 55, 16), "summer", wet="C"), tyre("T-205-W1", (205, 55, 16), "winter", speed="H"),
    tyre("T-225-S1", (225, 45, 17), "summer"), tyre("T-245-S1", (245, 35, 19), "summer"),
    tyre("T-275-S1", (275, 30, 19), "summer"), tyre("T-195-A1", (195, 65, 15), "all_season", li=91, speed="V"),
    wheel("W-16-65", 16, "6.5"), wheel("W-16-70", 16, "7.0"), wheel("W-17-75", 17, "7.5"),
    wheel("W-19-85", 19, "8.5"), wheel("W-19-100", 19, "10.0"), wheel("W-19-90", 19, "9.0"),
    wheel("W-15-60", 15, "6.0"), sensor("S-1", ["BMW", "Volkswagen"]),
]  # fmt: skip
STOCK = {a.article_number: 20 for a in ARTICLES}


def _size(axle: str, size: tuple[int, int, int], score: int, oe: bool) -> TyreSizeFitment:
    return TyreSizeFitment(axle=axle, width=size[0], aspect=size[1], rim_diameter=size[2], base_score=score,  # type: ignore[arg-type]
                           is_original_equipment=oe, min_load_index=88, reference_speed_rating="V",
                           reference_run_flat=False)  # fmt: skip


def variant(variant_id: int, make: str, staggered: bool, tpms: str, drive: str = "fwd", version: int = 1,
            ) -> VehicleVariantUpserted:  # fmt: skip
    axles = ("front", "rear") if staggered else ("both",)
    fitments = [
        AxleFitment(axle=a, fitment_kind="oe", tyre_width=205, tyre_aspect=55, rim_diameter=16,  # type: ignore[arg-type]
                    wheel_width=Decimal("6.5"), wheel_offset=40, load_index=91, speed_rating="V")
        for a in axles
    ]  # fmt: skip
    return VehicleVariantUpserted(
        vehicle_variant_id=variant_id, make=make, model=f"M{variant_id}", generation="I", variant_name="base",
        year_from=2020, engine="2.0", body="saloon", drive=drive, bolt_count=5, pcd=Decimal("112.0"),  # type: ignore[arg-type]
        hub_bore=Decimal("57.1"), offset_min=30, offset_max=50, fastener="bolt", thread="M14x1.5",
        axle_load_front_kg=1100, axle_load_rear_kg=1100, tpms_type=tpms, is_staggered=staggered,  # type: ignore[arg-type]
        fitments=fitments, version=version,
    )  # fmt: skip


FITMENT: dict[int, tuple[list[TyreSizeFitment], list[FitmentMapping]]] = {
    GOLF: ([_size("both", (205, 55, 16), 100, True), _size("both", (225, 45, 17), 90, False)],
           [("W-16-65", "wheel", "both", True, 100), ("W-16-70", "wheel", "both", False, 90),
            ("W-17-75", "wheel", "both", False, 80)]),
    BMW: ([_size("front", (245, 35, 19), 100, True), _size("rear", (275, 30, 19), 100, True)],
          [("W-19-85", "wheel", "front", True, 100), ("W-19-100", "wheel", "rear", True, 100),
           ("W-19-90", "wheel", "both", False, 90)]),
    CLIO: ([_size("both", (195, 65, 15), 100, True)], [("W-15-60", "wheel", "both", True, 100)]),
}  # fmt: skip
VARIANTS = {GOLF: variant(GOLF, "Volkswagen", False, "direct"), BMW: variant(BMW, "BMW", True, "direct", "rwd"),
            CLIO: variant(CLIO, "Renault", False, "indirect")}  # fmt: skip


def availability(number: str, qty: int, price: Decimal, version: int) -> StockAvailabilityChanged:
    return StockAvailabilityChanged(article_number=number, sellable_qty=qty, best_price=price,
                                    next_delivery_date=None, source_batch_id="b", version=version)  # fmt: skip


@dataclass
class Shop:
    """The webshop's schema and bulk consumer; versions of what each test changed."""

    settings: ServiceSettings
    db: Database
    consumer: Consumer
    versions: dict[str, int] = field(default_factory=dict)
    outbox_seen: int = 0

    async def apply(self, *events: Any) -> None:
        envelopes = [Envelope.wrap(e, produced_by="test", correlation_id="sets") for e in events]
        assert await self.consumer.apply_batch(envelopes) == [True] * len(envelopes)

    async def stock(self, number: str, qty: int, price: Decimal | str = "50.00") -> None:
        version = self.versions[number] = self.versions.get(number, 0) + 1
        await self.apply(availability(number, qty, Decimal(price), version))

    async def fitment(self, variant_id: int, sizes: list[TyreSizeFitment], mappings: list[FitmentMapping]) -> None:
        key = f"fitment:{variant_id}"
        version = self.versions[key] = self.versions.get(key, 0) + 1
        change = FitmentMappingChanged(vehicle_variant_id=variant_id, version=version, replace=True,
                                       tyre_sizes=sizes, tyre_exclusions=[], mappings_upserted=mappings)  # fmt: skip
        await self.apply(change)

    async def drain(self) -> int:
        """Run the set recompute requests the outbox holds (through the consumer, in batches); how many."""
        async with self.db.reader.connect() as conn:
            rows = (await conn.execute(
                sa.select(OUTBOX.c.id, OUTBOX.c.body)
                .where(OUTBOX.c.id > self.outbox_seen, OUTBOX.c.message_type == RECOMPUTE).order_by(OUTBOX.c.id)
            )).all()  # fmt: skip
        if rows:
            self.outbox_seen = rows[-1][0]
            envelopes = [Envelope.from_bytes(body) for _, body in rows]
            assert await self.consumer.apply_batch(envelopes) == [True] * len(envelopes)
        return len(rows)

    async def sets(self) -> dict[str, dict[str, Any]]:
        """The projection by set key (``computed_at`` included)."""
        async with self.db.reader.connect() as conn:
            rows = (await conn.execute(sa.select(wheel_set_projection))).mappings().all()
        return {row["set_key"]: dict(row) for row in rows}

    async def links(self) -> set[tuple[str, str, str]]:
        async with self.db.reader.connect() as conn:
            return {tuple(row) for row in await conn.execute(sa.select(wheel_set_component_index))}  # type: ignore[misc]

    async def rebuild_all(self) -> None:
        async with self.db.sessions() as session, session.begin():
            await recompose(session, list(VARIANTS))


async def open_shop(settings: ServiceSettings) -> Shop:
    """The world written from scratch: catalogue, availability (20 each at 50.00), variants, fitment, sets."""
    await truncate_tables(settings)
    db = Database.from_settings(settings)
    consumer = Consumer(settings=settings, queue_class=BULK, handlers=MESSAGING.handlers[BULK], sessions=db.sessions,
                        outbox=Outbox(settings), name="wheel-set-test")  # fmt: skip
    shop = Shop(settings, db, consumer)
    await shop.apply(*ARTICLES)
    for number, qty in STOCK.items():
        await shop.stock(number, qty)
    await shop.apply(*VARIANTS.values())
    for variant_id, (sizes, mappings) in FITMENT.items():
        await shop.fitment(variant_id, sizes, mappings)
    await shop.drain()
    return shop
