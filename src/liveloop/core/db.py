"""SQL store plumbing: the declarative base, the engine factory and the session scope.

Engines are created by :func:`create_engine` (called from ``bootstrap``), never at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

from liveloop.core.sqlite_writer import SqliteWriter

T = TypeVar("T")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: BIGINT on PostgreSQL, INTEGER (the rowid alias, so autoincrement works) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


#: A pooled server connection unused for longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 10.0
#: Server connections are replaced after this long (before proxies or servers drop idle ones).
POOL_RECYCLE_SECONDS = 1800


def create_engine(
    url: str, *, echo: bool = False, idle_ping_seconds: float = IDLE_PING_SECONDS
) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, a busy timeout and foreign keys.

    A server database (PostgreSQL) pings a pooled connection on checkout only when it sat idle for
    more than ``idle_ping_seconds``, not on every checkout (``pool_pre_ping``): with asyncpg that
    ping is three round trips (BEGIN, ``;``, ROLLBACK), measured +140 us wall and +70 us CPU per
    session on an idle machine, paid by every request of a busy server whose connections were in
    use a moment ago. A failed ping replaces the whole pool (a server restart drops every
    connection). The price: a connection dropped while recently used (a server restart in the
    middle of traffic) fails the statements that find it, once; SQLAlchemy then invalidates the
    pool and the next checkouts connect afresh.
    """
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_recycle"] = POOL_RECYCLE_SECONDS
    engine = create_async_engine(url, **kwargs)
    if not url.startswith("sqlite"):
        _ping_when_idle(engine, idle_ping_seconds)
    if url.startswith("sqlite"):

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            sqlite_pragmas(dbapi_conn)

    return engine


