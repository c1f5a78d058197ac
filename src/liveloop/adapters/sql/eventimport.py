"""Import of an export file into the PostgreSQL event store: COPY into a staging table, check, insert.

The file reaches the server as CSV through ``COPY ... FROM STDIN`` (asyncpg ``copy_to_table``): a
CSV export as it is, a Parquet file converted by Arrow batch by batch (C++, no Python rows), so a
show of millions of events is never in memory at once. The staging table is typed like the export,
so a value of the wrong type fails the COPY with the column's name. Then, in the same transaction:
the per-type summary (:class:`~liveloop.core.eventstore_import.TypeSummary`) is checked, the months'
partitions are created, and ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` stores what is new
(the key is ``(id, "at")``, as for appends). ``quantity`` is computed from ``data`` with
:meth:`EventColumns.from_events`'s rule, on the ``json`` text (not ``jsonb``, which would rewrite
``1e3`` as ``1000``), so a value Python would read as a float is not taken as an integer.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from liveloop.core.eventstore import STORED_COLUMNS, EventRejected, EventStoreError, ExportFormat
from liveloop.core.eventstore_import import (
    ColumnKind,
    ImportResult,
    TypeSummary,
    check_columns,
    check_events,
    csv_header,
    month_starts,
)

__all__ = ["Source", "describe", "import_source", "open_source"]

_STAGE = "liveloop_events_import"
_BATCH = 100_000
_STORED = ", ".join(f'"{c}"' for c in STORED_COLUMNS)
_INTEGER = "'^-?[0-9]+$'"
_QUANTITY = (
    "CASE WHEN j -> 'quantity' IS NOT NULL "
    f"THEN CASE WHEN json_typeof(j -> 'quantity') = 'number' AND j ->> 'quantity' ~ {_INTEGER} "
    "THEN (j ->> 'quantity')::bigint END "
    f"ELSE CASE WHEN json_typeof(j -> 'count') = 'number' AND j ->> 'count' ~ {_INTEGER} "
    "THEN (j ->> 'count')::bigint END END"
)


@dataclass(frozen=True, slots=True)
class Source:
    """A checked file: its columns in file order and how to COPY it."""

    path: Path
    columns: list[str]
    parquet: pq.ParquetFile | None


async def open_source(path: Path, fmt: ExportFormat) -> Source:
    """Open ``path`` and check its columns (raises :class:`EventRejected`)."""
    if not await asyncio.to_thread(path.is_file):
        raise EventStoreError(f"no file at {path}")
    if fmt == "csv":
        columns = await asyncio.to_thread(csv_header, path)
        check_columns([(name, None) for name in columns], path=path)
        return Source(path, columns, None)
    if fmt != "parquet":
        raise ValueError(f"unknown import format {fmt!r}")
    try:
        parquet = await asyncio.to_thread(pq.ParquetFile, str(path))
    except (pa.ArrowException, OSError) as exc:
        raise EventRejected(f"{path.name} is not a Parquet file: {exc}") from exc
    schema = parquet.schema_arrow
    check_columns([(field.name, _kind(field.type)) for field in schema], path=path)
    return Source(path, list(schema.names), parquet)


async def import_source(
    conn: asyncpg.Connection, source: Source, *, schema: str, versions: Mapping[str, int] | None
) -> ImportResult:
    """Stage, check and insert ``source``; the caller holds a transaction on ``conn``."""
    await conn.execute(
        f"SET LOCAL TIME ZONE 'UTC'; CREATE TEMP TABLE {_STAGE} ("
        'id text, type text, v integer, "at" timestamptz, shop_id bigint, room_id bigint, '
        "show_id bigint, actor text, viewer_id text, product_id bigint, amount_cents bigint, data text"
        ") ON COMMIT DROP"
    )
    if source.parquet is None:
        await conn.copy_to_table(
            _STAGE, source=str(source.path), columns=source.columns, format="csv", header=True
        )
    else:
        await conn.copy_to_table(
            _STAGE, source=_csv_batches(source.parquet), columns=source.columns, format="csv"
        )
    summaries = [
        TypeSummary(*row)
        for row in await conn.fetch(
            "SELECT type, min(v), max(v), count(*), "  # noqa: S608 - fixed names
            "count(*) FILTER (WHERE data IS NULL OR json_typeof(data::json) <> 'object'), "
            f'min("at"), max("at") FROM {_STAGE} GROUP BY type'
        )
    ]
    read = check_events(summaries, versions=versions)
    firsts = [s.first_at for s in summaries if s.first_at is not None]
    lasts = [s.last_at for s in summaries if s.last_at is not None]
    if not firsts:
        return ImportResult(read=read, inserted=0)  # no rows (a NULL "at" fails the insert below)
    # The partitions commit with the import (a lock for creating them, as appends take it).
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", schema)
    for year, month in month_starts(min(firsts).astimezone(UTC), max(lasts).astimezone(UTC)):
        start = datetime(year, month, 1, tzinfo=UTC)
        end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {schema}.events_{year:04d}{month:02d} PARTITION OF {schema}.events "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    status = await conn.execute(
        f"INSERT INTO {schema}.events ({_STORED}) "  # noqa: S608 - checked identifier, fixed names
        'SELECT id, type, v, "at", shop_id, room_id, show_id, actor, product_id, amount_cents, '
        f"data::jsonb, {_QUANTITY} FROM {_STAGE} CROSS JOIN LATERAL (SELECT data::json AS j) AS parsed "
        "ON CONFLICT DO NOTHING"
    )
    return ImportResult(read=read, inserted=int(status.split()[-1]))


def describe(exc: asyncpg.PostgresError) -> str:
    """The error with the server's context (for a COPY: the line and column of the bad value)."""
    context = getattr(exc, "context", None) or getattr(exc, "where", None)
    return f"{exc} ({context})" if context else str(exc)


async def _csv_batches(parquet: pq.ParquetFile) -> AsyncIterator[bytes]:
    batches = parquet.iter_batches(batch_size=_BATCH)
    while (chunk := await asyncio.to_thread(_next_csv, batches)) is not None:
        yield chunk


def _next_csv(batches: Iterator[pa.RecordBatch]) -> bytes | None:
    batch = next(batches, None)
    if batch is None:
        return None
    columns = [c.storage if isinstance(c.type, pa.BaseExtensionType) else c for c in batch.columns]
    out = io.BytesIO()
    pcsv.write_csv(pa.RecordBatch.from_arrays(columns, names=batch.schema.names), out, _NO_HEADER)
    return out.getvalue()


def _kind(arrow: pa.DataType) -> ColumnKind | None:
    if isinstance(arrow, pa.BaseExtensionType):
        return "json" if arrow.extension_name == "arrow.json" else None
    if pa.types.is_string(arrow) or pa.types.is_large_string(arrow):
        return "string"
    if pa.types.is_signed_integer(arrow) or arrow in (pa.uint8(), pa.uint16(), pa.uint32()):
        return "integer"
    if pa.types.is_timestamp(arrow):
        return "timestamp"
    return None


_NO_HEADER = pcsv.WriteOptions(include_header=False)
