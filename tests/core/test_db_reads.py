"""``Database.run_read``: one snapshot read; on SQLite on a thread of its own, not the async pool."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import Session

from liveloop.core.db import Database, create_engine
from tests.backends import PG_ENV, backend_url

pytestmark = pytest.mark.anyio

POOL = 3


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'reads.db'}"
    db = Database(create_async_engine(url, pool_size=POOL, max_overflow=0))
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
    try:
        yield db
    finally:
        await db.dispose()


def _values(session: Session) -> list[str]:
    return list(session.scalars(text("SELECT v FROM t ORDER BY id")))


async def test_a_sqlite_read_does_not_wait_for_the_async_pool(sqlite_db: Database) -> None:
    """The flash-sale crowd holds every pooled connection; a read on the reader thread still answers."""
    async with sqlite_db.transaction() as session:
        await session.execute(text("INSERT INTO t (v) VALUES ('a')"))
    async with AsyncExitStack() as held:
        for _ in range(POOL):
            await held.enter_async_context(sqlite_db.engine.connect())
        with pytest.raises(TimeoutError):  # the pool is truly exhausted
            await asyncio.wait_for(_read_through_the_pool(sqlite_db), 0.5)
        assert await asyncio.wait_for(sqlite_db.run_read(_values), 5) == ["a"]


async def _read_through_the_pool(db: Database) -> list[str]:
    async with db.read() as session:
        return list(await session.scalars(text("SELECT v FROM t")))


async def test_a_sqlite_read_sees_what_committed_and_cannot_write(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as session:
        await session.execute(text("INSERT INTO t (v) VALUES ('a')"))
    assert await sqlite_db.run_read(_values) == ["a"]
    await sqlite_db.run_write(lambda session: session.execute(text("INSERT INTO t (v) VALUES ('b')")))
    assert await sqlite_db.run_read(_values) == ["a", "b"]  # the writer thread's commit is seen

    def write(session: Session) -> None:
        session.execute(text("INSERT INTO t (v) VALUES ('c')"))

    with pytest.raises(OperationalError, match="readonly"):
        await sqlite_db.run_read(write)
    assert await sqlite_db.run_read(_values) == ["a", "b"]


@pytest.mark.postgres
async def test_a_postgres_read_runs_on_the_async_engine() -> None:
    db = Database(create_engine(backend_url(PG_ENV)))
    try:
        assert await db.run_read(lambda session: session.scalar(text("SELECT 41 + 1"))) == 42
    finally:
        await db.dispose()
