"""Where one backend of ``liveloop bench flash-sale`` runs: a fresh store, and its clean-up.

- ``embedded``: a temporary data dir (SQLite file, in-process counters and broker), the default.
- ``scaleout``: PostgreSQL + Redis. A uniquely named database is created on the given PostgreSQL
  server (the database named in the URL is only used to run ``CREATE DATABASE``; its content is
  never touched) and a unique Redis namespace is used; both are dropped afterwards.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from liveloop.core.db import create_engine
from liveloop.settings import Settings
from liveloop.sim.common import BenchError, Log

__all__ = ["BACKENDS", "Target", "prepared_target"]

BACKENDS = ("embedded", "scaleout")


@dataclass(frozen=True)
class Target:
    """One backend, ready: the URLs the server and the in-process runs use."""

    name: str
    data_dir: Path
    database_url: str
    redis_url: str | None = None
    namespace: str | None = None

    @property
    def label(self) -> str:
        return "memory counters + SQLite" if self.redis_url is None else "Redis + PostgreSQL"

    def server_env(self) -> dict[str, str]:
        """Extra ``LIVELOOP_*`` variables of the server (``sim.server.server_env`` adds the rest)."""
        if self.redis_url is None:
            return {}
        return {
            "LIVELOOP_DATABASE_URL": self.database_url,
            "LIVELOOP_REDIS_URL": self.redis_url,
            "LIVELOOP_REDIS_NAMESPACE": self.namespace or "liveloop",
            "LIVELOOP_AUTO_MIGRATE": "1",
        }

    def settings(self) -> Settings:
        """Settings of an in-process run on this store (every field given: no ``LIVELOOP_*`` leaks in)."""
        return Settings(
            data_dir=self.data_dir,
            database_url=self.database_url,
            redis_url=self.redis_url,
            redis_namespace=self.namespace or "liveloop",
            auto_migrate=True,  # the server migrated it; a newer code checkout may add a revision
            event_store="none",
            log_level="warning",
        )


async def _admin(url: str, sql: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


async def _drop_namespace(redis_url: str, namespace: str) -> int:
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    gone = 0
    try:
        batch: list[bytes] = []
        async for key in client.scan_iter(match=f"{namespace}:*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                gone += await client.delete(*batch)
                batch.clear()
        if batch:
            gone += await client.delete(*batch)
    finally:
        await client.aclose()
    return gone


@contextmanager
def prepared_target(
    name: str, log: Log, *, pg_url: str | None = None, redis_url: str | None = None
) -> Iterator[Target]:
    """A fresh store for backend ``name``; everything it made is removed on exit."""
    if name not in BACKENDS:
        raise BenchError(f"unknown backend {name!r} (choose from {', '.join(BACKENDS)})")
    with tempfile.TemporaryDirectory(prefix=f"liveloop-flash-{name}-") as tmp:
        data_dir = Path(tmp)
        if name == "embedded":
            yield Target(name, data_dir, f"sqlite+aiosqlite:///{data_dir / 'liveloop.db'}")
            return
        if not pg_url or not redis_url:
            raise BenchError(
                "the scaleout backend needs --pg and --redis (or LIVELOOP_DATABASE_URL/REDIS_URL)"
            )
        if not pg_url.startswith("postgresql"):
            raise BenchError(f"--pg must be a postgresql+asyncpg:// URL, got {pg_url.split(':', 1)[0]}://")
        suffix = uuid.uuid4().hex[:10]
        database = f"liveloop_bench_{suffix}"
        namespace = f"llbench-{suffix}"
        admin = make_url(pg_url).render_as_string(hide_password=False)
        url = make_url(pg_url).set(database=database).render_as_string(hide_password=False)
        try:
            asyncio.run(_admin(admin, f'CREATE DATABASE "{database}"'))
        except (SQLAlchemyError, OSError) as exc:
            raise BenchError(f"cannot create database {database}: {exc}") from None
        log(f"scaleout: database {database}, redis namespace {namespace}")
        try:
            yield Target(name, data_dir, url, redis_url=redis_url, namespace=namespace)
        finally:
            with suppress(Exception):
                asyncio.run(_admin(admin, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            with suppress(Exception):
                gone = asyncio.run(_drop_namespace(redis_url, namespace))
                log(f"scaleout: dropped database {database} and {gone} redis keys")
