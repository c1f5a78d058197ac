"""The PostgreSQL event store: a table partitioned by month of ``at``, loaded with COPY.

The adapter owns its DDL and creates it idempotently on :meth:`open`, in its own schema
(``liveloop_events`` by default), rather than in an Alembic migration: the table exists only when
PostgreSQL is the event store (SQLite deployments use DuckDB, so the SQL store's migrations
would have to special-case it), it may live in another database than the SQL store, and its
monthly partitions are created on demand at append time anyway, which a migration cannot do.
A ``schema_version`` table records the DDL version for later changes.

Imports (:meth:`~PostgresEventStore.import_file`, :mod:`~liveloop.adapters.sql.eventimport`) COPY the
file as CSV (a CSV file as it is, Parquet converted batch by batch by Arrow) into a staging table,
check it there, then insert it the same way, in one transaction.

Appends COPY the batch (binary, through the raw asyncpg connection) into a temporary staging
table, then ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` into ``events``, in one transaction.
The primary key is ``(id, at)``: on a partitioned table a unique key must contain the
partition key, and a redelivered event has the same ``at``, so this is exact idempotency.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from liveloop.adapters.sql.eventimport import describe, import_source, open_source
from liveloop.core.events import Event
from liveloop.core.eventstore import (
    EXPORT_COLUMNS,
    STORED_COLUMNS,
    EventColumns,
    EventRejected,
    EventStore,
    EventStoreError,
    ExportFormat,
)
from liveloop.core.eventstore_import import ImportResult

__all__ = ["SCHEMA_VERSION", "PostgresEventStore"]

#: 1: the first table; 2: ``quantity`` added (NULL in the rows stored before).
SCHEMA_VERSION = 2
_IDENT = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_STAGE = "liveloop_events_stage"
_STORED = ", ".join(f'"{c}"' for c in STORED_COLUMNS)
_EXPORT_CHUNK = 50_000

_PARQUET_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("type", pa.string()),
        ("v", pa.int32()),
        ("at", pa.timestamp("us", tz="UTC")),
        ("shop_id", pa.int64()),
        ("room_id", pa.int64()),
        ("show_id", pa.int64()),
        ("actor", pa.string()),
        ("viewer_id", pa.string()),
        ("product_id", pa.int64()),
        ("amount_cents", pa.int64()),
        ("data", pa.string()),
    ]
)


def _ddl(schema: str) -> list[str]:
    return [
        f"CREATE SCHEMA IF NOT EXISTS {schema}",
        f"CREATE TABLE IF NOT EXISTS {schema}.schema_version (version integer NOT NULL)",
        f"""
        CREATE TABLE IF NOT EXISTS {schema}.events (
            id text NOT NULL,
            type text NOT NULL,
            v integer NOT NULL,
            "at" timestamptz NOT NULL,
            shop_id bigint NOT NULL,
            room_id bigint,
            show_id bigint,
            actor text,
            viewer_id text GENERATED ALWAYS AS
                (CASE WHEN actor LIKE 'staff:%' THEN NULL ELSE actor END) STORED,
            product_id bigint,
            amount_cents bigint,
            data jsonb NOT NULL,
            quantity bigint,
            PRIMARY KEY (id, "at")
        ) PARTITION BY RANGE ("at")
        """,
        f'CREATE INDEX IF NOT EXISTS events_show_type_at ON {schema}.events (show_id, type, "at")',
        f'CREATE INDEX IF NOT EXISTS events_shop_at ON {schema}.events (shop_id, "at")',
    ]


class PostgresEventStore(EventStore):
    """The event store in PostgreSQL; ``url`` is a SQLAlchemy asyncpg URL."""

    dialect = "postgresql"

    def __init__(self, url: str, *, schema: str = "liveloop_events") -> None:
        if not _IDENT.fullmatch(schema):
            raise ValueError(f"invalid schema name {schema!r}")
        self.url = url
        self.schema = schema
        self._engine: AsyncEngine | None = None
        self._months: set[tuple[int, int]] = set()

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[asyncpg.Connection]:
        if self._engine is None:
            raise EventStoreError("the event store is not open")
        try:
            conn = await self._engine.connect()
        except (OSError, DBAPIError) as exc:
            raise EventStoreError(f"the event store is not reachable: {exc}") from exc
        try:
            raw = await conn.get_raw_connection()
            driver: asyncpg.Connection = raw.driver_connection
            yield driver
        finally:
            await conn.close()

    async def open(self) -> None:
        if self._engine is not None:
            return
        self._engine = create_async_engine(self.url, pool_size=2, max_overflow=4, pool_pre_ping=True)
        try:
            async with self._conn() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", self.schema)
                for statement in _ddl(self.schema):
                    await conn.execute(statement)
                version = await conn.fetchval(
                    f"SELECT max(version) FROM {self.schema}.schema_version"  # noqa: S608 - checked identifier
                )
                if version is not None and version > SCHEMA_VERSION:
                    raise EventStoreError(f"the event store has an unknown schema version {version}")
                if version is not None and version < 2:  # a version 1 table: no quantity yet
                    await conn.execute(
                        f"ALTER TABLE {self.schema}.events ADD COLUMN IF NOT EXISTS quantity bigint"
                    )
                if version is None or version < SCHEMA_VERSION:
                    await conn.execute(
                        f"INSERT INTO {self.schema}.schema_version VALUES ($1)",  # noqa: S608 - checked identifier
                        SCHEMA_VERSION,
                    )
        except BaseException:
            await self.close()
            raise

    async def append(self, events: Sequence[Event]) -> None:
        if not events:
            return
        columns = EventColumns.from_events(events)
        try:
            records = columns.rows()
        except TypeError as exc:  # orjson.JSONEncodeError: a payload JSON cannot hold
            raise EventRejected(f"events could not be encoded: {exc}") from exc
        months = _months(columns.at)
        try:
            async with self._conn() as conn:
                if not months <= self._months:
                    await self._create_partitions(conn, months - self._months)
                async with conn.transaction():
                    await conn.execute(
                        f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} ("
                        'id text, type text, v integer, "at" timestamptz, shop_id bigint, room_id bigint, '
                        "show_id bigint, actor text, product_id bigint, amount_cents bigint, data jsonb, "
                        "quantity bigint) ON COMMIT DELETE ROWS"
                    )
                    await conn.copy_records_to_table(_STAGE, records=records, columns=STORED_COLUMNS)
                    await conn.execute(
                        f"INSERT INTO {self.schema}.events ({_STORED}) SELECT {_STORED} FROM {_STAGE} "  # noqa: S608
                        "ON CONFLICT DO NOTHING"
                    )
        except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError, OverflowError) as exc:
            raise EventRejected(f"events rejected by the store: {exc}") from exc
        except asyncpg.PostgresError as exc:
            raise EventStoreError(f"append failed: {exc}") from exc

    async def _create_partitions(self, conn: asyncpg.Connection, months: Iterable[tuple[int, int]]) -> None:
        async with conn.transaction():
            # Nodes appending at once would race on CREATE TABLE IF NOT EXISTS; serialise them.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", self.schema)
            for year, month in sorted(months):
                start = datetime(year, month, 1, tzinfo=UTC)
                end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
                await conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {self.schema}.events_{year:04d}{month:02d} "
                    f"PARTITION OF {self.schema}.events "
                    f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
                )
        self._months.update(months)

    async def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            async with self._conn() as conn:
                tx = conn.transaction(readonly=True)
                await tx.start()
                try:
                    await conn.execute(f"SET LOCAL search_path TO {self.schema}; SET LOCAL TIME ZONE 'UTC'")
                    rows = await conn.fetch(sql, *params)
                finally:
                    await tx.rollback()
        except asyncpg.PostgresError as exc:
            raise EventStoreError(f"query failed: {exc}") from exc
        return [tuple(row) for row in rows]

    async def export(self, *, show_id: int, path: Path, fmt: ExportFormat) -> int:
        path = Path(path)
        partial = path.with_name(path.name + ".part")
        try:
            if fmt == "csv":
                count = await self._export_csv(int(show_id), partial)
            elif fmt == "parquet":
                count = await self._export_parquet(int(show_id), partial)
            else:
                raise ValueError(f"unknown export format {fmt!r}")
        except asyncpg.PostgresError as exc:
            partial.unlink(missing_ok=True)
            raise EventStoreError(f"export failed: {exc}") from exc
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(path)
        return count

    def _select(self, show_id: int, at: str) -> str:
        columns = ", ".join(
            at if c == "at" else "data::text AS data" if c == "data" else f'"{c}"' for c in EXPORT_COLUMNS
        )
        where = f'WHERE show_id = {show_id} ORDER BY "at", id'
        return f"SELECT {columns} FROM {self.schema}.events {where}"  # noqa: S608 - checked identifier, an int

    async def _export_csv(self, show_id: int, path: Path) -> int:
        at = """to_char("at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "at\""""
        async with self._conn() as conn:
            status = await conn.copy_from_query(
                self._select(show_id, at), output=str(path), format="csv", header=True
            )
        return int(status.split()[-1])

    async def _export_parquet(self, show_id: int, path: Path) -> int:
        count = 0
        async with self._conn() as conn, conn.transaction(readonly=True):
            cursor = await conn.cursor(self._select(show_id, '"at"'))
            with pq.ParquetWriter(str(path), _PARQUET_SCHEMA) as writer:
                while rows := await cursor.fetch(_EXPORT_CHUNK):
                    await asyncio.to_thread(_write_rows, writer, rows)  # keep the event loop free
                    count += len(rows)
                if count == 0:
                    writer.write_table(_PARQUET_SCHEMA.empty_table())
        return count

    async def import_file(
        self, path: Path, *, fmt: ExportFormat, versions: Mapping[str, int] | None = None
    ) -> ImportResult:
        source = await open_source(Path(path), fmt)
        try:
            async with self._conn() as conn, conn.transaction():
                return await import_source(conn, source, schema=self.schema, versions=versions)
        except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as exc:
            raise EventRejected(f"{source.path.name} rejected: {describe(exc)}") from exc
        except asyncpg.PostgresError as exc:
            raise EventStoreError(f"import of {source.path.name} failed: {describe(exc)}") from exc

    async def close(self) -> None:
        if self._engine is not None:
            engine, self._engine = self._engine, None
            await engine.dispose()


def _write_rows(writer: pq.ParquetWriter, rows: list[Any]) -> None:
    columns = list(zip(*rows, strict=True))
    arrays = [pa.array(column, field.type) for column, field in zip(columns, _PARQUET_SCHEMA, strict=True)]
    writer.write_table(pa.Table.from_arrays(arrays, schema=_PARQUET_SCHEMA))


def _months(at: list[datetime]) -> set[tuple[int, int]]:
    """The (year, month) pairs, in UTC, that the batch's timestamps fall in (naive = UTC)."""
    try:
        lo, hi = min(at), max(at)
    except TypeError:  # naive and aware mixed: compare them all in UTC
        at = [_as_utc(a) for a in at]
        lo, hi = min(at), max(at)
    lo, hi = _as_utc(lo), _as_utc(hi)
    if (hi.year - lo.year) * 12 + hi.month - lo.month <= 1:
        return {(lo.year, lo.month), (hi.year, hi.month)}
    return {(u.year, u.month) for u in map(_as_utc, at)}


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
