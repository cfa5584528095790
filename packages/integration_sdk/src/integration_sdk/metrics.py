"""Messaging metrics (the spec's queue-health and freshness dashboards).

Labels are bounded: island, queue (a fixed set per island), message type (a fixed contract set),
reason (an error class name, or a fixed word).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600)

OUTBOX_LAG = Histogram("outbox_lag_seconds", "Outbox row commit to broker confirm.", ["island"], buckets=LAG_BUCKETS)
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox rows published and confirmed.", ["island"])
OUTBOX_PUBLISH_FAILURES = Counter(
    "outbox_publish_failures_total", "Outbox rows whose publish failed, by outcome.", ["island", "outcome"]
)
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Outbox rows waiting to be published.", ["island"])
OUTBOX_OLDEST_AGE = Gauge("outbox_oldest_pending_age_seconds", "Age of the oldest pending outbox row.", ["island"])
OUTBOX_PARKED = Gauge("outbox_parked", "Outbox rows parked after repeated publish failures.", ["island"])

QUEUE_WAIT = Histogram("queue_wait_seconds", "Enqueue to handler start.", ["island", "queue"], buckets=LAG_BUCKETS)
ENQUEUE_TO_ACK = Histogram(
    "queue_enqueue_to_ack_seconds", "Enqueue to ack (after commit).", ["island", "queue"], buckets=LAG_BUCKETS
)
PROCESSING_TIME = Histogram(
    "message_processing_seconds", "Handler transaction time, by message type.", ["island", "message_type"],
    buckets=LAG_BUCKETS,
)  # fmt: skip
MESSAGES_HANDLED = Counter(
    "messages_handled_total", "Messages by outcome.", ["island", "queue", "message_type", "outcome"]
)
DELIVERY_ATTEMPTS = Histogram(
    "message_delivery_attempts", "Attempt number at which a message was applied.", ["island", "queue"],
    buckets=(1, 2, 3, 4, 5, 6, 8, 10),
)  # fmt: skip
RETRIES = Counter("message_retries_total", "Messages sent to a retry tier.", ["island", "queue", "tier"])
DLQ_MOVES = Counter("dlq_moves_total", "Messages moved to the DLQ, by reason.", ["island", "queue", "reason"])
DUPLICATES_SUPPRESSED = Counter(
    "duplicates_suppressed_total", "Deliveries whose idempotency key was already applied.", ["island", "consumer"]
)
DLQ_DEPTH = Gauge("dlq_archived_dead_letters", "Dead letters archived and not yet replayed.", ["island"])
PROJECTION_FRESHNESS = Histogram(
    "projection_freshness_seconds", "Source change (event occurred-at) to projection commit, by projection.",
    ["island", "projection"], buckets=LAG_BUCKETS,
)  # fmt: skip
RECOMPUTE_ROWS = Counter(
    "projection_recompute_rows_total",
    "Rows a projection recompute evaluated, wrote or removed (kind: what a row is).",
    ["island", "domain", "kind", "outcome"],
)
RECOMPUTE_SECONDS = Histogram(
    "projection_recompute_seconds", "Duration of one recompute step.", ["island", "domain"], buckets=LAG_BUCKETS
)

# Connectors (the perf-connector-runtime dashboard): calls to partners by connector and target (the ERP,
# or one of the ~60 platform ids: bounded), status class ("2xx", "4xx", "429", "5xx", "timeout",
# "connection", "circuit_open"), retries by reason and the circuit state.
CONNECTOR_CALLS = Counter(
    "connector_calls_total", "Calls to partner APIs, by status class.", ["connector", "target", "status_class"]
)
CONNECTOR_LATENCY = Histogram(
    "connector_call_duration_seconds", "Partner API call latency.", ["connector", "target"], buckets=LAG_BUCKETS
)
CONNECTOR_RETRIES = Counter(
    "connector_retries_total", "In-process retries of partner calls, by reason.", ["connector", "target", "reason"]
)
CONNECTOR_CIRCUIT_STATE = Gauge(
    "connector_circuit_state", "Circuit breaker state: 0 closed, 1 half-open, 2 open.", ["connector", "target"]
)
