"""The EventStore contract, run against DuckDB (a temporary file) and PostgreSQL (a schema per test)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy import text

from liveloop.adapters.duckdb import DuckDBEventStore
from liveloop.adapters.sql import PostgresEventStore
from liveloop.core.db import create_engine
from liveloop.core.events import Event
from liveloop.core.eventstore import (
    EXPORT_COLUMNS,
    EventRejected,
    EventStore,
    EventStoreError,
    EventStoreLocked,
    ExportFormat,
)
from tests.backends import duckdb_held

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """("duckdb", file path) or ("postgres", URL); resolved here because postgres_url is synchronous."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        return "postgres", url
    return "duckdb", str(tmp_path / "events.duckdb")


@pytest.fixture
async def store(store_target: tuple[str, str]) -> AsyncIterator[EventStore]:
    kind, where = store_target
    if kind == "duckdb":
        duck = DuckDBEventStore(Path(where))
        await duck.open()
        yield duck
        await duck.close()
        return
    schema = f"events_test_{uuid.uuid4().hex[:12]}"
    pg = PostgresEventStore(where, schema=schema)
    await pg.open()
    try:
        yield pg
    finally:
        await pg.close()
        engine = create_engine(where)
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        await engine.dispose()


def ev(i: int, *, type: str = "comment.posted", show_id: int = 3, **kwargs: Any) -> Event:
    fields: dict[str, Any] = {
        "type": type,
        "shop_id": 1,
        "room_id": 2,
        "show_id": show_id,
        "actor": f"u:{i % 7}",
        "at": T0 + timedelta(seconds=i),
        "data": {"text": f"好看 {i}"},
        "id": f"e{i:06d}",
    }
    fields.update(kwargs)
    return Event(**fields)


async def count(store: EventStore) -> int:
    rows = await store.query("SELECT count(*) FROM events")
    return int(rows[0][0])


async def test_append_and_query_round_trip(store: EventStore) -> None:
    await store.append(
        [
            ev(1, type="order.paid", data={"order_id": 9, "product_id": 7, "amount_cents": 1999}),
            ev(2, actor="staff:5", data={"text": "欢迎 welcome"}),
            ev(
                3,
                type="product.clicked",
                actor=None,
                room_id=None,
                data={"product_id": "x", "amount_cents": True},
            ),
            ev(4, at=datetime(2026, 11, 21, 20, 0, 4, tzinfo=timezone(timedelta(hours=8))), v=2),
            ev(5, at=datetime(2026, 11, 21, 12, 0, 5)),  # naive: taken as UTC
        ]
    )
    rows = await store.query(
        'SELECT id, type, v, "at", shop_id, room_id, show_id, actor, viewer_id, product_id, amount_cents '
        'FROM events ORDER BY "at", id'
    )
    assert rows == [
        ("e000001", "order.paid", 1, T0 + timedelta(seconds=1), 1, 2, 3, "u:1", "u:1", 7, 1999),
        ("e000002", "comment.posted", 1, T0 + timedelta(seconds=2), 1, 2, 3, "staff:5", None, None, None),
        ("e000003", "product.clicked", 1, T0 + timedelta(seconds=3), 1, None, 3, None, None, None, None),
        ("e000004", "comment.posted", 2, T0 + timedelta(seconds=4), 1, 2, 3, "u:4", "u:4", None, None),
        ("e000005", "comment.posted", 1, T0 + timedelta(seconds=5), 1, 2, 3, "u:5", "u:5", None, None),
    ]
    assert rows[0][3].tzinfo is not None
    texts = await store.query("SELECT data->>'text' FROM events WHERE id = $1", ["e000002"])
    assert texts == [("欢迎 welcome",)]
    paid = await store.query(
        "SELECT count(DISTINCT viewer_id), sum(amount_cents) FROM events WHERE show_id = $1 AND type = $2",
        [3, "order.paid"],
    )
    assert [(n, int(total)) for n, total in paid] == [(1, 1999)]


