"""Property: any sequence of product, vehicle and rule changes, recomputed incrementally, ends in exactly
the fitment a full recompute from scratch gives; and the announcements, applied in order, rebuild it."""

from __future__ import annotations

import asyncio
import random
from copy import deepcopy
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fitment_world import (
    DERIVED_TABLES,
    announced_state,
    drain,
    fold_announcements,
    outbox_bodies,
    publish_articles,
    run_rule_commands,
    snapshot,
    sync,
    variant_ids,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import ArticleDiscontinued, ArticleUpserted
from foundation.db import Database
from foundation.settings import ServiceSettings
from integration_sdk.outbox import Outbox
from integration_sdk.testing import truncate_tables
from vehicle_data.fitment import repository as repo
from vehicle_data.fitment.manual_rules import RuleInput, add_rule, delete_rule
from vehicle_data.tables import fitment_rule

SIZES = ((205, 55, 16), (195, 60, 16), (215, 55, 16), (225, 45, 17), (225, 45, 18), (255, 40, 18), (215, 45, 18),
         (235, 40, 18), (205, 55, 17), (225, 40, 18))  # fmt: skip


def fitment(axle: str, kind: str, size: tuple[int, int, int], width: str, offset: int, li: int, speed: str,
            run_flat: bool = False) -> dict[str, Any]:  # fmt: skip
    return {"axle": axle, "fitment_kind": kind, "tyre_width": size[0], "tyre_aspect": size[1], "rim_diameter": size[2],
            "wheel_width": width, "wheel_offset": offset, "load_index": li, "speed_rating": speed,
            "run_flat": run_flat}  # fmt: skip


def variant(variant_id: int, make: str, bolts: int, pcd: str, hub: str, offsets: tuple[int, int],
            fitments: list[dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    return {
        "vehicle_variant_id": variant_id, "make": make, "model": "M", "generation": "G", "variant_name": "V",
        "year_from": 2018, "year_to": None, "engine": "E", "body": "hatchback", "drive": "fwd", "bolt_count": bolts,
        "pcd": pcd, "hub_bore": hub, "offset_min": offsets[0], "offset_max": offsets[1], "fastener": "bolt",
        "thread": "M14x1.5", "axle_load_front_kg": 1100, "axle_load_rear_kg": 1000, "tpms_type": "direct",
        "is_staggered": any(f["axle"] != "both" for f in fitments), "fitments": fitments,
    }  # fmt: skip


VARIANTS = [
    variant(1, "Volkswagen", 5, "112.0", "57.1", (38, 50), [
        fitment("both", "oe", (205, 55, 16), "6.5", 46, 91, "V"),
        fitment("both", "optional", (225, 45, 17), "7.5", 45, 94, "W")]),
    variant(2, "BMW", 5, "112.0", "66.6", (20, 45), [
        fitment("front", "oe", (225, 45, 18), "8.0", 30, 95, "Y", True),
        fitment("rear", "oe", (255, 40, 18), "8.5", 40, 99, "Y", True)]),
    variant(3, "Audi", 5, "112.0", "66.6", (30, 45), [fitment("both", "oe", (225, 45, 17), "7.5", 40, 94, "V")]),
    variant(4, "Ford", 5, "108.0", "63.4", (40, 55), [fitment("both", "oe", (205, 55, 16), "6.5", 47, 91, "H")]),
]  # fmt: skip


def articles() -> list[ArticleUpserted]:
    """A catalogue around the world's sizes and bolt patterns, many of them near a limit."""
    rng = random.Random(0)
    found = []
    for n in range(24):
        width, aspect, rim = SIZES[n % len(SIZES)]
        found.append(ArticleUpserted(
            article_number=f"TY{n:03d}", article_type="tyre", brand="B", model="M", description="d",
            list_price="99.00", version=1, width=width, aspect=aspect, rim_diameter=rim,
            load_index=rng.choice((88, 91, 94, 97, 99)), speed_rating=rng.choice("HVWY"),
            season=rng.choice(("summer", "winter", "all_season")), run_flat=rng.random() < 0.3,
        ))  # fmt: skip
    for n in range(24):
        pcd = rng.choice(("112.0", "112.0", "108.0"))
        found.append(ArticleUpserted(
            article_number=f"WH{n:03d}", article_type="wheel", brand="B", model="M", description="d",
            list_price="150.00", version=1, bolt_count=5, pcd=pcd, wheel_diameter=rng.choice((16, 17, 18)),
            wheel_width=rng.choice(("6.5", "7.0", "7.5", "8.0", "8.5")), offset=rng.randrange(20, 56),
            center_bore=rng.choice(("57.1", "63.4", "66.6", "72.6")), wheel_load_kg=rng.choice((500, 615, 690)),
        ))  # fmt: skip
    return found


ARTICLES = articles()
SPEC_CHANGES = {
    "tyre": st.one_of(
        st.fixed_dictionaries({"load_index": st.sampled_from((82, 91, 97))}),
        st.fixed_dictionaries({"speed_rating": st.sampled_from("TVY")}),
        st.fixed_dictionaries({"season": st.sampled_from(("summer", "winter"))}),
        st.fixed_dictionaries({"run_flat": st.booleans()}),
        st.sampled_from(SIZES).map(lambda s: {"width": s[0], "aspect": s[1], "rim_diameter": s[2]}),
    ),
    "wheel": st.one_of(
        st.fixed_dictionaries({"offset": st.integers(15, 60)}),
        st.fixed_dictionaries({"center_bore": st.sampled_from(("57.1", "66.6", "70.1", "90.0"))}),
        st.fixed_dictionaries({"wheel_width": st.sampled_from(("6.5", "7.5", "8.5", "9.5"))}),
        st.fixed_dictionaries({"wheel_diameter": st.sampled_from((16, 17, 18))}),
        st.fixed_dictionaries({"wheel_load_kg": st.sampled_from((500, 690))}),
    ),
}
VEHICLE_CHANGES = st.one_of(
    st.fixed_dictionaries({"offset_min": st.integers(15, 40)}),
    st.fixed_dictionaries({"hub_bore": st.sampled_from(("57.1", "66.6"))}),
    st.fixed_dictionaries({"axle_load_front_kg": st.sampled_from((900, 1300))}),
    st.just({"optional": None}),  # drop the optional sizes
    st.sampled_from(SIZES).map(lambda s: {"optional": s}),  # list another optional size
)
article_index = st.integers(0, len(ARTICLES) - 1)
ACTIONS = st.one_of(
    st.tuples(st.just("spec"), article_index, st.data()),
    st.tuples(st.just("end"), article_index),
    st.tuples(st.just("vehicle"), st.integers(0, len(VARIANTS) - 1), VEHICLE_CHANGES),
    st.tuples(
        st.just("rule"),
        st.integers(1, len(VARIANTS)),
        st.sampled_from(("front", "rear", "both")),
        st.sampled_from(("include", "exclude")),
        st.one_of(article_index, st.sampled_from(SIZES)),
    ),
    st.tuples(st.just("unrule"), st.integers(0, 5)),
)


def changed_variant(record: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    record = deepcopy(record)
    if "optional" not in change:
        return {**record, **change}
    record["fitments"] = [f for f in record["fitments"] if f["fitment_kind"] == "oe"]
    if change["optional"] is not None and not record["is_staggered"]:
        oe = record["fitments"][0]
        record["fitments"].append(fitment("both", "optional", change["optional"], "7.0", oe["wheel_offset"], 94, "V"))
    return record


class World:
    """The test's mirror of the sources, driving the real paths step by step."""

    def __init__(self, db: Database, outbox: Outbox, folder: Path) -> None:
        self.db, self.outbox, self.folder = db, outbox, folder
        self.articles = {a.article_number: a for a in ARTICLES}
        self.versions = dict.fromkeys(self.articles, 1)
        self.ended: set[str] = set()
        self.variants = deepcopy(VARIANTS)
        self.outbox_seen = 0

    async def start(self) -> None:
        await sync(self.db, self.outbox, self.folder, self.variants)
        await publish_articles(self.db, self.outbox, ARTICLES)
        await self.settle()

    async def settle(self) -> None:
        self.outbox_seen = await run_rule_commands(self.db, self.outbox, self.outbox_seen)
        await drain(self.db, self.outbox)

    async def step(self, action: tuple[Any, ...]) -> None:
        kind = action[0]
        if kind in ("spec", "end"):
            number = ARTICLES[action[1]].article_number
            self.versions[number] += 1
            if kind == "end" and number not in self.ended:
                self.ended.add(number)
                await publish_articles(self.db, self.outbox, [ArticleDiscontinued(
                    article_number=number, version=self.versions[number], reason="end of series")])  # fmt: skip
            else:
                change = action[2].draw(SPEC_CHANGES[self.articles[number].article_type]) if kind == "spec" else {}
                updated = {**self.articles[number].model_dump(), **change, "version": self.versions[number]}
                self.articles[number] = ArticleUpserted.model_validate(updated)
                self.ended.discard(number)
                await publish_articles(self.db, self.outbox, [self.articles[number]])
        elif kind == "vehicle":
            self.variants[action[1]] = changed_variant(self.variants[action[1]], action[2])
            await sync(self.db, self.outbox, self.folder, [self.variants[action[1]]], "delta")
        elif kind == "rule":
            _, variant_id, axle, verb, target = action
            is_size = isinstance(target, tuple)
            rule = RuleInput(vehicle_variant_id=variant_id, axle=axle, action=verb, reason="property",
                             created_by="test", tyre_size="{}/{}R{}".format(*target) if is_size else None,
                             article_number=None if is_size else ARTICLES[target].article_number)  # fmt: skip
            async with self.db.sessions.begin() as session:
                await add_rule(session, self.outbox, rule)
        else:
            async with self.db.reader.connect() as conn:
                active = list(await conn.scalars(sa.select(fitment_rule.c.rule_id).where(
                    fitment_rule.c.deleted_at.is_(None)).order_by(fitment_rule.c.rule_id)))  # fmt: skip
            if active:
                async with self.db.sessions.begin() as session:
                    await delete_rule(session, self.outbox, active[action[1] % len(active)])
        await self.settle()


async def run(settings_: ServiceSettings, folder: Path, actions: list[tuple[Any, ...]]) -> None:
    await truncate_tables(settings_)
    db, outbox = Database.from_settings(settings_), Outbox(settings_)
    try:
        world = World(db, outbox, folder)
        await world.start()
        for action in actions:
            await world.step(action)
        incremental = await snapshot(db)
        announced = await announced_state(db)
        folded = fold_announcements(await outbox_bodies(db))
        for variant_id, state in announced.items():  # the replica's view equals the source's
            replica = folded.get(variant_id, {"tyres": set(), "exclusions": set(), "mappings": {}})
            assert {k: replica[k] for k in state} == state, variant_id

        await truncate_tables(settings_, *DERIVED_TABLES, "fitment_version", "fitment_pending")
        async with db.sessions.begin() as session:
            conn = await session.connection()
            await repo.add_pending(conn, repo.VEHICLE, await variant_ids(db))
            await repo.add_pending(conn, repo.ARTICLE, [n for n in world.articles if n not in world.ended])
        await drain(db, outbox)
        assert await snapshot(db) == incremental
    finally:
        await db.dispose()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(ACTIONS, min_size=1, max_size=6))
def test_incremental_recompute_equals_a_full_recompute(
    migrated_islands: dict[str, ServiceSettings], tmp_path_factory: Any, actions: list[tuple[Any, ...]]
) -> None:
    asyncio.run(run(migrated_islands["vehicle-data"], tmp_path_factory.mktemp("world"), actions))
