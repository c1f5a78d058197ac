"""The event store's ``quantity`` column (schema version 2): filled at append, and stores of version 1
(written before it existed) stay readable: upgraded on a read-write open, viewed with a NULL column
on a read-only one, and the review of their shows is the same as of a store written today."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import text

from liveloop.adapters.duckdb import DuckDBEventStore
from liveloop.adapters.sql import PostgresEventStore
from liveloop.analytics.review import compute_review
from liveloop.core.db import create_engine
from liveloop.core.events import Event
from liveloop.core.eventstore import EventStore
from liveloop.rooms import ShowState, ShowWindow
from liveloop.sim.show_gen import ShowGenerator, ShowSpec

pytestmark = pytest.mark.anyio

SPEC = ShowSpec(events=3000, viewers=60, minutes=12, products=3, start=datetime(2026, 11, 21, 12, tzinfo=UTC))
SHOW = ShowWindow(
    show_id=1, shop_id=1, room_id=1, title="quantity", state=ShowState.ENDED,
    started_at=SPEC.start, ended_at=SPEC.end,
)  # fmt: skip
AS_OF = SPEC.end + timedelta(days=1)


def show_events() -> list[Event]:
    return [e for chunk in ShowGenerator(SPEC).chunks(1000) for e in chunk]


def payload_events() -> list[Event]:
    t0 = datetime(2026, 11, 21, 12, tzinfo=UTC)
    payloads: list[dict[str, object]] = [
        {"count": 7},  # a like batch
        {"quantity": 2, "product_id": 5},  # an order
        {"quantity": 3, "count": 9},  # quantity first
        {"count": "7"},  # not an integer
        {"count": True},  # not an integer either
        {},
    ]
    return [
        Event(id=f"q{i}", type="like.batched", at=t0 + timedelta(seconds=i), shop_id=1, show_id=1, data=d)
        for i, d in enumerate(payloads)
    ]


async def quantities(store: EventStore) -> list[int | None]:
    return [q for (q,) in await store.query('SELECT quantity FROM events ORDER BY "at"')]


async def test_duckdb_fills_quantity_from_the_payload(tmp_path: Path) -> None:
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    await store.open()
    try:
        await store.append(payload_events())
        assert await quantities(store) == [7, 2, 3, None, None, None]
    finally:
        await store.close()


@pytest.mark.postgres
async def test_postgres_fills_quantity_from_the_payload(postgres_url: str) -> None:
    async with pg_store(postgres_url) as (store, _):
        await store.append(payload_events())
        assert await quantities(store) == [7, 2, 3, None, None, None]


def _downgrade_duckdb(path: Path) -> None:
    """Make ``path`` a version 1 file: no ``quantity`` column."""
    con = duckdb.connect(str(path))
    try:
        con.execute("ALTER TABLE events DROP COLUMN quantity")
        con.execute("UPDATE event_store_meta SET value = '1' WHERE key = 'schema_version'")
    finally:
        con.close()


async def test_a_version_1_duckdb_file_reviews_the_same_read_only_and_after_the_upgrade(
    tmp_path: Path,
) -> None:
    events = show_events()
    fresh = DuckDBEventStore(tmp_path / "fresh.duckdb")
    await fresh.open()
    try:
        await fresh.append(events)
        expected = await compute_review(fresh, SHOW, as_of=AS_OF)
    finally:
        await fresh.close()
    assert expected.totals.likes > 0

    old = tmp_path / "old.duckdb"
    store = DuckDBEventStore(old)
    await store.open()
    await store.append(events)
    await store.close()
    _downgrade_duckdb(old)

    reader = DuckDBEventStore(old, read_only=True)  # cannot upgrade: a view adds a NULL quantity
    await reader.open()
    try:
        assert await reader.query("SELECT count(quantity) FROM events") == [(0,)]
        assert await compute_review(reader, SHOW, as_of=AS_OF) == expected
    finally:
        await reader.close()

    writer = DuckDBEventStore(old)  # upgrades: the old rows have a NULL quantity, new ones have it
    await writer.open()
    try:
        assert await writer.query("SELECT count(quantity) FROM events") == [(0,)]
        assert await compute_review(writer, SHOW, as_of=AS_OF) == expected
        await writer.append(payload_events()[:1])
        assert await writer.query("SELECT quantity FROM events WHERE id = 'q0'") == [(7,)]
    finally:
        await writer.close()
    con = duckdb.connect(str(old), read_only=True)
    try:
        assert con.execute("SELECT value FROM event_store_meta").fetchall() == [("2",)]
    finally:
        con.close()


class pg_store:
    """A PostgresEventStore in a schema of its own, dropped at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.schema = f"quantity_test_{uuid.uuid4().hex[:12]}"
        self.store = PostgresEventStore(url, schema=self.schema)

    async def __aenter__(self) -> tuple[PostgresEventStore, str]:
        await self.store.open()
        return self.store, self.schema

    async def __aexit__(self, *exc: object) -> None:
        await self.store.close()
        engine = create_engine(self.url)
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"))
        await engine.dispose()


@pytest.mark.postgres
async def test_a_version_1_postgres_table_is_upgraded_and_reviews_the_same(postgres_url: str) -> None:
    events = show_events()
    async with pg_store(postgres_url) as (store, schema):
        await store.append(events)
        expected = await compute_review(store, SHOW, as_of=AS_OF)
        await store.close()
        engine = create_engine(postgres_url)  # make it a version 1 table
        async with engine.begin() as conn:
            await conn.execute(text(f"ALTER TABLE {schema}.events DROP COLUMN quantity"))
            await conn.execute(text(f"DELETE FROM {schema}.schema_version"))  # noqa: S608 - test schema
            await conn.execute(text(f"INSERT INTO {schema}.schema_version VALUES (1)"))  # noqa: S608
        await engine.dispose()

        upgraded = PostgresEventStore(postgres_url, schema=schema)
        await upgraded.open()
        try:
            assert await upgraded.query("SELECT count(quantity) FROM events") == [(0,)]
            assert await upgraded.query("SELECT max(version) FROM schema_version") == [(2,)]
            assert await compute_review(upgraded, SHOW, as_of=AS_OF) == expected
            await upgraded.append(payload_events()[:1])
            assert await upgraded.query("SELECT quantity FROM events WHERE id = 'q0'") == [(7,)]
        finally:
            await upgraded.close()