async def test_append_nothing_is_a_no_op(store: EventStore) -> None:
    await store.append([])
    assert await count(store) == 0


async def test_redelivered_events_are_stored_once(store: EventStore) -> None:
    first = [ev(i) for i in range(100)]
    await store.append(first)
    await store.append(first[40:60])  # a retried batch
    await store.append([*first[:3], ev(100), ev(100), ev(101)])  # old ones, and a duplicate inside the batch
    assert await count(store) == 102
    rows = await store.query("SELECT id, count(*) FROM events GROUP BY id HAVING count(*) > 1")
    assert rows == []


async def test_rows_come_back_ordered_by_at(store: EventStore) -> None:
    await store.append([ev(i) for i in (5, 1, 9)])
    await store.append([ev(i) for i in (3, 7, 0)])
    await store.append(
        [ev(8, at=T0 + timedelta(seconds=2), id="tie-b"), ev(8, at=T0 + timedelta(seconds=2), id="tie-a")]
    )
    rows = await store.query('SELECT id FROM events ORDER BY "at", id')
    assert [r[0] for r in rows] == [
        "e000000",
        "e000001",
        "tie-a",
        "tie-b",
        "e000003",
        "e000005",
        "e000007",
        "e000009",
    ]


async def test_query_cannot_change_the_store(store: EventStore) -> None:
    await store.append([ev(i) for i in range(3)])
    with contextlib.suppress(EventStoreError):  # PostgreSQL refuses (read-only); DuckDB rolls it back
        await store.query("DELETE FROM events")
    assert await count(store) == 3
    with pytest.raises(EventStoreError):
        await store.query("SELECT no_such_column FROM events")


async def test_a_bad_event_is_rejected_not_retried(store: EventStore) -> None:
    with pytest.raises(EventRejected):
        await store.append([ev(1), ev(2, shop_id=2**70)])
    assert await count(store) == 0
    await store.append([ev(1)])
    assert await count(store) == 1


