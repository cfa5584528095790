"""``atraxion erp``: orders handed to the ERP, through erp-middleware's HTTP API."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer
from rich.table import Table

from erp_middleware.settings import ErpMiddlewareSettings
from integration_sdk.cli.api import call_island
from integration_sdk.cli.console import console

app = typer.Typer(no_args_is_help=True, help="Orders handed to the ERP: status, attempts, errors.")


def _call(path: str, **kwargs: Any) -> Any:
    return asyncio.run(call_island(ErpMiddlewareSettings(), "GET", path, **kwargs))


@app.command("orders")
def orders_command(
    status: Annotated[str | None, typer.Option(help="pending, parked, accepted, shipped or rejected.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 30,
) -> None:
    """Orders, most recently changed first; parked ones were refused by the ERP (see its DLQ)."""
    params = {k: v for k, v in {"status": status, "limit": limit}.items() if v}
    table = Table("order key", "source", "status", "ERP order", "attempts", "tracking", "updated", "reason / error")
    for o in _call("/api/v1/erp-orders", params=params)["items"]:
        table.add_row(o["order_key"], o["source"], o["status"], o["erp_order_id"] or "", str(o["attempts"]),
                      o["tracking_number"] or "", o["updated_at"],
                      (o["status_reason"] or o["last_error"] or "")[:60])  # fmt: skip
    console.print(table)


@app.command("order")
def order_command(order_key: Annotated[str, typer.Argument(help="The order key, e.g. webshop:<order id>.")]) -> None:
    """One order with the request sent to the ERP."""
    console.print_json(json.dumps(_call(f"/api/v1/erp-orders/{order_key}")))
