"""Names of the broker objects: one topic exchange, and per island its work queues and DLQ."""

from __future__ import annotations

EVENTS_EXCHANGE = "atraxion.events"
QUEUE_CLASSES = ("high-priority", "bulk", "dlq")


def exchange_name(namespace: str = "") -> str:
    """The domain-event topic exchange."""
    return f"{namespace}{EVENTS_EXCHANGE}"


def queue_name(island: str, queue_class: str, namespace: str = "") -> str:
    """``<island>.high-priority`` / ``<island>.bulk`` / ``<island>.dlq`` (namespaced in tests)."""
    return f"{namespace}{island}.{queue_class}"