def sqlite_pragmas(dbapi_conn: Any) -> None:
    """WAL, a busy timeout, foreign keys and ``synchronous=NORMAL`` on a new SQLite connection."""
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    dialect = engine.sync_engine.dialect

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["liveloop_idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("liveloop_idle_since", None)
        if since is None or time.monotonic() - since <= idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except Exception as exc:  # any failure: do not use this connection
            raise InvalidatePoolError("pooled connection failed its idle ping") from exc


#: See ``Database.turn_timeout``.
TURN_TIMEOUT_SECONDS = 35.0


class Database:
    """The SQL store: one engine and its session factory.

    On the embedded SQLite file, the async engine's write transactions (:meth:`transaction`,
    :meth:`savepoint_transaction`) take turns inside the process: each waits for an asyncio lock
    before it opens. SQLite has one write lock per file; without the turns, every pooled connection
    that wants it retries in SQLite's busy handler, which sleeps 1, 2, 5 ... up to 100 ms between
    tries. Measured with 1,000 orders paid at once by the simulated provider: 78-118 ms per
    ``UPDATE orders`` on average, waiting (1.2 ms with the turns), and twice the CPU per order.
    The turns are per task re-entrant (a transaction opened inside another of the same task does not
    wait for itself); a turn waited for longer than ``turn_timeout`` raises ``TimeoutError`` (a
    task that waits on another task's transaction from inside its own fails instead of hanging).
    The writer thread of :meth:`run_write` is the only other writer of the file.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._sqlite_writer: SqliteWriter | None = None
        self._sqlite_reader: SqliteWriter | None = None
        database = engine.url.database
        self._sqlite_file = engine.dialect.name == "sqlite" and bool(database) and database != ":memory:"
        #: The turns of async write transactions: the loop and lock, and the task holding it.
        self._turn: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        self._turn_owner: asyncio.Task[Any] | None = None
        #: The longest a write transaction waits for its turn (then TimeoutError): what a writer
        #: waited at most before the turns (the pool's 30 s, then SQLite's 5 s busy timeout).
        self.turn_timeout = TURN_TIMEOUT_SECONDS

    @asynccontextmanager
    async def _write_turn(self) -> AsyncIterator[None]:
        """This task's turn to write through the async engine (SQLite file only; see the class doc)."""
        task = asyncio.current_task()
        if not self._sqlite_file or task is None or task is self._turn_owner:
            yield
            return
        loop = asyncio.get_running_loop()
        if self._turn is None or self._turn[0] is not loop:
            self._turn = (loop, asyncio.Lock())
        lock = self._turn[1]
        try:
            async with asyncio.timeout(self.turn_timeout):
                await lock.acquire()
        except TimeoutError:
            raise TimeoutError(
                f"waited {self.turn_timeout:g} s for a turn to write to the SQLite file"
            ) from None
        self._turn_owner = task
        try:
            yield
        finally:
            self._turn_owner = None
            lock.release()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: commits on success, rolls back on error."""
        async with self._write_turn(), self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def savepoint_transaction(self) -> AsyncIterator[AsyncSession]:
        """:meth:`transaction`, in which ``session.begin_nested()`` is a real SAVEPOINT on every backend.

        On SQLite the stdlib driver's own transaction handling makes a released SAVEPOINT commit
        (it opens no transaction before it), so here the driver is put in autocommit mode and the
        transaction is ours: ``BEGIN IMMEDIATE`` (the write lock, taken at once) ... ``COMMIT``. The
        connection's isolation level is restored when it goes back to the pool.
        """
        if self.engine.dialect.name != "sqlite":
            async with self.transaction() as session:
                yield session
            return
        async with self._write_turn(), self.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
            session = AsyncSession(bind=conn, expire_on_commit=False)
            try:
                yield session
                await session.flush()
                await conn.exec_driver_sql("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):  # a lost connection has no transaction left
                    await conn.exec_driver_sql("ROLLBACK")
                raise
            finally:
                await session.close()

    async def run_write(self, fn: Callable[[Session], T]) -> T:
        """``fn(session)`` (synchronous SQLAlchemy) in one write transaction, committed on return.

        On SQLite it runs as one hand-off to a writer thread with its own connection
        (:mod:`liveloop.core.sqlite_writer`): the write lock is held for SQLite's own work, however
        busy the event loop is. Elsewhere it runs on the async engine (``AsyncSession.run_sync``).
        Either way ``session.begin_nested()`` is a real SAVEPOINT.
        """
        if not self._sqlite_file:
            async with self.savepoint_transaction() as session:  # (a memory database: this connection)
                return await session.run_sync(fn)
        if self._sqlite_writer is None:
            self._sqlite_writer = SqliteWriter(self._sqlite_url(), on_connect=sqlite_pragmas)
        return await self._sqlite_writer.run(fn)

    async def run_read(self, fn: Callable[[Session], T]) -> T:
        """``fn(session)`` (synchronous SQLAlchemy, reads only) on one snapshot of the store.

        For the reads of a path that must stay fast while a crowd saturates the event loop. On
        SQLite it runs as one hand-off to a reader thread with its own connection (not the async
        pool, which the crowd's other requests hold; :mod:`liveloop.core.sqlite_writer`); a write
        in ``fn`` fails there. Elsewhere it runs on the async engine (``AsyncSession.run_sync``).
        Loaded objects stay usable after it returns (``expire_on_commit=False``).
        """
        if not self._sqlite_file:
            async with self.read() as session:
                return await session.run_sync(fn)
        if self._sqlite_reader is None:
            self._sqlite_reader = SqliteWriter(self._sqlite_url(), on_connect=sqlite_pragmas, read_only=True)
        return await self._sqlite_reader.run(fn)

    def _sqlite_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=False)

    async def dispose(self) -> None:
        threads = (self._sqlite_writer, self._sqlite_reader)
        self._sqlite_writer = self._sqlite_reader = None
        for thread in threads:
            if thread is not None:
                await asyncio.get_running_loop().run_in_executor(None, thread.close)
        await self.engine.dispose()