def read_back(path: Path, fmt: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        con.execute("SET TimeZone = 'UTC'").fetchall()
        reader = "read_parquet" if fmt == "parquet" else "read_csv"
        at = "strftime(\"at\"::TIMESTAMP, '%Y-%m-%dT%H:%M:%S')" if fmt == "parquet" else '"at"::VARCHAR'
        text_of = "json_extract_string(data, '$.text')"
        columns = f"id, type, {at}, show_id, viewer_id, product_id, amount_cents, {text_of}"
        return con.execute(f"SELECT {columns} FROM {reader}('{path}')").fetchall()  # noqa: S608
    finally:
        con.close()


def first_csv_row(path: Path) -> list[str]:
    return path.read_text().splitlines()[1].split(",")


def leftovers(directory: Path) -> list[Path]:
    return list(directory.glob("*.part"))


def columns_of(path: Path, fmt: str) -> list[str]:
    con = duckdb.connect()
    try:
        reader = "read_parquet" if fmt == "parquet" else "read_csv"
        described = con.execute(f"DESCRIBE SELECT * FROM {reader}('{path}')").fetchall()  # noqa: S608
        return [row[0] for row in described]
    finally:
        con.close()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
async def test_export_writes_the_shows_events_in_time_order(
    store: EventStore, tmp_path: Path, fmt: ExportFormat
) -> None:
    await store.append(
        [
            ev(3, data={"text": 'quote " and, comma'}),
            ev(1, type="order.paid", data={"product_id": 7, "amount_cents": 500}),
            ev(2, show_id=4),
            ev(0, actor="staff:1"),
        ]
    )
    path = tmp_path / f"show.{fmt}"
    assert await store.export(show_id=3, path=path, fmt=fmt) == 3
    assert columns_of(path, fmt) == list(EXPORT_COLUMNS)
    rows = read_back(path, fmt)
    ats = [str(r[2])[:19].replace(" ", "T") for r in rows]
    assert ats == ["2026-11-21T12:00:00", "2026-11-21T12:00:01", "2026-11-21T12:00:03"]
    assert [(r[0], r[1], r[3], r[4], r[5], r[6], r[7]) for r in rows] == [
        ("e000000", "comment.posted", 3, None, None, None, "好看 0"),
        ("e000001", "order.paid", 3, "u:1", 7, 500, None),
        ("e000003", "comment.posted", 3, "u:3", None, None, 'quote " and, comma'),
    ]
    if fmt == "csv":
        assert first_csv_row(path)[3] == "2026-11-21T12:00:00.000000Z"
    assert leftovers(tmp_path) == []


async def test_export_of_a_show_without_events_writes_an_empty_file(
    store: EventStore, tmp_path: Path
) -> None:
    formats: tuple[ExportFormat, ...] = ("parquet", "csv")
    for fmt in formats:
        path = tmp_path / f"empty.{fmt}"
        assert await store.export(show_id=99, path=path, fmt=fmt) == 0
        assert columns_of(path, fmt) == list(EXPORT_COLUMNS)


async def test_fifty_thousand_events_in_batches(store: EventStore) -> None:
    events = [
        ev(
            i,
            type="order.paid" if i % 10 == 0 else "like.batched",
            data={"amount_cents": 100} if i % 10 == 0 else {},
        )
        for i in range(50_000)
    ]
    for start in range(0, len(events), 10_000):
        await store.append(events[start : start + 10_000])
    assert await count(store) == 50_000
    rows = await store.query(
        "SELECT type, count(*), sum(amount_cents) FROM events GROUP BY type ORDER BY type"
    )
    assert [(t, n, None if s is None else int(s)) for t, n, s in rows] == [
        ("like.batched", 45_000, None),
        ("order.paid", 5_000, 500_000),
    ]


# DuckDB only: the single-process file.


@pytest.fixture
def held_file(tmp_path: Path) -> Iterator[Path]:
    """A DuckDB file that another process holds open, as a running server would."""
    path = tmp_path / "events.duckdb"
    duckdb.connect(str(path)).close()
    with duckdb_held(path):
        yield path


async def test_duckdb_file_held_by_another_process_is_reported_as_locked(held_file: Path) -> None:
    for read_only in (False, True):
        with pytest.raises(EventStoreLocked, match="another process"):
            await DuckDBEventStore(held_file, read_only=read_only).open()


async def test_duckdb_read_only_needs_an_existing_file_and_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    with pytest.raises(EventStoreError, match="no event store"):
        await DuckDBEventStore(path, read_only=True).open()
    writer = DuckDBEventStore(path)
    await writer.open()
    await writer.append([ev(1), ev(2)])
    await writer.close()
    await writer.close()  # idempotent
    reader = DuckDBEventStore(path, read_only=True)
    await reader.open()
    try:
        assert await count(reader) == 2
    finally:
        await reader.close()
    with pytest.raises(EventStoreError, match="not open"):
        await reader.append([ev(3)])


# PostgreSQL only: monthly partitions.


@pytest.mark.postgres
async def test_postgres_creates_a_partition_per_month(postgres_url: str) -> None:
    schema = f"events_test_{uuid.uuid4().hex[:12]}"
    store = PostgresEventStore(postgres_url, schema=schema)
    await store.open()
    try:
        at = [
            datetime(2026, 12, 31, 23, 59, tzinfo=UTC),
            datetime(2027, 1, 1, tzinfo=UTC),
            datetime(2027, 5, 2, tzinfo=UTC),
        ]
        await store.append([ev(i, at=a) for i, a in enumerate(at)])
        rows = await store.query(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace "
            "WHERE p.relname = 'events' AND n.nspname = $1 ORDER BY 1",
            [schema],
        )
        assert [r[0] for r in rows] == ["events_202612", "events_202701", "events_202705"]
        assert await count(store) == 3
    finally:
        await store.close()
        engine = create_engine(postgres_url)
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        await engine.dispose()
