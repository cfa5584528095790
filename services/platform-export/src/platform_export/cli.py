"""``atraxion platforms``: platforms, export runs and platform orders, through platform-export's HTTP API."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

import typer
from rich.table import Table

from integration_sdk.cli.api import call_island
from integration_sdk.cli.console import console
from platform_export.settings import PlatformExportSettings

app = typer.Typer(no_args_is_help=True, help="Sales platforms: export runs and platform orders.")


async def _call(method: str, path: str, **kwargs: Any) -> Any:
    return await call_island(PlatformExportSettings(), method, path, **kwargs)


def _seconds(run: dict[str, Any]) -> str:
    if not run.get("finished_at"):
        return ""
    from datetime import datetime

    took = datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(run["started_at"])
    return f"{took.total_seconds():.1f}"


def _runs_table(runs: list[dict[str, Any]], title: str) -> Table:
    table = Table("run", "platform", "kind", "status", "items", "bytes", "seconds", "queued", "error", title=title)
    for run in runs:
        table.add_row(run["run_id"], run["platform_id"], run["kind"], run["status"], f"{run['items']:,}",
                      f"{run['bytes']:,}", _seconds(run), run["queued_at"], (run.get("error") or "")[:60])  # fmt: skip
    return table


@app.command("list")
def list_command() -> None:
    """Every platform: format, channel, filters, last full and delta export, orders imported."""
    items = asyncio.run(_call("GET", "/api/v1/platforms"))["items"]
    table = Table("platform", "format", "channel", "markup %", "min stock", "types", "active", "last full",
                  "last delta", "orders")  # fmt: skip
    for p in items:
        table.add_row(p["platform_id"], p["format"], p["delivery_channel"], str(p["markup_pct"]), str(p["min_stock"]),
                      ",".join(p["type_filter"] or ["all"]), "yes" if p["active"] else "no", p["last_full_at"] or "",
                      p["last_delta_at"] or "", str(p["orders_imported"]))  # fmt: skip
    console.print(table)


@app.command("export")
def export_command(
    platform_id: Annotated[str, typer.Argument(help="The platform id.")],
    kind: Annotated[str, typer.Option(help="full, or delta (changes since the last successful run).")] = "delta",
    wait: Annotated[bool, typer.Option(help="Wait until the worker finished the run.")] = True,
) -> None:
    """Queue an export run now; by default wait for it and print its record."""
    if kind not in ("full", "delta"):
        raise typer.BadParameter("kind is full or delta")

    async def run() -> dict[str, Any]:
        run: dict[str, Any] = await _call("POST", f"/api/v1/platforms/{platform_id}/exports", params={"kind": kind})
        console.print(f"queued run [bold]{run['run_id']}[/]")
        while wait and run["status"] in ("queued", "running"):
            await asyncio.sleep(0.5)
            run = await _call("GET", f"/api/v1/export-runs/{run['run_id']}")
        return run

    started = time.monotonic()
    result = asyncio.run(run())
    if wait:
        console.print(_runs_table([result], f"after {time.monotonic() - started:.1f}s"))
        if result["status"] == "failed":
            raise typer.Exit(1)


@app.command("runs")
def runs_command(
    platform: Annotated[str | None, typer.Option(help="Only this platform.")] = None,
    status: Annotated[str | None, typer.Option(help="queued, running, succeeded or failed.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 30,
) -> None:
    """Export runs, newest first: items, bytes, duration, result."""
    params = {k: v for k, v in {"platform_id": platform, "status": status, "limit": limit}.items() if v}
    console.print(_runs_table(asyncio.run(_call("GET", "/api/v1/export-runs", params=params))["items"], "export runs"))


@app.command("orders")
def orders_command(
    platform: Annotated[str | None, typer.Option(help="Only this platform.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 30,
) -> None:
    """Imported platform orders, newest first, with ERP status and tracking."""
    params = {k: v for k, v in {"platform_id": platform, "limit": limit}.items() if v}
    table = Table("platform", "order", "status", "tracking", "pushed", "imported", "error")
    for o in asyncio.run(_call("GET", "/api/v1/platform-orders", params=params))["items"]:
        table.add_row(o["platform_id"], o["platform_order_id"], o["status"], o["tracking_number"] or "",
                      o["tracking_pushed_at"] or "", o["imported_at"], (o["error"] or "")[:60])  # fmt: skip
    console.print(table)
