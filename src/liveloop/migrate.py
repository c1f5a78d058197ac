"""Schema migrations (Alembic) on the running engine, for SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData
from sqlalchemy.ext.asyncio import AsyncEngine

from liveloop.core.db import Base

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def target_metadata() -> MetaData:
    """All domains' tables: importing each storage module registers it on ``Base.metadata``."""
    import liveloop.analytics.alert_storage
    import liveloop.commerce.storage
    import liveloop.interactions.storage
    import liveloop.rooms.storage
    import liveloop.shops.storage  # noqa: F401

    return Base.metadata


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revisions() -> frozenset[str]:
    """The newest revision of every branch (one, unless branches are in flight)."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


async def current_revisions(engine: AsyncEngine) -> frozenset[str]:
    def _read(conn: Connection) -> frozenset[str]:
        return frozenset(MigrationContext.configure(conn).get_current_heads())

    async with engine.connect() as conn:
        return await conn.run_sync(_read)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The database's revision(s), comma-separated; None when it was never migrated."""
    revisions = await current_revisions(engine)
    return ",".join(sorted(revisions)) if revisions else None


async def upgrade(engine: AsyncEngine, revision: str = "heads") -> None:
    """Bring the database to ``revision`` using the given engine's connection."""

    def _upgrade(conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


async def is_up_to_date(engine: AsyncEngine) -> bool:
    return await current_revisions(engine) == head_revisions()
