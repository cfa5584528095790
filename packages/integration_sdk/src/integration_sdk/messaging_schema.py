"""The messaging tables every island holds in its own schema: outbox, inbox, applied versions,
dead-letter archive.

``messaging_tables(metadata)`` defines them for queries; ``create_messaging_tables_v1(op)`` is the
frozen migration step each island's history calls. A later change gets a new ``..._v2`` function and a
new revision: history never changes under an applied migration.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

OUTBOX_PENDING, OUTBOX_SENT, OUTBOX_PARKED = 0, 1, 2


def _v1_columns() -> dict[str, list[Any]]:
    # Fresh objects per call: a Column or Index can belong to one Table only.
    ts = mysql.DATETIME(fsp=3)
    return {
        "outbox_message": [
            sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
            sa.Column("message_id", sa.CHAR(36), nullable=False),
            sa.Column("message_type", sa.String(100), nullable=False),
            sa.Column("aggregate_id", sa.String(100), nullable=False),
            sa.Column("aggregate_version", sa.BigInteger, nullable=False),
            # crc32(aggregate_id) mod partitions: one relay owns a partition, so order per aggregate holds
            sa.Column("partition_no", sa.SmallInteger, nullable=False),
            sa.Column("body", mysql.MEDIUMBLOB, nullable=False),
            sa.Column("status", sa.SmallInteger, nullable=False, server_default=sa.text("0")),
            sa.Column("available_at", ts, nullable=False),
            sa.Column("created_at", ts, nullable=False),
            sa.Column("sent_at", ts, nullable=True),
            sa.Column("publish_attempts", sa.SmallInteger, nullable=False, server_default=sa.text("0")),
            sa.Column("last_error", sa.String(1000), nullable=True),
            sa.UniqueConstraint("message_id", name="uq_outbox_message_id"),
            sa.Index("idx_outbox_claim", "status", "available_at", "id"),
            sa.Index("idx_outbox_sent", "status", "sent_at"),
        ],
        "inbox_message": [
            sa.Column("consumer", sa.String(100), primary_key=True),
            sa.Column("idempotency_key", sa.String(200), primary_key=True),
            sa.Column("message_id", sa.CHAR(36), nullable=False),
            sa.Column("message_type", sa.String(100), nullable=False),
            sa.Column("received_at", ts, nullable=False),
            sa.Index("idx_inbox_received", "received_at"),
        ],
        # Highest aggregate version applied per projection stream: lets projections whose DDL the spec
        # fixes (no version column) still refuse an older event that arrives late.
        "applied_version": [
            sa.Column("stream", sa.String(60), primary_key=True),
            sa.Column("aggregate_id", sa.String(100), primary_key=True),
            sa.Column("version", sa.BigInteger, nullable=False),
            sa.Column("applied_at", ts, nullable=False),
        ],
        "dead_letter": [
            sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
            sa.Column("dead_letter_id", sa.CHAR(36), nullable=False),
            sa.Column("queue", sa.String(150), nullable=False),
            sa.Column("scope_id", sa.String(100), nullable=False),
            sa.Column("message_type", sa.String(100), nullable=False),
            sa.Column("message_id", sa.String(36), nullable=False),
            sa.Column("error_class", sa.String(200), nullable=False),
            sa.Column("error_message", sa.Text, nullable=False),
            sa.Column("attempts", sa.SmallInteger, nullable=False),
            sa.Column("first_failed_at", ts, nullable=False),
            sa.Column("last_failed_at", ts, nullable=False),
            sa.Column("headers", sa.JSON, nullable=False),
            sa.Column("body", mysql.MEDIUMBLOB, nullable=False),
            sa.Column("status", sa.String(10), nullable=False, server_default="dead"),
            sa.Column("replay_count", sa.SmallInteger, nullable=False, server_default=sa.text("0")),
            sa.Column("replayed_at", ts, nullable=True),
            sa.Column("replay_correlation_id", sa.String(128), nullable=True),
            sa.Column("archived_at", ts, nullable=False),
            sa.UniqueConstraint("dead_letter_id", name="uq_dead_letter_id"),
            sa.Index("idx_dead_letter_queue_failed", "queue", "last_failed_at"),
            sa.Index("idx_dead_letter_scope", "scope_id"),
        ],
    }


def messaging_tables(metadata: sa.MetaData) -> dict[str, sa.Table]:
    """The messaging tables by name, bound to ``metadata``."""
    return {
        name: sa.Table(name, metadata, *columns, mysql_engine="InnoDB", mysql_charset="utf8mb4")
        for name, columns in _v1_columns().items()
    }


def create_messaging_tables_v1(op: Any) -> None:
    """Migration step: create the tables (frozen: never edit, add a v2 step instead)."""
    for name, columns in _v1_columns().items():
        op.create_table(name, *columns, mysql_engine="InnoDB", mysql_charset="utf8mb4")


def drop_messaging_tables_v1(op: Any) -> None:
    """Migration step: drop what v1 created."""
    for name in reversed(list(_v1_columns())):
        op.drop_table(name)
