"""``Database.transaction`` on a SQLite file: async write transactions take turns in the process.

SQLite lets one connection write at a time; the others wait in its busy handler. These tests give
the connections no busy timeout at all, so a second writer that reaches SQLite while the first holds
the lock fails at once with "database is locked": only the turns keep them apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from liveloop.core.db import Database, create_engine

pytestmark = pytest.mark.anyio

WRITERS = 12


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _impatient(db: Database) -> None:
    """No busy timeout on this database's pooled connections: a locked file fails at once."""

    @event.listens_for(db.engine.sync_engine, "connect")
    def _no_wait(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout=0")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}"))
    _impatient(database)
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
        await session.execute(text("INSERT INTO counter VALUES (1, 0)"))
    try:
        yield database
    finally:
        await database.dispose()


async def _bump(db: Database, *, savepoints: bool = False) -> None:
    scope = db.savepoint_transaction() if savepoints else db.transaction()
    async with scope as session:
        await session.execute(text("UPDATE counter SET n = n + 1 WHERE id = 1"))
        await asyncio.sleep(0.002)  # hold the write lock across turns of the loop


async def _count(db: Database) -> int:
    async with db.read() as session:
        return int((await session.execute(text("SELECT n FROM counter"))).scalar_one())


@pytest.mark.parametrize("savepoints", [False, True])
async def test_concurrent_writers_take_turns_instead_of_failing(db: Database, savepoints: bool) -> None:
    await asyncio.gather(*(_bump(db, savepoints=savepoints) for _ in range(WRITERS)))
    assert await _count(db) == WRITERS


async def test_without_turns_the_same_writers_collide(tmp_path: Path) -> None:
    """The control: two pooled connections writing at once, no turns, fail as the tests above would."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'control.db'}")
    database = Database(engine)
    _impatient(database)
    try:
        async with database.sessions() as session, session.begin():
            await session.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
            await session.execute(text("INSERT INTO counter VALUES (1, 0)"))

        async def bump_unguarded() -> None:
            async with database.sessions() as session, session.begin():
                await session.execute(text("UPDATE counter SET n = n + 1 WHERE id = 1"))
                await asyncio.sleep(0.002)

        # Every writer finishes (or fails) before the pool is disposed: none is left holding a connection.
        outcomes = await asyncio.gather(*(bump_unguarded() for _ in range(WRITERS)), return_exceptions=True)
        failed = [o for o in outcomes if isinstance(o, BaseException)]
        assert failed, "the control should collide without the turns"
        assert all(isinstance(o, OperationalError) and "database is locked" in str(o) for o in failed), failed
    finally:
        await database.dispose()


async def test_a_transaction_inside_another_of_the_same_task_does_not_wait_for_itself(db: Database) -> None:
    async def nested() -> None:
        async with db.transaction() as outer:
            await outer.execute(text("SELECT n FROM counter"))  # reads only: no write lock yet
            async with db.transaction() as inner:
                await inner.execute(text("UPDATE counter SET n = n + 1 WHERE id = 1"))

    await asyncio.wait_for(nested(), timeout=10)
    assert await _count(db) == 1


def test_one_database_serves_successive_event_loops(tmp_path: Path) -> None:
    """The turns belong to the loop that runs: a database used again from a new loop still works."""
    database = Database(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'loops.db'}"))

    async def setup() -> None:
        async with database.transaction() as session:
            await session.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
            await session.execute(text("INSERT INTO counter VALUES (1, 0)"))
        await database.engine.dispose()

    async def round_of_writers() -> int:
        await asyncio.gather(*(_bump(database) for _ in range(3)))
        count = await _count(database)
        await database.engine.dispose()  # its connections belong to this loop
        return count

    asyncio.run(setup())
    assert asyncio.run(round_of_writers()) == 3
    assert asyncio.run(round_of_writers()) == 6


async def test_a_writer_that_never_gets_its_turn_fails_instead_of_hanging(db: Database) -> None:
    """A task waiting, inside its own transaction, for another task's transaction: a deadlock the
    turns would make; it ends in TimeoutError after ``turn_timeout``, and the turns still work."""
    db.turn_timeout = 0.2

    async def outer() -> None:
        async with db.transaction() as session:
            await session.execute(text("SELECT n FROM counter"))
            await asyncio.create_task(_bump(db))  # another task: it waits for this one's turn

    with pytest.raises(TimeoutError, match="for a turn to write"):
        await asyncio.wait_for(outer(), timeout=10)
    await _bump(db)
    assert await _count(db) == 1
