"""``atraxion``: the operator CLI (run the suite locally, migrations, demo data, status).

Island-specific command groups (replay, reconcile, rebuild ...) plug in through the entry-point
group ``atraxion.commands``: each entry point is a ``typer.Typer`` added under its name.
"""

from __future__ import annotations

import asyncio
import signal
import time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from foundation.island import Island, discover_islands, load
from integration_sdk.cli.console import console, progress_bars
from integration_sdk.cli.infra import ensure_running
from integration_sdk.cli.supervisor import Child, children_for, run_until_stopped, simulator_children, wait_ready

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Atraxion operator CLI: run the suite locally, migrations, demo data, status.",
)
Scale = Literal["tiny", "small", "full"]
ROOT = Path.cwd()


def _islands(only: str | None = None) -> list[Island]:
    islands = discover_islands()
    if only is None:
        return islands
    chosen = [island for island in islands if island.name == only]
    if not chosen:
        raise typer.BadParameter(f"unknown island {only!r}; known: {', '.join(i.name for i in islands)}")
    return chosen


def _fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(1)


@app.command()
def infra() -> None:
    """Check MariaDB, RabbitMQ and Redis; start the local ones that are down."""
    problems = ensure_running(discover_islands()[0].settings(), ROOT / "docker-compose.yml")
    if problems:
        for problem in problems:
            console.print(f"[bold red]missing:[/] {problem}")
        raise typer.Exit(1)
    console.print("[green]MariaDB, RabbitMQ and Redis are reachable.[/]")


@app.command()
def migrate(
    island: Annotated[str | None, typer.Option(help="Only this island (default: all).")] = None,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
    down: Annotated[bool, typer.Option("--down", help="Downgrade to the revision instead.")] = False,
) -> None:
    """Migrate each island's schema (creating it if needed)."""
    from integration_sdk.migrations import downgrade, upgrade

    async def run() -> None:
        for each in _islands(island):
            started = time.perf_counter()
            if down:
                await downgrade(each, each.settings(), revision)
            else:
                await upgrade(each, each.settings(), revision)
            console.print(
                f"{each.name:16} {'downgraded' if down else 'migrated'} to {revision} "
                f"({each.settings().db_schema}, {time.perf_counter() - started:.1f}s)"
            )

    asyncio.run(run())


def seed_data(scale: Scale, seed: int, data_dir: Path, islands: list[Island]) -> dict[str, dict[str, float]]:
    """Generate (or reuse) the partner files, then feed each island through its own ingestion path."""
    from integration_sdk.partners.generator import generate, is_current
    from integration_sdk.partners.simulators.settings import SimulatorSettings

    target = data_dir / f"{scale}-{seed}"
    partner_url = SimulatorSettings().platforms_url  # the platforms' APIs: the simulator's address
    results: dict[str, dict[str, float]] = {}
    with progress_bars() as progress:
        if is_current(target, partner_url):
            console.print(f"reusing generated partner files in {target}")
        else:
            started = time.perf_counter()
            generate(scale, seed, target, progress, partner_url)
            console.print(f"generated partner files in {target} ({time.perf_counter() - started:.1f}s)")

        async def load_all() -> None:
            for island in islands:
                if island.demo_loader is None:
                    continue
                started = time.perf_counter()
                results[island.name] = await load(island.demo_loader)(island.settings(), target, progress)
                results[island.name]["seconds"] = round(time.perf_counter() - started, 1)

        asyncio.run(load_all())
    return results


@app.command()
def seed(
    scale: Annotated[str, typer.Option(help="tiny | small | full (the spec's 285k products).")] = "small",
    seed_value: Annotated[int, typer.Option("--seed", help="Same seed, same data.")] = 42,
    data_dir: Annotated[Path, typer.Option(help="Where partner files are generated.")] = Path("var/seed"),
) -> None:
    """Generate deterministic demo data and load it through each island's ingestion path."""
    if scale not in ("tiny", "small", "full"):
        raise typer.BadParameter(f"scale must be tiny, small or full, not {scale!r}")
    started = time.perf_counter()
    results = seed_data(scale, seed_value, data_dir, discover_islands())  # type: ignore[arg-type]
    table = Table("island", "loaded", title=f"seed {scale}/{seed_value}")
    for name, counts in results.items():
        table.add_row(name, ", ".join(f"{key} {value:,}" for key, value in counts.items()))
    console.print(table)
    console.print(f"seeded in {time.perf_counter() - started:.1f}s")


