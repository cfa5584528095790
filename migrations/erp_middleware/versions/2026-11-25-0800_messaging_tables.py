"""Messaging tables: outbox, inbox and dead-letter archive (integration_sdk.messaging_schema v1).

Revision ID: erp_middleware_0002
Revises: erp_middleware_0001
Create Date: 2026-11-25 08:00:00 UTC
"""

from collections.abc import Sequence

from alembic import op

from integration_sdk.messaging_schema import create_messaging_tables_v1, drop_messaging_tables_v1

revision: str = "erp_middleware_0002"
down_revision: str | None = "erp_middleware_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_messaging_tables_v1(op)


def downgrade() -> None:
    drop_messaging_tables_v1(op)
