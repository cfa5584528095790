"""``atraxion projection``: reconcile the webshop's projections with their sources, or rebuild them.

Plugged into the operator CLI through the entry point ``atraxion.commands`` (``projection``). Each
domain's source is its island's HTTP API, never its schema: ``stock`` stock-import's aggregates,
``fitment`` vehicle-data's fitment snapshots; ``sets`` are checked against the reference composition
over the webshop's own replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import typer
from redis.exceptions import RedisError
from rich.table import Table

from foundation.bulk import LockBusyError
from foundation.cache import create_redis
from foundation.db import Database
from foundation.progress import Progress
from integration_sdk.cli.console import console, progress_bars
from webshop.projections import fitment_maintenance as fitment
from webshop.projections.jobs import SourceError
from webshop.projections.stock_maintenance import PAGE_SIZE, StockSource, rebuild, reconcile
from webshop.search.cache import bump_catalog_generation
from webshop.settings import WebshopSettings
from webshop.wheel_sets import maintenance as sets

app = typer.Typer(no_args_is_help=True, help="Webshop projections: reconcile with their source, or rebuild.")
DOMAINS = ("stock", "fitment", "sets")
T = TypeVar("T")


def check_domain(domain: str) -> str:
    """A domain with a source API."""
    if domain not in DOMAINS:
        raise typer.BadParameter(f"{domain!r} is not a domain; choose one of {', '.join(DOMAINS)}")
    return domain


DomainOption = Annotated[
    str, typer.Option("--domain", callback=check_domain, help="The projection's domain: stock, fitment or sets.")
]
PageSizeOption = Annotated[int, typer.Option(min=1, max=5_000, help="Aggregates per page (and per transaction).")]


async def _refresh_search_cache(settings: WebshopSettings) -> None:
    """Move the search cache generation on, as the event handler does, so cached facets see the writes."""
    redis = create_redis(settings)
    try:
        await bump_catalog_generation(redis, settings)
    except RedisError as exc:
        console.print(f"[yellow]warning:[/] search cache not refreshed ({exc}); cached facets expire on their own")
    finally:
        await redis.aclose()


def _run(domain: str, work: Callable[[Database, Any, Progress], Awaitable[T]], wrote: Callable[[T], bool]) -> T:
    """Run ``work`` with the webshop's database and the domain's source API; source problems exit with 1."""
    settings = WebshopSettings()

    async def run() -> T:
        db = Database.from_settings(settings)
        sources = {"stock": StockSource.from_settings, "fitment": fitment.FitmentSource.from_settings}
        source = sources[domain](settings) if domain in sources else None
        try:
            async with source or contextlib.nullcontext():
                with progress_bars() as progress:
                    result = await work(db, source, progress)
        finally:
            await db.dispose()
        if domain == "stock" and wrote(result):
            await _refresh_search_cache(settings)
        return result

    try:
        return asyncio.run(run())
    except (SourceError, LockBusyError) as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from exc


def _print_counts(domain: str, job: str, counts: dict[str, int]) -> None:
    table = Table(*counts, title=f"{domain}: {job}")
    table.add_row(*(f"{n:,}" for n in counts.values()))
    console.print(table)


@app.command("reconcile")
def reconcile_command(
    domain: DomainOption,
    since: Annotated[
        datetime | None, typer.Option(help="Only aggregates computed at or after this time (UTC); default all.")
    ] = None,
    page_size: PageSizeOption = PAGE_SIZE,
) -> None:
    """Compare the projection with its source (stock-import's aggregates, vehicle-data's fitment, the
    reference set composition) and fix drift."""
    if domain == "sets":
        checked = _run(domain, lambda db, _, progress: sets.reconcile(db, since, progress, page_size=page_size),
                       lambda report: report.fixed > 0)  # fmt: skip
        _print_counts(domain, checked.job_name, checked.counts())
        if checked.unresolved:
            console.print(f"[bold red]{checked.unresolved} variants still differ from the reference after recomposing")
            raise typer.Exit(1)
        return
    if domain == "fitment":
        found = _run(domain, lambda db, source, progress: fitment.reconcile(db, source, since, progress),
                     lambda report: report.fixed > 0)  # fmt: skip
        _print_counts(domain, found.job_name, found.counts())
        return
    report = _run(
        domain,
        lambda db, source, progress: reconcile(db, source, since, progress, page_size=page_size),
        lambda report: report.fixed > 0,
    )
    table = Table("checked", "missing", "differing", "fixed", "left (newer event applied)",
                  title=f"{domain}: {report.job_name}")  # fmt: skip
    table.add_row(*(f"{n:,}" for n in (report.checked, report.missing, report.differing, report.fixed,
                                       report.newer_applied)))  # fmt: skip
    console.print(table)
    console.print(f"stored in projection_job_checkpoint as {report.job_name!r}")


@app.command("rebuild")
def rebuild_command(
    domain: DomainOption,
    scope: Annotated[
        str,
        typer.Option(help="'all'; stock: an article number; fitment: a variant id or bucket:KEY; sets: a variant id."),
    ],
    page_size: PageSizeOption = PAGE_SIZE,
) -> None:
    """Write the projection from its source; a killed full rebuild resumes where it stopped."""
    if domain == "sets":
        if scope != "all" and not scope.isdigit():
            raise typer.BadParameter("the sets scope is 'all' or a variant id")
        built = _run(domain, lambda db, _, progress: sets.rebuild(db, scope, progress, page_size=page_size),
                     lambda report: report.sets > 0)  # fmt: skip
        if built.resumed_after is not None:
            console.print(f"resumed {built.job_name} after variant {built.resumed_after}")
        _print_counts(domain, built.job_name, {"variants": built.variants, "sets": built.sets})
        return
    if domain == "fitment":
        if scope != "all" and not scope.startswith("bucket:") and not scope.isdigit():
            raise typer.BadParameter("the fitment scope is 'all', a variant id or 'bucket:<tyre or wheel bucket>'")
        done = _run(domain, lambda db, source, progress: fitment.rebuild(db, source, scope, progress),
                    lambda report: report.written > 0)  # fmt: skip
        if done.resumed_after is not None:
            console.print(f"resumed {done.job_name} after variant {done.resumed_after}")
        _print_counts(domain, done.job_name, {"variants": done.variants, "written": done.written,
                                              "left (newer change applied)": done.newer_applied,
                                              "unknown to vehicle-data": done.not_found})  # fmt: skip
        return
    report = _run(
        domain,
        lambda db, source, progress: rebuild(db, source, scope, progress, page_size=page_size),
        lambda report: report.written + report.zeroed > 0,
    )
    if report.resumed_after is not None:
        console.print(f"resumed {report.job_name} after {report.resumed_after or 'the start'!r}")
    table = Table("scope", "pages", "aggregates", "written", "left (newer event applied)", "set to 0",
                  title=f"{domain}: {report.job_name}")  # fmt: skip
    table.add_row(scope, *(f"{n:,}" for n in (report.pages, report.aggregates, report.written, report.newer_applied,
                                              report.zeroed)))  # fmt: skip
    console.print(table)
    for number in report.not_found:
        console.print(f"stock-import has no aggregate for {number}: its projection row (if any) is at quantity 0")
