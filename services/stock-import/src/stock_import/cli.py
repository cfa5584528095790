"""``atraxion stock``: supplier feeds and import batches, through stock-import's HTTP API.

The CLI goes through the API like any integration (same token, same checks), so an upload from a
terminal is received, queued and imported exactly as one from a supplier.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from integration_sdk.cli.console import call_island, console
from stock_import.settings import StockImportSettings

app = typer.Typer(no_args_is_help=True, help="Supplier feeds and import batches.")
FINISHED = ("succeeded", "failed")


async def _call(method: str, path: str, **kwargs: Any) -> Any:
    settings = StockImportSettings()
    token = {"Authorization": f"Bearer {settings.operator_token.get_secret_value()}"}
    return await call_island(settings, method, path, headers=token, **kwargs)


def _show(batch: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None)
    for name in (
        "batch_id",
        "supplier_id",
        "kind",
        "source",
        "file_name",
        "status",
        "rows_total",
        "rows_ok",
        "rows_rejected",
        "offers_changed",
        "aggregates_changed",
        "received_at",
        "finished_at",
        "error",
    ):
        table.add_row(name, str(batch.get(name)))  # fmt: skip
    console.print(table)
    if batch.get("errors"):
        errors = Table("row", "field", "value", "reason", title=f"row errors (first {len(batch['errors'])})")
        for error in batch["errors"]:
            errors.add_row(str(error["row_no"]), error["field"], error["value"], error["reason"])
        console.print(errors)


@app.command("upload")
def upload_command(
    supplier_id: Annotated[str, typer.Argument(help="Supplier id, e.g. SUP-002.")],
    feed: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The feed file.")],
    kind: Annotated[str, typer.Option(help="full (replaces the supplier's offers) or delta.")] = "full",
    wait: Annotated[bool, typer.Option(help="Wait for the worker to import it and show the report.")] = True,
) -> None:
    """Upload a feed; by default wait until it is imported and print its report."""
    if kind not in ("full", "delta"):
        raise typer.BadParameter("kind is full or delta")

    async def run() -> dict[str, Any]:
        params = {"kind": kind, "file_name": feed.name}
        accepted = await _call("POST", f"/api/v1/suppliers/{supplier_id}/feeds", params=params,
                               content=feed.read_bytes())  # fmt: skip
        console.print(f"received as batch [bold]{accepted['batch_id']}[/] ({accepted['bytes']:,} bytes), queued")
        batch: dict[str, Any] = accepted
        started = time.monotonic()
        with console.status("importing ...") as status:
            while wait and batch["status"] not in FINISHED:
                await asyncio.sleep(0.5)
                batch = await _call("GET", f"/api/v1/import-batches/{accepted['batch_id']}")
                status.update(f"{batch['status']} ({time.monotonic() - started:.0f} s)")
        return batch

    batch = asyncio.run(run())
    if wait:
        _show(batch)
        if batch["status"] == "failed":
            raise typer.Exit(1)


@app.command("batches")
def batches_command(
    supplier: Annotated[str | None, typer.Option(help="Only this supplier.")] = None,
    status: Annotated[str | None, typer.Option(help="queued, succeeded or failed.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 20,
) -> None:
    """Newest import batches first."""
    params = {k: v for k, v in {"supplier_id": supplier, "status": status, "limit": limit}.items() if v}
    items = asyncio.run(_call("GET", "/api/v1/import-batches", params=params))["items"]
    table = Table("batch", "supplier", "kind", "status", "rows", "ok", "rejected", "aggregates changed", "received")
    for b in items:
        table.add_row(b["batch_id"], b["supplier_id"], b["kind"], b["status"], str(b["rows_total"]), str(b["rows_ok"]),
                      str(b["rows_rejected"]), str(b["aggregates_changed"]), b["received_at"])  # fmt: skip
    console.print(table)


@app.command("batch")
def batch_command(
    batch_id: Annotated[str, typer.Argument(help="The batch id.")],
    errors: Annotated[int, typer.Option(help="How many row errors to show.")] = 50,
) -> None:
    """One batch: status, counts and its row errors."""
    _show(asyncio.run(_call("GET", f"/api/v1/import-batches/{batch_id}", params={"errors_limit": errors})))
