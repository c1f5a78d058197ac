"""Import of an export file into the DuckDB event store: DuckDB reads the file itself, no Python rows.

Three statements on the writer's connection: the file's columns (``DESCRIBE``; for CSV the header
row), a summary per event type (:class:`~liveloop.core.eventstore_import.TypeSummary`: rows,
versions, non-object payloads, ``at`` range) with the count of distinct ids, then one
``INSERT ... SELECT`` from ``read_parquet``/``read_csv``, anti-joined against the stored rows in the
file's ``at`` range as :meth:`DuckDBEventStore.append` does; only when the file repeats an id does
the insert also keep one row per id (the earliest ``at``), which costs a hash of every id. A
statement is atomic: a value the table refuses (a NULL ``id``, bad JSON) leaves nothing stored.
``quantity`` is computed from ``data`` in SQL with :meth:`EventColumns.from_events`'s rule: a JSON
integer ``data.quantity``, else (no such key) a JSON integer ``data.count``, else NULL.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from liveloop.core.eventstore import EventRejected, EventStoreError, ExportFormat
from liveloop.core.eventstore_import import (
    IMPORT_KINDS,
    ColumnKind,
    ImportResult,
    TypeSummary,
    check_columns,
    check_events,
    csv_header,
)

__all__ = ["BAD_DATA", "import_file"]

_KINDS: dict[str, ColumnKind] = {
    "VARCHAR": "string",
    "JSON": "json",
    "TINYINT": "integer",
    "SMALLINT": "integer",
    "INTEGER": "integer",
    "BIGINT": "integer",
    "UTINYINT": "integer",
    "USMALLINT": "integer",
    "UINTEGER": "integer",
    "TIMESTAMP WITH TIME ZONE": "timestamp",
    "TIMESTAMP": "timestamp",  # taken as UTC (the session's zone)
}
#: What each kind is read as from CSV (its text is parsed, strictly, by ``read_csv``).
_CSV_TYPES: dict[ColumnKind, str] = {
    "string": "VARCHAR",
    "json": "VARCHAR",
    "integer": "BIGINT",
    "timestamp": "TIMESTAMPTZ",
}
_QUANTITY = (
    "CASE WHEN json_type(data, '$.quantity') IS NOT NULL "
    "THEN CASE WHEN json_type(data, '$.quantity') IN ('BIGINT', 'UBIGINT') "
    "THEN CAST(data->>'$.quantity' AS BIGINT) END "
    "ELSE CASE WHEN json_type(data, '$.count') IN ('BIGINT', 'UBIGINT') "
    "THEN CAST(data->>'$.count' AS BIGINT) END END"
)
_NOT_OBJECTS = "count(*) FILTER (WHERE json_type(data) IS DISTINCT FROM 'OBJECT')"
_ONE_PER_ID = 'QUALIFY row_number() OVER (PARTITION BY id ORDER BY "at") = 1'
_COLUMNS = 'id, type, v, "at", shop_id, room_id, show_id, actor, product_id, amount_cents, data'
#: DuckDB's errors that say the data is bad (retrying cannot help); the append path adds its own.
BAD_DATA: tuple[type[BaseException], ...] = (
    duckdb.ConversionException,
    duckdb.ConstraintException,
    duckdb.InvalidInputException,
    duckdb.OutOfRangeException,
    duckdb.TypeMismatchException,
)
_REJECTIONS: tuple[type[BaseException], ...] = (*BAD_DATA, duckdb.BinderException)


def import_file(
    con: duckdb.DuckDBPyConnection, path: Path, fmt: ExportFormat, versions: Mapping[str, int] | None
) -> ImportResult:
    """Check ``path`` and insert its events; see the module doc. Runs on the writer thread."""
    if not path.is_file():
        raise EventStoreError(f"no file at {path}")
    try:
        source, params = _source(con, path, fmt)
        summaries = [
            TypeSummary(*row)
            for row in con.execute(
                f"SELECT type, min(v), max(v), count(*), {_NOT_OBJECTS}, "  # noqa: S608 - fixed text
                f'min("at")::TIMESTAMP, max("at")::TIMESTAMP FROM {source} GROUP BY type',
                params,
            ).fetchall()
        ]
        read = check_events(summaries, versions=versions)
        if read == 0:
            return ImportResult(read=0, inserted=0)
        (distinct,) = con.execute(f"SELECT count(DISTINCT id) FROM {source}", params).fetchone() or (0,)  # noqa: S608
        firsts = [s.first_at for s in summaries if s.first_at is not None]
        lasts = [s.last_at for s in summaries if s.last_at is not None]
        if not firsts:
            raise EventRejected(f"{path.name}: no event has a time (at)")
        one_per_id = "" if distinct == read else _ONE_PER_ID
        rows = con.execute(
            f"INSERT INTO events ({_COLUMNS}, quantity) "  # noqa: S608 - fixed text
            f"SELECT {_COLUMNS}, {_QUANTITY} FROM {source} AS b "
            'WHERE NOT EXISTS (SELECT 1 FROM events AS e WHERE e."at" BETWEEN $lo AND $hi AND e.id = b.id) '
            f"{one_per_id}",
            {**params, "lo": min(firsts), "hi": max(lasts)},
        ).fetchall()
    except _REJECTIONS as exc:
        raise EventRejected(f"{path.name} rejected: {exc}") from exc
    except duckdb.Error as exc:
        raise EventStoreError(f"import of {path.name} failed: {exc}") from exc
    return ImportResult(read=read, inserted=int(rows[0][0]) if rows else 0)


def _source(con: duckdb.DuckDBPyConnection, path: Path, fmt: ExportFormat) -> tuple[str, dict[str, Any]]:
    """The table function that reads ``path``, after checking its columns."""
    params: dict[str, Any] = {"path": str(path)}
    if fmt == "parquet":
        source = "read_parquet($path)"
        described = con.execute(f"DESCRIBE SELECT * FROM {source}", params).fetchall()  # noqa: S608
        check_columns([(str(r[0]), _KINDS.get(str(r[1]))) for r in described], path=path)
        return source, params
    if fmt == "csv":
        header = csv_header(path)
        check_columns([(name, None) for name in header], path=path)
        types = ", ".join(f"'{name}': '{_CSV_TYPES[IMPORT_KINDS[name]]}'" for name in header)
        source = (
            "read_csv($path, header = true, auto_detect = false, delim = ',', quote = '\"', "
            f"escape = '\"', allow_quoted_nulls = false, columns = {{{types}}})"
        )
        return source, params
    raise ValueError(f"unknown import format {fmt!r}")
