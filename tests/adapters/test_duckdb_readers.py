"""The DuckDB store's reader threads: queries run side by side, and still see every append called
before them (the review of a show that just ended must count its last events)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from liveloop.adapters.duckdb import DuckDBEventStore
from liveloop.core.events import Event

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 11, 21, 12, tzinfo=UTC)


def events(n: int) -> list[Event]:
    return [
        Event(id=f"e{i}", type="like.batched", at=T0 + timedelta(milliseconds=i), shop_id=1, show_id=1,
              actor=f"u:{i % 100}", data={"count": 1 + i % 5})
        for i in range(n)
    ]  # fmt: skip


async def test_a_query_sees_the_appends_called_before_it(tmp_path: Path) -> None:
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    await store.open()
    try:
        batch = events(50_000)  # long enough to still be writing when the query is asked
        appending = asyncio.create_task(store.append(batch))
        await asyncio.sleep(0)  # the append is handed to the writer thread
        counted = await store.query("SELECT count(*), sum(quantity) FROM events")
        await appending
        assert counted == [(50_000, sum(1 + i % 5 for i in range(50_000)))]
    finally:
        await store.close()


async def test_queries_run_side_by_side(tmp_path: Path) -> None:
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    await store.open()
    try:
        await store.append(events(10))
        finished: list[str] = []

        async def run(name: str, sql: str) -> None:
            await store.query(sql)
            finished.append(name)

        slow = asyncio.create_task(run("slow", "SELECT sum(hash(i)) FROM range(400000000) AS r(i)"))
        await asyncio.sleep(0.2)  # the slow one is running on a reader thread
        await run("quick", "SELECT count(*) FROM events")
        assert finished == ["quick"]  # one thread would have answered after the slow query
        await slow
        assert finished == ["quick", "slow"]
    finally:
        await store.close()
