"""60 sales platforms we export stock to: marketplaces, comparison sites and dealer portals."""

from __future__ import annotations

import random
from typing import Any

KINDS = ("marketplace", "comparison", "dealer-portal", "webshop-network", "fleet-portal")
PREFIXES = ("Auto", "Pneu", "Banden", "Reifen", "Tyre", "Wheel", "Drive", "Garage", "Fleet", "Euro")
SUFFIXES = ("Markt", "Deal", "Direct", "Net", "Shop", "Hub", "Plaza", "Compare", "Pro", "Connect")


# Platforms of these kinds sell to consumers and have an order API we import from.
ORDER_KINDS = ("marketplace", "webshop-network")
PARTNER_URL = "http://127.0.0.1:8900"  # where the platform simulator listens in a local run


def generate_platforms(
    rng: random.Random, count: int, brands: list[str], partner_url: str = PARTNER_URL
) -> list[dict[str, Any]]:
    """Platform configurations with format, markup, stock threshold, filters, delivery channel, order API."""
    platforms = []
    for n in range(1, count + 1):
        kind = rng.choice(KINDS)
        name = f"{PREFIXES[n % len(PREFIXES)]}{SUFFIXES[(n * 7) % len(SUFFIXES)]} {kind}"
        platform_id = f"p{n:02d}-{name.split()[0].lower()}"
        channel = "http" if rng.random() < 0.4 else "file"
        platforms.append({
            "platform_id": platform_id, "name": name, "format": rng.choice(("csv", "csv", "xml", "json")),
            "markup_pct": f"{rng.uniform(4, 32):.2f}", "min_stock": rng.choice((0, 1, 2, 4, 4, 8)),
            "brand_filter": sorted(rng.sample(brands, rng.randint(3, 8))) if rng.random() < 0.3 else None,
            "type_filter": rng.choice((None, None, ["tyre"], ["tyre", "wheel"], ["wheel"])),
            "delivery_channel": channel,
            "endpoint_url": f"{partner_url}/platforms/{platform_id}/feed" if channel == "http" else None,
            "orders_url": f"{partner_url}/platforms/{platform_id}/orders" if kind in ORDER_KINDS else None,
            "delta_interval_min": rng.choice((5, 10, 15)), "active": rng.random() > 0.05,
        })  # fmt: skip
    return platforms
