"""The DuckDB event store: one file, owned by one process, loaded in Arrow batches.

Every DuckDB call is blocking, so all of them run on worker threads; the event loop never waits
on DuckDB. Appends, export and close run on one writer thread (the connection is used by that
thread only); :meth:`~DuckDBEventStore.query` runs on :data:`READERS` reader threads, each with a
cursor of its own (a connection to the same database: MVCC, they see every committed append; a
query first waits for the appends called before it), so the statements of one review run side by
side and fill the cores DuckDB leaves idle in each statement's serial steps. Extensions are never
downloaded or auto-loaded (json, parquet and icu are built in).

Import (:meth:`~DuckDBEventStore.import_file`): DuckDB reads the export file itself, see
:mod:`~liveloop.adapters.duckdb.importer`.

Bulk loading: a batch becomes one Arrow table (built from column lists, see
:class:`~liveloop.core.eventstore.EventColumns` and :mod:`~liveloop.adapters.duckdb.arrow`) inserted
with one ``INSERT ... SELECT``. Arrow beats a dict of numpy object arrays here (strings are scanned
without touching Python objects) and ``executemany`` is out of the question (a few thousand rows
per second).

Queries: ``at`` is a ``TIMESTAMP`` holding UTC (the session time zone is UTC) and comes back as an
aware UTC datetime. A query that *returns* a ``TIMESTAMPTZ`` value fails: DuckDB needs ``pytz`` to
convert it, which liveloop does not install; cast such results to ``TIMESTAMP`` (UTC) or text.

Idempotency without an index: a unique index on ``id`` makes inserts 5-10x slower, so the insert
anti-joins the batch against the stored rows whose ``at`` lies in the batch's ``at`` range (a
redelivered event has the same ``at``). Rows arrive roughly in time order, so zone maps reduce
that scan to the newest row groups.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from liveloop.adapters.duckdb.arrow import to_arrow
from liveloop.adapters.duckdb.importer import BAD_DATA, import_file
from liveloop.core.events import Event
from liveloop.core.eventstore import (
    EXPORT_COLUMNS,
    STORED_COLUMNS,
    EventColumns,
    EventRejected,
    EventStore,
    EventStoreError,
    EventStoreLocked,
    ExportFormat,
)
from liveloop.core.eventstore_import import ImportResult

__all__ = ["SCHEMA_VERSION", "DuckDBEventStore"]

T = TypeVar("T")

#: 1: the first table; 2: ``quantity`` added (NULL in the rows stored before).
SCHEMA_VERSION = 2
#: Reader threads (and cursors) of :meth:`DuckDBEventStore.query`.
READERS = 3

_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}

_DDL = (
    """
    CREATE TABLE IF NOT EXISTS events (
        id VARCHAR NOT NULL,
        type VARCHAR NOT NULL,
        v INTEGER NOT NULL,
        "at" TIMESTAMP NOT NULL,
        shop_id BIGINT NOT NULL,
        room_id BIGINT,
        show_id BIGINT,
        actor VARCHAR,
        viewer_id VARCHAR GENERATED ALWAYS AS
            (CASE WHEN actor LIKE 'staff:%' THEN NULL ELSE actor END) VIRTUAL,
        product_id BIGINT,
        amount_cents BIGINT,
        data JSON NOT NULL,
        quantity BIGINT
    )
    """,
    "ALTER TABLE events ADD COLUMN IF NOT EXISTS quantity BIGINT",  # a version 1 file
    "CREATE TABLE IF NOT EXISTS event_store_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
)

_STORED = ", ".join(f'"{c}"' for c in STORED_COLUMNS)
_INSERT = (
    f"INSERT INTO events ({_STORED}) SELECT {_STORED} FROM _incoming AS b "  # noqa: S608 - fixed names
    'WHERE NOT EXISTS (SELECT 1 FROM events AS e WHERE e."at" BETWEEN $lo AND $hi AND e.id = b.id)'
)

#: Errors that say the batch itself is bad (retrying it cannot help).
_REJECTIONS: tuple[type[BaseException], ...] = (
    *BAD_DATA,
    pa.ArrowException,
    OverflowError,
    TypeError,
    ValueError,
)


class DuckDBEventStore(EventStore):
    """The event store in one DuckDB file. ``read_only`` opens it for export and queries only."""

    dialect = "duckdb"

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._con: duckdb.DuckDBPyConnection | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._cursors: queue.SimpleQueue[duckdb.DuckDBPyConnection] = queue.SimpleQueue()

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise EventStoreError("the event store is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    @property
    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise EventStoreError("the event store is not open")
        return self._con

    async def open(self) -> None:
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="duckdb-events")
        try:
            await self._run(self._open_sync)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise
        self._readers = ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="duckdb-reader")

    def _open_sync(self) -> None:
        if self.read_only and not self.path.exists():
            raise EventStoreError(f"no event store at {self.path} (nothing was recorded yet)")
        if not self.read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(self.path), read_only=self.read_only, config=_CONFIG)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise EventStoreLocked(
                    f"the event store {self.path} is in use by another process "
                    "(DuckDB allows one process per file)"
                ) from exc
            raise EventStoreError(f"cannot open the event store {self.path}: {exc}") from exc
        try:
            con.execute("SET TimeZone = 'UTC'").fetchall()
            if not self.read_only:
                for statement in _DDL:
                    con.execute(statement).fetchall()
                con.execute(
                    "INSERT INTO event_store_meta VALUES ('schema_version', $v) ON CONFLICT DO NOTHING",
                    {"v": str(SCHEMA_VERSION)},
                ).fetchall()
                con.execute(  # the DDL above upgraded an older file
                    "UPDATE event_store_meta SET value = $v "
                    "WHERE key = 'schema_version' AND CAST(value AS INTEGER) < $n",
                    {"v": str(SCHEMA_VERSION), "n": SCHEMA_VERSION},
                ).fetchall()
            rows = con.execute("SELECT value FROM event_store_meta WHERE key = 'schema_version'").fetchall()
            if not rows or int(rows[0][0]) > SCHEMA_VERSION:
                raise EventStoreError(f"the event store {self.path} has an unknown schema version {rows}")
            old = int(rows[0][0]) < 2
            for _ in range(READERS):
                self._cursors.put(_reader(con, old=old))
        except BaseException:
            while not self._cursors.empty():
                self._cursors.get().close()
            con.close()
            raise
        self._con = con

    async def append(self, events: Sequence[Event]) -> None:
        if events:
            await self._run(self._append_sync, events)

    def _append_sync(self, events: Sequence[Event]) -> None:
        con = self._connection
        table, params = _encode(events)
        con.register("_incoming", table)
        try:
            con.execute(_INSERT, params).fetchall()
        except _REJECTIONS as exc:
            raise EventRejected(f"events rejected by the store: {exc}") from exc
        except duckdb.Error as exc:
            raise EventStoreError(f"append failed: {exc}") from exc
        finally:
            con.unregister("_incoming")

    async def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self._readers is None:
            raise EventStoreError("the event store is not open")
        # Read your writes: the appends called before this query are committed when the writer
        # thread (first in, first out) reaches this no-op.
        await self._run(_nothing)
        return await asyncio.get_running_loop().run_in_executor(
            self._readers, self._query_sync, sql, list(params)
        )

    def _query_sync(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        con = self._cursors.get()  # one per reader thread: never waits
        try:
            con.execute("BEGIN TRANSACTION").fetchall()
            try:
                rows = con.execute(sql, params).fetchall()
            except duckdb.Error as exc:
                raise EventStoreError(f"query failed: {exc}") from exc
            finally:
                with contextlib.suppress(duckdb.Error):  # the statement may have ended the transaction
                    con.execute("ROLLBACK").fetchall()
        finally:
            self._cursors.put(con)
        return [tuple(_utc(value) for value in row) for row in rows]

    async def export(self, *, show_id: int, path: Path, fmt: ExportFormat) -> int:
        return await self._run(self._export_sync, int(show_id), Path(path), fmt)

    def _export_sync(self, show_id: int, path: Path, fmt: ExportFormat) -> int:
        if fmt == "parquet":
            at, options = '"at"::TIMESTAMPTZ AS "at"', "FORMAT parquet"
        elif fmt == "csv":
            at, options = """strftime("at", '%Y-%m-%dT%H:%M:%S.%fZ') AS "at\"""", "FORMAT csv, HEADER true"
        else:
            raise ValueError(f"unknown export format {fmt!r}")
        columns = ", ".join(at if c == "at" else f'"{c}"' for c in EXPORT_COLUMNS)
        partial = path.with_name(path.name + ".part")
        target = str(partial).replace("'", "''")
        select = f'SELECT {columns} FROM events WHERE show_id = {show_id} ORDER BY "at", id'  # noqa: S608 - int
        try:
            rows = self._connection.execute(f"COPY ({select}) TO '{target}' ({options})").fetchall()
        except duckdb.Error as exc:
            partial.unlink(missing_ok=True)
            raise EventStoreError(f"export failed: {exc}") from exc
        os.replace(partial, path)
        return int(rows[0][0]) if rows else 0

    async def import_file(
        self, path: Path, *, fmt: ExportFormat, versions: Mapping[str, int] | None = None
    ) -> ImportResult:
        # On the writer thread: queued behind the appends called before, atomic like them.
        return await self._run(self._import_sync, Path(path), fmt, versions)

    def _import_sync(self, path: Path, fmt: ExportFormat, versions: Mapping[str, int] | None) -> ImportResult:
        return import_file(self._connection, path, fmt, versions)

    async def close(self) -> None:
        if self._executor is None:
            return
        try:
            await self._run(self._close_sync)
        finally:
            self._executor.shutdown(wait=False)
            self._executor = None

    def _close_sync(self) -> None:
        if self._readers is not None:
            self._readers.shutdown(wait=True)  # let running queries finish with their cursors
            self._readers = None
        while not self._cursors.empty():
            self._cursors.get().close()
        if self._con is not None:
            self._con.close()
            self._con = None


