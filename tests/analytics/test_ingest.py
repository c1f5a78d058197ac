"""EventIngest: bus -> ingest -> store; flush by size and by time; nothing lost at close; failures."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from liveloop.adapters.duckdb import DuckDBEventStore
from liveloop.analytics import OVERFLOW_POLICY, EventIngest
from liveloop.core.events import Event, EventBus
from liveloop.core.eventstore import EventRejected, EventStore, EventStoreError, ExportFormat
from liveloop.core.eventstore_import import ImportResult

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeEventStore(EventStore):
    """An in-memory store whose appends can be made to fail (``down``) or to reject bad events."""

    def __init__(self) -> None:
        self.events: dict[str, Event] = {}
        self.calls: list[int] = []  # size of every append call, failed ones included
        self.down = False
        self.bad: set[str] = set()

    async def open(self) -> None:
        pass

    async def append(self, events: Sequence[Event]) -> None:
        self.calls.append(len(events))
        await asyncio.sleep(0)
        if self.down:
            raise EventStoreError("store down")
        if any(e.id in self.bad for e in events):
            raise EventRejected("bad event")
        for event in events:
            self.events.setdefault(event.id, event)

    async def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    async def export(self, *, show_id: int, path: Path, fmt: ExportFormat) -> int:
        raise NotImplementedError

    async def import_file(
        self, path: Path, *, fmt: ExportFormat, versions: Mapping[str, int] | None = None
    ) -> ImportResult:
        raise NotImplementedError

    async def close(self) -> None:
        pass


def events(n: int, *, start: int = 0) -> list[Event]:
    return [
        Event(type="like.batched", shop_id=1, show_id=3, actor=f"u:{i}", id=f"e{i}")
        for i in range(start, start + n)
    ]


async def until(condition: Callable[[], bool], within: float = 5.0) -> float:
    """Wait until ``condition()`` holds; return the seconds it took."""
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > within:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)
    return time.monotonic() - began


@pytest.fixture
async def duck(tmp_path: Path) -> AsyncIterator[DuckDBEventStore]:
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    await store.open()
    yield store
    await store.close()


async def stored(store: EventStore) -> int:
    return int((await store.query("SELECT count(*) FROM events"))[0][0])


async def test_bus_to_store_loses_nothing_at_close(duck: DuckDBEventStore) -> None:
    bus = EventBus()
    ingest = EventIngest(duck, flush_seconds=60)
    bus.subscribe(ingest)
    await ingest.start()
    await bus.start()
    for event in events(25_001):
        bus.emit(event)
    await bus.close()
    await ingest.close()
    assert await stored(duck) == 25_001
    assert (ingest.appended, ingest.dropped, ingest.rejected, ingest.buffered) == (25_001, 0, 0, 0)
    ids = await duck.query("SELECT min(id), max(id), count(DISTINCT id) FROM events")
    assert ids == [("e0", "e9999", 25_001)]


async def test_flushes_when_max_batch_events_wait() -> None:
    store = FakeEventStore()
    ingest = EventIngest(store, flush_seconds=60, max_batch=1_000)
    await ingest.start()
    try:
        await ingest(events(999))
        await asyncio.sleep(0.1)
        assert store.events == {}
        await ingest(events(1, start=999))
        await until(lambda: len(store.events) == 1_000)
        assert store.calls == [1_000]
    finally:
        await ingest.close()


async def test_flushes_when_the_oldest_event_waited_flush_seconds() -> None:
    store = FakeEventStore()
    ingest = EventIngest(store, flush_seconds=0.3, max_batch=1_000)
    await ingest.start()
    try:
        await ingest(events(10))
        await asyncio.sleep(0.1)
        await ingest(events(10, start=10))  # does not restart the clock
        took = await until(lambda: len(store.events) == 20)
        assert 0.1 <= took <= 1.0
        assert store.calls == [20]
    finally:
        await ingest.close()


async def test_a_write_takes_everything_buffered_up_to_max_append() -> None:
    store = FakeEventStore()
    ingest = EventIngest(store, flush_seconds=60, max_batch=100, max_append=1_000)
    await ingest(events(2_500))  # not started: everything waits
    await ingest.start()
    await until(lambda: len(store.events) == 2_500)
    await ingest.close()
    assert store.calls == [1_000, 1_000, 500]


async def test_failed_appends_are_retried_with_the_events_kept_in_order() -> None:
    store = FakeEventStore()
    store.down = True
    ingest = EventIngest(store, flush_seconds=0.01, max_batch=10, retry_initial=0.01, retry_max=0.05)
    await ingest.start()
    try:
        await ingest(events(30))
        await until(lambda: ingest.failures >= 3)
        assert store.events == {}
        assert ingest.buffered == 30
        store.down = False
        await until(lambda: len(store.events) == 30)
        assert list(store.events) == [f"e{i}" for i in range(30)]
        assert ingest.dropped == 0
    finally:
        await ingest.close()


async def test_while_the_store_is_down_the_buffer_is_bounded_and_drops_are_counted() -> None:
    assert OVERFLOW_POLICY == "drop-newest"
    store = FakeEventStore()
    store.down = True
    ingest = EventIngest(
        store,
        flush_seconds=0.01,
        max_batch=10,
        max_append=10,
        max_buffer=100,
        retry_initial=0.01,
        retry_max=0.02,
    )
    await ingest.start()
    try:
        for start in range(0, 250, 25):
            await ingest(events(25, start=start))
            await asyncio.sleep(0.01)
        assert ingest.buffered == 100
        assert ingest.dropped == 150
        store.down = False
        await until(lambda: len(store.events) == 100)
    finally:
        await ingest.close()
    assert list(store.events) == [f"e{i}" for i in range(100)]  # the oldest were kept
    assert (ingest.appended, ingest.dropped) == (100, 150)


async def test_a_rejected_event_is_isolated_and_dropped_alone() -> None:
    store = FakeEventStore()
    store.bad = {"e617"}
    ingest = EventIngest(store, flush_seconds=60, max_batch=1_000)
    await ingest(events(1_000))
    await ingest.start()
    await ingest.close()
    assert (ingest.appended, ingest.rejected, ingest.dropped) == (999, 1, 0)
    assert "e617" not in store.events
    assert len(store.calls) <= 30  # halving: O(log n) extra writes


async def test_close_gives_up_after_close_timeout_and_counts_the_loss() -> None:
    store = FakeEventStore()
    store.down = True
    ingest = EventIngest(store, flush_seconds=60, retry_initial=0.01, retry_max=0.02, close_timeout=0.2)
    await ingest.start()
    await ingest(events(50))
    began = time.monotonic()
    await ingest.close()
    assert time.monotonic() - began < 2
    assert (ingest.appended, ingest.dropped, ingest.buffered) == (0, 50, 0)


async def test_close_without_start_still_flushes() -> None:
    store = FakeEventStore()
    ingest = EventIngest(store)
    await ingest(events(5))
    await ingest.close()
    assert len(store.events) == 5


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_batch": 0},
        {"max_batch": 10, "max_append": 5},
        {"max_append": 10, "max_buffer": 5},
        {"flush_seconds": 0},
    ],
)
def test_rejects_inconsistent_limits(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"max_batch|flush_seconds"):
        EventIngest(FakeEventStore(), **kwargs)
