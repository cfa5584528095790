"""Alembic per island schema: one script folder per island under ``migrations/<package>/``.

Each island's ``env.py`` calls ``run_migrations`` so the environments stay identical; the version
table lives in the island's own schema. ``upgrade``/``downgrade`` create the schema first, so a fresh
server needs nothing but this.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from foundation.db import ensure_schema
from foundation.island import Island
from foundation.settings import ServiceSettings

MIGRATIONS_DIR_ENV = "ATRAXION_MIGRATIONS_DIR"
FILE_TEMPLATE = "%%(year)d-%%(month).2d-%%(day).2d-%%(hour).2d%%(minute).2d_%%(slug)s"


def migrations_root() -> Path:
    """``$ATRAXION_MIGRATIONS_DIR``, else the nearest ``migrations/`` above the cwd or this package."""
    if configured := os.environ.get(MIGRATIONS_DIR_ENV):
        return Path(configured)
    for start in (Path.cwd(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            if (folder / "migrations" / "webshop" / "env.py").is_file():
                return folder / "migrations"
    raise FileNotFoundError(f"no migrations/ folder found; set {MIGRATIONS_DIR_ENV}")


def alembic_config(island: Island, settings: ServiceSettings) -> Config:
    """An Alembic config for one island, pointed at the given settings' schema."""
    config = Config()
    config.set_main_option("script_location", str(migrations_root() / island.package))
    config.set_main_option("file_template", FILE_TEMPLATE)
    config.set_main_option("timezone", "UTC")
    config.attributes["db_url"] = settings.db_url
    return config


async def upgrade(island: Island, settings: ServiceSettings, revision: str = "head") -> None:
    """Create the schema if needed and upgrade it to ``revision``."""
    await ensure_schema(settings)
    await asyncio.to_thread(command.upgrade, alembic_config(island, settings), revision)


async def downgrade(island: Island, settings: ServiceSettings, revision: str = "base") -> None:
    """Downgrade the island's schema to ``revision``."""
    await asyncio.to_thread(command.downgrade, alembic_config(island, settings), revision)


async def current_revision(settings: ServiceSettings) -> str | None:
    """The revision the schema is at (None before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    engine = create_async_engine(settings.db_url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
    finally:
        await engine.dispose()


def run_migrations(context: Any) -> None:
    """The body of every island's ``env.py`` (online mode, async engine)."""
    url = context.config.attributes.get("db_url")
    if url is None:
        raise RuntimeError("run migrations through `atraxion migrate` (the island's settings give the URL)")

    def do_run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=None, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(do_run)
        finally:
            await engine.dispose()

    asyncio.run(run())
