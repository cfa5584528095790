"""Wheel-set reconcile and rebuild against the real MariaDB: drift found and fixed against the reference
composition, changes since a time, a killed rebuild resuming, the operator CLI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner
from wheel_set_world import BMW, CLIO, GOLF, Shop, open_shop, tyre

from foundation.bulk import utc_now
from foundation.db import Database
from foundation.settings import ServiceSettings
from webshop import cli
from webshop.tables import projection_job_checkpoint, wheel_set_component_index, wheel_set_pending, wheel_set_projection
from webshop.wheel_sets.maintenance import rebuild, reconcile


@pytest.fixture
async def shop(migrated_islands: dict[str, ServiceSettings]) -> AsyncIterator[Shop]:
    world = await open_shop(migrated_islands["webshop"])
    yield world
    await world.db.dispose()


def strip(rows: dict[str, dict]) -> dict[str, dict]:  # type: ignore[type-arg]
    return {key: {c: v for c, v in row.items() if c != "computed_at"} for key, row in rows.items()}


async def test_reconcile_finds_and_fixes_injected_drift(shop: Shop) -> None:
    healthy = strip(await shop.sets())
    first, second = sorted(k for k, r in healthy.items() if r["vehicle_variant_id"] == GOLF)[:2]
    async with shop.db.writer.begin() as conn:  # a lost refresh, a lost set, a stray set on the BMW
        s = wheel_set_projection
        await conn.execute(sa.update(s).where(s.c.set_key == first).values(sellable_quantity=99))
        await conn.execute(sa.delete(s).where(s.c.set_key == second))
        stray = {**healthy[second], "set_key": "f" * 64, "vehicle_variant_id": BMW, "computed_at": utc_now()}
        await conn.execute(sa.insert(s), [stray])

    report = await reconcile(shop.db)

    assert (report.checked, report.differing_variants, report.differing_sets) == (3, 2, 3)
    assert (report.fixed, report.unresolved) == (2, 0)
    assert strip(await shop.sets()) == healthy
    again = await reconcile(shop.db)
    assert (again.differing_variants, again.fixed) == (0, 0)
    async with shop.db.reader.connect() as conn:
        stored = await conn.scalar(sa.select(projection_job_checkpoint.c.last_success_cursor)
                                   .where(projection_job_checkpoint.c.job_name == report.job_name))  # fmt: skip
    assert '"fixed": 2' in (stored or "")


async def test_reconcile_since_picks_up_a_new_tyre_that_ranks_into_sets(shop: Shop) -> None:
    """Reconcile --since looks at the variants taking the size of a tyre that changed since then: here the
    pending list its event made was lost (emptied by hand), and reconcile still adds the tyre to the sets."""
    since = utc_now()
    await asyncio.sleep(0.01)
    await shop.apply(tyre("T-205-S0", (205, 55, 16), "summer", wet="A"))  # ranks before T-205-S2 (wet B)
    await shop.stock("T-205-S0", 12)
    async with shop.db.writer.begin() as conn:
        assert (await conn.execute(sa.delete(wheel_set_pending))).rowcount == 1  # the Golf's listing, lost
    await shop.drain()
    assert not any(r["tyre_front_article_number"] == "T-205-S0" for r in (await shop.sets()).values())

    report = await reconcile(shop.db, since)

    assert report.checked == 1  # the Golf takes 205/55 R16; the BMW and the Clio do not
    assert report.fixed == 1
    golf = [r for r in (await shop.sets()).values() if r["tyre_front_article_number"] == "T-205-S0"]
    assert golf
    assert {r["vehicle_variant_id"] for r in golf} == {GOLF}


async def test_a_killed_rebuild_resumes_after_its_last_committed_page(shop: Shop) -> None:
    healthy = strip(await shop.sets())
    async with shop.db.writer.begin() as conn:
        await conn.execute(sa.delete(wheel_set_component_index))
        await conn.execute(sa.delete(wheel_set_projection))

    killed = await rebuild(shop.db, page_size=1, max_pages=2)
    assert (killed.variants, killed.finished) == (2, False)
    assert {r["vehicle_variant_id"] for r in (await shop.sets()).values()} == {GOLF, BMW}

    resumed = await rebuild(shop.db, page_size=1)
    assert (resumed.resumed_after, resumed.variants, resumed.finished) == (BMW, 1, True)
    assert strip(await shop.sets()) == healthy
    assert {link[2] for link in await shop.links()} == set(healthy)
    fresh = await rebuild(shop.db, page_size=2)
    assert (fresh.resumed_after, fresh.variants) == (None, 3)


async def test_rebuild_of_one_variant_touches_only_it(shop: Shop) -> None:
    before = await shop.sets()
    await asyncio.sleep(0.01)
    report = await rebuild(shop.db, str(CLIO))
    after = await shop.sets()
    assert report.sets == sum(r["vehicle_variant_id"] == CLIO for r in after.values()) > 0
    assert {k: r for k, r in after.items() if r["vehicle_variant_id"] != CLIO} == {
        k: r for k, r in before.items() if r["vehicle_variant_id"] != CLIO
    }


def test_cli_reconciles_and_rebuilds_sets(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBSHOP_DB_URL", shop.settings.db_url)
    monkeypatch.setenv("COLUMNS", "200")

    async def corrupt() -> None:
        db = Database.from_settings(shop.settings)
        async with db.writer.begin() as conn:
            await conn.execute(sa.update(wheel_set_projection).values(set_price=Decimal("1.00")))
        await db.dispose()

    asyncio.run(corrupt())
    result = CliRunner().invoke(cli.app, ["reconcile", "--domain", "sets"])
    assert result.exit_code == 0, result.output
    assert "differing_variants" in result.output

    async def cheapest() -> Decimal:
        db = Database.from_settings(shop.settings)
        async with db.reader.connect() as conn:
            price = await conn.scalar(sa.select(sa.func.min(wheel_set_projection.c.set_price)))
        await db.dispose()
        return Decimal(price)

    assert asyncio.run(cheapest()) > 100  # every set's price fixed
    result = CliRunner().invoke(cli.app, ["rebuild", "--domain", "sets", "--scope", str(GOLF)])
    assert result.exit_code == 0, result.output
    refused = CliRunner().invoke(cli.app, ["rebuild", "--domain", "sets", "--scope", "bucket:x"])
    assert refused.exit_code == 2


async def test_a_rebuild_into_emptied_tables_refreshes_their_statistics(shop: Shop) -> None:
    # Statistics of empty tables made the refresh statement scan both set tables for every 500 sets.
    tables = (wheel_set_projection.name, wheel_set_component_index.name)
    schema = sa.make_url(shop.settings.db_url).database
    async with shop.db.writer.begin() as conn:
        for table in tables:
            await conn.execute(sa.text(f"DELETE FROM `{table}`"))
            await conn.execute(sa.text(f"ALTER TABLE `{table}` STATS_AUTO_RECALC = 0"))  # no recount behind our back
        await conn.execute(sa.text(f"ANALYZE TABLE `{tables[0]}`, `{tables[1]}`"))
    try:
        report = await rebuild(shop.db, "all")
        async with shop.db.reader.connect() as conn:
            counted = await conn.execute(
                sa.text("SELECT table_name, n_rows FROM mysql.innodb_table_stats WHERE database_name = :s"),
                {"s": schema},
            )
            estimated = {name: rows for name, rows in counted if name in tables}
        assert report.sets > 0
        assert estimated[wheel_set_projection.name] == report.sets  # recounted after the first page (all of them)
        assert estimated[wheel_set_component_index.name] > report.sets
    finally:
        async with shop.db.writer.begin() as conn:
            for table in tables:
                await conn.execute(sa.text(f"ALTER TABLE `{table}` STATS_AUTO_RECALC = DEFAULT"))