def _print_urls(children: list[Child], log_dir: Path) -> None:
    table = Table("process", "url", "API docs", title="Atraxion is running")
    for child in children:
        docs = "" if child.name.endswith(("-worker", "-simulator")) else f"{child.base_url}/docs"
        table.add_row(child.name, child.base_url, docs)
    console.print(table)
    console.print("every island process serves /health/live, /health/ready and /metrics; simulators: /_control/...")
    shop = next((child.base_url for child in children if child.name == "webshop"), None)
    if shop is not None:
        console.print(f"storefront: {shop}/api/v1/products?type=tyre&width=205&aspect=55&diameter=16   "
                      f"{shop}/api/v1/vehicles/makes   {shop}/api/v1/vehicles/ID/wheel-sets")  # fmt: skip
    console.print(f"logs: {log_dir}/<process>.log   status: `atraxion status`   stop: Ctrl-C")


@app.command()
def up(
    scale: Annotated[str, typer.Option(help="Demo data scale: tiny | small | full | none.")] = "small",
    seed_value: Annotated[int, typer.Option("--seed", help="Data generator seed.")] = 42,
    log_dir: Annotated[Path, typer.Option(help="One log file per process.")] = Path("var/log"),
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for readiness.")] = 90,
    smoke: Annotated[bool, typer.Option(help="Stop again once everything is ready (for checks).")] = False,
) -> None:
    """Migrate, seed, start the partner simulators and all five services and workers; wait until ready."""
    islands = discover_islands()
    problems = ensure_running(islands[0].settings(), ROOT / "docker-compose.yml")
    if problems:
        for problem in problems:
            console.print(f"[bold red]missing:[/] {problem}")
        raise typer.Exit(1)
    migrate(island=None, revision="head", down=False)
    if scale != "none":
        seed(scale=scale, seed_value=seed_value, data_dir=Path("var/seed"))

    async def run() -> int:
        children = simulator_children(log_dir) + children_for(islands, log_dir)
        console.print(f"starting {len(children)} processes ...")
        try:
            for child in children:
                await child.start()
            not_ready = await wait_ready(children, ready_timeout)
            if not_ready:
                for name, problem in not_ready.items():
                    child = next(c for c in children if c.name == name)
                    console.print(f"[bold red]{name}[/] {problem}; last log lines:\n{child.log_tail()}")
                return 1
            _print_urls(children, log_dir)
            if smoke:
                return 0
            died = await run_until_stopped(children)
            if died:
                console.print(f"[bold red]{died} exited[/]; stopping the others. Its log: {log_dir}/{died}.log")
                return 1
            return 0
        finally:
            console.print("stopping ...")
            codes = await asyncio.gather(*(child.stop() for child in children))
            # uvicorn re-raises the SIGTERM it handled once its graceful shutdown is done: that is clean.
            clean = (0, None, -signal.SIGTERM)
            unclean = {child.name: code for child, code in zip(children, codes, strict=True) if code not in clean}
            for name, code in unclean.items():
                console.print(f"[bold red]{name}[/] exited with code {code}; see {log_dir}/{name}.log")
            console.print("stopped." if not unclean else "stopped, not all cleanly.")

    code = asyncio.run(run())
    if code:
        raise typer.Exit(code)


@app.command()
def status() -> None:
    """Readiness of each service and worker, and the depth of each island queue."""
    from integration_sdk.cli.status import collect_status

    rows = asyncio.run(collect_status(discover_islands()))
    table = Table("island", "api", "worker", "high-priority", "bulk", "dlq", title="status")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _register_plugins() -> None:
    for entry_point in entry_points(group="atraxion.commands"):
        app.add_typer(entry_point.load(), name=entry_point.name)


def main() -> None:
    """Console-script entry point."""
    _register_plugins()
    app()
