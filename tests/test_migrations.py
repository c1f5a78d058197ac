"""Migrations and models agree, on SQLite and PostgreSQL, and every migration can be undone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from liveloop import migrate
from liveloop.core.db import create_engine
from liveloop.settings import Settings


def _diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, migrate.target_metadata()))


@pytest.mark.anyio
async def test_head_schema_matches_the_models(settings: Settings) -> None:
    engine = create_engine(settings.resolved_database_url)
    try:
        assert await migrate.is_up_to_date(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()


@pytest.mark.anyio
async def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'down.db'}"
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)

        def down(conn: Connection) -> None:
            cfg = migrate.alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")

        async with engine.begin() as conn:
            await conn.run_sync(down)
        assert await migrate.current_revision(engine) is None
        await migrate.upgrade(engine)
        assert await migrate.is_up_to_date(engine)
    finally:
        await engine.dispose()
