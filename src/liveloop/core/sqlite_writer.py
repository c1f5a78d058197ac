"""One SQLite connection in a thread of its own, for transactions that must be short.

Through aiosqlite every statement is several hand-offs between the event loop and the driver's
thread, each waiting for a turn of the loop. When the loop is busy (a crowd: hundreds of requests
per turn) a statement takes 50-300 ms there (measured), and SQLite's single write lock is held from
a transaction's first write to its COMMIT across all of them: other writers wait for it, past
their busy timeout. :class:`SqliteWriter` runs a whole transaction as ONE hand-off: a synchronous
function over a synchronous SQLAlchemy session, on a dedicated thread and connection, so the write
lock is held only as long as SQLite itself works.

The connection runs in the stdlib driver's autocommit mode and each transaction is ours (``BEGIN
IMMEDIATE`` ... ``COMMIT``), so ``session.begin_nested()`` makes real SAVEPOINTs.

The same holds for reads the crowd's path needs (``read_only=True``: ``BEGIN`` deferred, one WAL
snapshot, ``PRAGMA query_only``): through the async pool each statement waits for several turns of
the busy loop, and for a pooled connection behind every other request doing the same (measured
under the flash-sale crowd: 15 connections checked out for seconds, one indexed lookup 1-8 s); on
its own thread a read is one hand-off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

__all__ = ["SqliteWriter"]

T = TypeVar("T")


class SqliteWriter:
    """Runs ``fn(session)`` in one transaction on the writer thread (see the module docstring);
    with ``read_only`` a reader's: no write lock, and a write fails."""

    def __init__(self, async_url: str, *, on_connect: Callable[[Any], None], read_only: bool = False) -> None:
        url = make_url(async_url).set(drivername="sqlite+pysqlite")
        self._engine: Engine = create_engine(url, poolclass=StaticPool, connect_args={"timeout": 30})
        name = "sqlite-reader" if read_only else "sqlite-writer"
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"  # a reader's snapshot; the write lock at once

        @event.listens_for(self._engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            on_connect(dbapi_conn)
            dbapi_conn.isolation_level = None  # the driver opens no transaction of its own
            if read_only:
                dbapi_conn.execute("PRAGMA query_only=ON")

        @event.listens_for(self._engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql(begin)

    async def run(self, fn: Callable[[Session], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._transaction, fn)

    def _transaction(self, fn: Callable[[Session], T]) -> T:
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            return fn(session)

    def close(self) -> None:
        """Close the connection (on its own thread, as the driver requires) and stop the thread."""
        self._executor.submit(self._engine.dispose).result()
        self._executor.shutdown(wait=True)
