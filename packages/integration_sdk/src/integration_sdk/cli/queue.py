"""``atraxion queue``: the DLQ archive: list, show and replay dead letters."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime
from typing import Annotated

import aio_pika
import typer
from rich.table import Table

from foundation.db import create_engine
from foundation.island import Island, discover_islands
from integration_sdk.cli.console import console
from integration_sdk.dead_letters import (
    DeadLetterFilter,
    describe,
    list_dead_letters,
    replay_dead_letters,
    show_dead_letter,
)
from integration_sdk.topology import DLQ

app = typer.Typer(no_args_is_help=True, help="Dead letters: list, show, replay.")
dlq = typer.Typer(no_args_is_help=True, help="Inspect the DLQ archive.")
app.add_typer(dlq, name="dlq")

QueueOption = Annotated[str, typer.Option("--queue", help="The island's DLQ, e.g. webshop.dlq.")]
FromOption = Annotated[datetime | None, typer.Option("--from", help="Last failure at or after (UTC).")]
ToOption = Annotated[datetime | None, typer.Option("--to", help="Last failure at or before (UTC).")]
ScopeOption = Annotated[str | None, typer.Option("--scope", help="Only this scope (aggregate) id.")]


def island_of(dlq_name: str) -> Island:
    """The island whose DLQ this is."""
    islands = {f"{island.name}.{DLQ}": island for island in discover_islands()}
    if dlq_name not in islands:
        raise typer.BadParameter(f"{dlq_name!r} is not a DLQ; choose one of {', '.join(sorted(islands))}")
    return islands[dlq_name]


@dlq.command("list")
def list_command(
    queue: QueueOption,
    failed_from: FromOption = None,
    failed_to: ToOption = None,
    scope: ScopeOption = None,
    include_replayed: Annotated[bool, typer.Option("--all", help="Include replayed letters.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
) -> None:
    """Dead letters of an island, newest failure first."""
    settings = island_of(queue).settings()
    selection = DeadLetterFilter(None, failed_from, failed_to, scope, include_replayed)

    async def run() -> None:
        engine = create_engine(settings)
        try:
            letters = await list_dead_letters(engine, selection, limit)
        finally:
            await engine.dispose()
        table = Table("id", "failed on", "scope", "type", "error", "attempts", "last failure", "status")
        for letter in letters:
            error = f"{letter.error_class}: {letter.error_message}"[:60]
            status = f"{letter.status} ({letter.replay_count}x)" if letter.replay_count else letter.status
            failed = f"{letter.last_failed_at:%Y-%m-%d %H:%M:%S}"
            table.add_row(str(letter.id), letter.queue, letter.scope_id, letter.message_type, error,
                          str(letter.attempts), failed, status)  # fmt: skip
        console.print(table)
        console.print(f"{len(letters)} dead letter(s)")

    asyncio.run(run())


@dlq.command("show")
def show_command(queue: QueueOption, letter_id: Annotated[int, typer.Argument(help="Dead letter id.")]) -> None:
    """One dead letter: error, attempt history, headers and the original message."""
    settings = island_of(queue).settings()

    async def run() -> None:
        engine = create_engine(settings)
        try:
            letter = await show_dead_letter(engine, letter_id)
        finally:
            await engine.dispose()
        if letter is None:
            console.print(f"[red]no dead letter {letter_id} in {queue}[/]")
            raise typer.Exit(1)
        console.print_json(json.dumps(describe(letter), default=str))

    asyncio.run(run())


@app.command("replay")
def replay_command(
    queue: QueueOption,
    failed_from: FromOption = None,
    failed_to: ToOption = None,
    scope: ScopeOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show what would be replayed.")] = False,
) -> None:
    """Republish the selected dead letters onto the queues they failed on (the inbox drops repeats)."""
    settings = island_of(queue).settings()
    selection = DeadLetterFilter(None, failed_from, failed_to, scope)
    replay_id = f"replay-{uuid.uuid4()}"

    async def run() -> list[int]:
        engine = create_engine(settings)
        try:
            connection = await aio_pika.connect(settings.amqp_url)
            async with connection:
                return await replay_dead_letters(
                    engine, connection, selection, replay_correlation_id=replay_id, dry_run=dry_run
                )
        finally:
            await engine.dispose()

    ids = asyncio.run(run())
    verb = "would replay" if dry_run else "replayed"
    console.print(f"{verb} {len(ids)} dead letter(s){'' if dry_run else f' as {replay_id}'}: {ids}")