def _encode(events: Sequence[Event]) -> tuple[pa.Table, dict[str, datetime]]:
    """The batch as an Arrow table, and the ``at`` range its insert looks for stored duplicates in."""
    try:
        table = to_arrow(EventColumns.from_events(events))
        bounds = pc.min_max(table["at"])
        return table, {"lo": bounds["min"].as_py(), "hi": bounds["max"].as_py()}
    except _REJECTIONS as exc:
        raise EventRejected(f"events could not be encoded: {exc}") from exc


def _nothing() -> None:
    return None


def _reader(con: duckdb.DuckDBPyConnection, *, old: bool) -> duckdb.DuckDBPyConnection:
    """A cursor for the reader threads, with the session settings of ``con``. ``old``: a version 1
    file opened read only (so not upgraded): ``events`` is then a temporary view of the table with
    a NULL ``quantity``, so the queries of version 2 run on it (and read ``data`` instead)."""
    cursor = con.cursor()
    try:
        cursor.execute("SET TimeZone = 'UTC'").fetchall()
        if old:
            (catalog,) = cursor.execute("SELECT current_database()").fetchone() or ("",)
            table = '"' + str(catalog).replace('"', '""') + '".main.events'
            cursor.execute(
                f"CREATE TEMP VIEW events AS SELECT *, CAST(NULL AS BIGINT) AS quantity FROM {table}"  # noqa: S608
            ).fetchall()
    except BaseException:
        cursor.close()
        raise
    return cursor


def _utc(value: Any) -> Any:
    if type(value) is datetime and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
