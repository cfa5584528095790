"""``atraxion fitment``: manual fitment rules, recomputes and their progress, through vehicle-data's API.

The CLI goes through the API like any operator tool (same token, same checks), so a rule added from a
terminal is stored and recomputed exactly as one from the back office.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

import typer
from rich.table import Table

from integration_sdk.cli.api import call_island
from integration_sdk.cli.console import console, progress_bars
from vehicle_data.settings import VehicleDataSettings

app = typer.Typer(no_args_is_help=True, help="Vehicle fitment: manual rules and recomputes.")
rules = typer.Typer(no_args_is_help=True, help="Manual include/exclude rules of a variant's axle.")
app.add_typer(rules, name="rules")


async def _call(method: str, path: str, **kwargs: Any) -> Any:
    return await call_island(VehicleDataSettings(), method, path, **kwargs)


def _rules_table(items: list[dict[str, Any]]) -> Table:
    table = Table("rule", "variant", "axle", "action", "article / size", "reason", "by", "created", "deleted")
    for r in items:
        table.add_row(str(r["rule_id"]), str(r["vehicle_variant_id"]), r["axle"], r["action"],
                      r["article_number"] or r["tyre_size"], r["reason"], r["created_by"], r["created_at"][:19],
                      (r["deleted_at"] or "")[:19])  # fmt: skip
    return table


@rules.command("add")
def add_rule(
    vehicle: Annotated[int, typer.Option(help="Vehicle variant id.")],
    action: Annotated[str, typer.Option(help="include or exclude.")],
    reason: Annotated[str, typer.Option(help="Why (kept with the rule).")],
    by: Annotated[str, typer.Option(help="Who decided it.")],
    article: Annotated[str | None, typer.Option(help="An article number ...")] = None,
    size: Annotated[str | None, typer.Option(help="... or a tyre size, e.g. 225/45R17.")] = None,
    axle: Annotated[str, typer.Option(help="front, rear or both.")] = "both",
) -> None:
    """Add a rule; vehicle-data recomputes what it touches at once (high-priority queue)."""
    body = {"vehicle_variant_id": vehicle, "axle": axle, "action": action, "article_number": article,
            "tyre_size": size, "reason": reason, "created_by": by}  # fmt: skip
    console.print(_rules_table([asyncio.run(_call("POST", "/api/v1/fitment-rules", json=body))]))


@rules.command("list")
def list_rules(
    vehicle: Annotated[int | None, typer.Option(help="Only this variant's rules.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Deleted rules too.")] = False,
) -> None:
    """Rules, newest first."""
    params = {"include_deleted": all_, **({"vehicle": vehicle} if vehicle else {})}
    console.print(_rules_table(asyncio.run(_call("GET", "/api/v1/fitment-rules", params=params))["items"]))


@rules.command("delete")
def delete_rule(rule_id: Annotated[int, typer.Argument(help="The rule.")]) -> None:
    """End a rule (kept for the record); its effect is recomputed at once."""
    console.print(_rules_table([asyncio.run(_call("DELETE", f"/api/v1/fitment-rules/{rule_id}"))]))


@app.command("recompute")
def recompute(
    scope: Annotated[str, typer.Option(help="all, vehicle:<id> or bucket:<tyre or wheel bucket>.")],
    wait: Annotated[bool, typer.Option(help="Follow the pending work until it is done.")] = True,
) -> None:
    """Recompute a scope on the bulk queue; shows progress until nothing is pending (resumable: it is queued)."""

    async def run() -> None:
        accepted = await _call("POST", "/api/v1/fitment/recompute", json={"scope": scope})
        console.print(f"listed {accepted['vehicles']:,} variants and {accepted['articles']:,} articles for {scope}")
        if not wait or scope.startswith("bucket:") and accepted["articles"] == 0:
            return
        total = accepted["vehicles"] + accepted["articles"]
        started = time.monotonic()
        with progress_bars() as progress:
            task = progress.task("recompute (variants and articles pending)", total=total)
            done = 0
            while True:
                pending = (await _call("GET", "/api/v1/fitment/status"))["pending"]
                left = pending["vehicle"] + pending["article"]
                task.advance(max(0, total - left - done))
                done = max(done, total - left)
                if left == 0:
                    break
                await asyncio.sleep(1)
        console.print(f"done in {time.monotonic() - started:.0f} s")

    asyncio.run(run())


@app.command("status")
def status() -> None:
    """What waits for the recompute, and when the fitment last changed."""
    body = asyncio.run(_call("GET", "/api/v1/fitment/status"))
    console.print(f"pending: {body['pending']['vehicle']:,} variants, {body['pending']['article']:,} articles; "
                  f"last change {body['last_change_at'] or 'never'}")  # fmt: skip
