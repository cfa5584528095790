"""Alembic environment of this island's schema (shared body in integration_sdk.migrations)."""

from alembic import context

from integration_sdk.migrations import run_migrations

run_migrations(context)
