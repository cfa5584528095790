"""Calls from the operator CLI to an island's operator API (its settings give the address and token)."""

from __future__ import annotations

from typing import Any

import httpx
import typer

from foundation.settings import ServiceSettings
from integration_sdk.cli.console import console


def island_client(settings: ServiceSettings, timeout_s: float = 60) -> httpx.AsyncClient:
    """An HTTP client for the island's API with its operator token."""
    host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "::") else settings.http_host
    token = settings.operator_token.get_secret_value()
    return httpx.AsyncClient(base_url=f"http://{host}:{settings.http_port}", timeout=timeout_s,
                             headers={"Authorization": f"Bearer {token}"})  # fmt: skip


async def call_island(settings: ServiceSettings, method: str, path: str, **kwargs: Any) -> Any:
    """One API call's JSON; an unreachable island exits 2, an error answer exits 1, each with the reason."""
    try:
        async with island_client(settings) as client:
            response = await client.request(method, path, **kwargs)
    except httpx.TransportError as exc:
        console.print(f"[red]{settings.island} is not reachable at port {settings.http_port}[/] ({exc}); "
                      "start it with `atraxion up` or uvicorn (see the README).")  # fmt: skip
        raise typer.Exit(2) from exc
    if response.status_code >= 400:
        error = response.json().get("error", {})
        console.print(f"[red]{response.status_code} {error.get('code', '')}[/]: {error.get('message', response.text)}")
        for detail in error.get("details", []):
            console.print(f"  {detail}")
        raise typer.Exit(1)
    return response.json()
