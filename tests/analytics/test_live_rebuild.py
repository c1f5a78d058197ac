"""After a restart, live metrics are rebuilt from the event store: the same figures, never counted twice.

The in-process tests play a generated show through LiveMetrics as a node with a one-second timer
does (the events of each second, then a flush at the second's end), store the same events, and
rebuild a new LiveMetrics on fresh Counters from the store (live_rebuild): every figure of the
snapshot must be equal. The last test restarts a real server on the same data directory.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any

import httpx2
import pytest
from websockets.sync.client import ClientConnection, connect

from liveloop import migrate
from liveloop.adapters.duckdb import DuckDBEventStore
from liveloop.adapters.memory import MemoryCounters
from liveloop.analytics.live import LiveMetrics
from liveloop.analytics.live_held import HeldEvents
from liveloop.analytics.live_keys import ShowKeys
from liveloop.analytics.live_rebuild import LiveRebuild
from liveloop.analytics.live_state import epoch_ms
from liveloop.core.counters import Counters
from liveloop.core.db import Database, create_engine
from liveloop.core.events import Event
from liveloop.core.eventstore import EventStore
from liveloop.rooms import ShowState, ShowWindow
from liveloop.shops import do_create_shop
from liveloop.sim.show_gen import ShowGenerator, ShowSpec
from tests.analytics.live_support import Clock, FakeWindows, node
from tests.contracts.test_eventstore import store, store_target  # noqa: F401 - fixtures over DuckDB and PostgreSQL
from tests.servers import running_server

pytestmark = pytest.mark.anyio

SPEC = ShowSpec(
    events=8_000,
    viewers=300,
    minutes=12,
    products=5,
    seed=7,
    shop_id=1,
    room_id=1,
    show_id=1,
    start=datetime(2026, 11, 21, 12, 0, 17, tzinfo=UTC),
)
#: The restart: the show is live, eight minutes in.
CUTOFF = SPEC.start + timedelta(minutes=8)
LIVE = ShowWindow(1, 1, 1, "t", ShowState.LIVE, SPEC.start, None)


def show_events() -> list[Event]:
    return [e for chunk in ShowGenerator(SPEC).chunks(5000) for e in chunk if e.at < CUTOFF]


async def play_live(metrics: LiveMetrics, clock: Clock, events: Sequence[Event]) -> None:
    """Each second's events, then a flush at the end of that second: a node with a 1 s timer."""
    for second, group in groupby(events, key=lambda e: epoch_ms(e.at) // 1000):
        clock.now = datetime.fromtimestamp(second + 1, UTC)
        await metrics(list(group))
        await metrics.flush()


@pytest.fixture
async def duck(tmp_path: Path) -> AsyncIterator[DuckDBEventStore]:
    opened = DuckDBEventStore(tmp_path / "events.duckdb")
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


def rebuilder(
    metrics: LiveMetrics, events: EventStore, emitted: list[Event], *, batch_size: int = 997
) -> LiveRebuild:
    async def live_shows() -> list[int]:
        return [SPEC.show_id]

    return LiveRebuild(
        metrics,
        events,
        live_shows=live_shows,
        emit=emitted.append,
        batch_size=batch_size,  # many batches, and a window split into pages
        clock=lambda: CUTOFF,
    )


async def test_a_rebuild_on_fresh_counters_gives_the_same_snapshot(duck: DuckDBEventStore) -> None:
    events = show_events()
    clock = Clock()
    live = node(FakeWindows(LIVE), MemoryCounters(namespace="live"), clock)
    await play_live(live, clock, events)
    await duck.append(events)

    rebuilt = node(FakeWindows(LIVE), MemoryCounters(namespace="rebuilt"), clock)
    emitted: list[Event] = []
    rebuild = rebuilder(rebuilt, duck, emitted)
    assert [w.show_id for w in await rebuild.plan()] == [SPEC.show_id]
    report = await rebuild.run()
    assert (report.shows, report.events, report.skipped) == (1, len(events), 0)

    clock.now = CUTOFF
    await live.flush()
    await rebuilt.flush()
    before = await live.snapshot(1, 1)
    after = await rebuilt.snapshot(1, 1)
    assert before["totals"]["uv"] > 100
    assert before["totals"]["ccu"] > 10
    assert before["totals"]["gmv_cents"] > 0
    assert after == before

    # The sessions open at the restart are ended at the last stored event, once each.
    last = max(e.at for e in events)
    assert len(emitted) == report.closed == before["totals"]["ccu"]
    assert {e.type for e in emitted} == {"viewer.left"}
    assert {e.at for e in emitted} == {last}
    assert len({e.actor for e in emitted}) == len(emitted)
    await rebuilt(emitted)
    await rebuilt.flush()
    closed = (await rebuilt.snapshot(1, 1))["totals"]
    assert closed["ccu"] == 0
    assert closed["sessions"] == before["totals"]["sessions"] + len(emitted)
    assert closed["pv"] == before["totals"]["pv"]
    assert closed["uv"] == before["totals"]["uv"]


async def test_live_events_during_the_rebuild_are_counted_once(duck: DuckDBEventStore) -> None:
    """Events arriving while the replay runs wait, and count once though the store has them too."""
    events = show_events()
    head, tail = events[: len(events) // 2], events[len(events) // 2 :]
    clock = Clock()
    live = node(FakeWindows(LIVE), MemoryCounters(namespace="live"), clock)
    await play_live(live, clock, events)
    await duck.append(head)

    rebuilt = node(FakeWindows(LIVE), MemoryCounters(namespace="rebuilt"), clock)
    rebuild = rebuilder(rebuilt, duck, [])
    await rebuild.plan()
    # The bus delivers the tail while the replay has not run; the ingest stores part of it.
    await rebuilt(tail)
    await duck.append(tail[: len(tail) // 3])
    report = await rebuild.run()
    assert report.skipped == len(tail) // 3
    assert report.events == len(head)

    clock.now = CUTOFF
    await live.flush(final=True)
    await rebuilt.flush(final=True)
    got, want = (await rebuilt.snapshot(1, 1))["totals"], (await live.snapshot(1, 1))["totals"]
    sampled = {"pcu"}  # the tail came in one batch here, not second by second
    assert {k: v for k, v in got.items() if k not in sampled} == {
        k: v for k, v in want.items() if k not in sampled
    }


async def test_counters_that_kept_the_show_are_not_rebuilt(
    duck: DuckDBEventStore, shared_counters: Counters
) -> None:
    """On Redis (or any Counters that survived) the figures stay as they are: no double count, and
    of two nodes restarting on empty Counters only one rebuilds."""
    events = show_events()
    clock = Clock()
    live = node(FakeWindows(LIVE), shared_counters, clock)
    await play_live(live, clock, events)
    await duck.append(events)
    clock.now = CUTOFF
    await live.flush()
    want = await live.snapshot(1, 1)

    restarted = node(FakeWindows(LIVE), shared_counters, clock)
    rebuild = rebuilder(restarted, duck, [])
    assert await rebuild.plan() == []
    assert (await rebuild.run()).events == 0
    assert await restarted.snapshot(1, 1) == want

    await shared_counters.delete(ShowKeys(SPEC.show_id).sums, ShowKeys(SPEC.show_id).rebuild)
    first, second = (rebuilder(node(FakeWindows(LIVE), shared_counters, clock), duck, []) for _ in range(2))
    plans = await asyncio.gather(first.plan(), second.plan())
    assert sorted(len(p) for p in plans) == [0, 1]


async def test_read_show_streams_a_show_in_order(store: EventStore) -> None:  # noqa: F811 - the contract's fixture
    """EventStore.read_show (both adapters): the show's events and its room's events of no show from
    ``since``, before ``before``, ordered by time then id, in bounded batches, equal to what was sent."""
    t0 = SPEC.start

    def e(i: int, seconds: float, **fields: Any) -> Event:
        envelope: dict[str, Any] = {
            "type": "comment.posted",
            "id": f"e{i:04d}",
            "at": t0 + timedelta(seconds=seconds),
            "shop_id": 1,
            "room_id": 2,
            "show_id": 3,
            "actor": f"u:{i % 5}",
            "data": {"text": f"好看 {i}", "n": i},
        }
        return Event(**(envelope | fields))

    wanted = [e(i, i // 4) for i in range(60)]  # four events a second: ties broken by id
    wanted += [e(100 + i, 3600 + i * 7) for i in range(5)]  # a quiet hour between
    wanted.append(e(200, 5, show_id=None, type="viewer.left"))  # the room's, of no show
    others = [
        e(300, 6, show_id=4),  # another show
        e(301, 7, shop_id=9),  # another shop
        e(302, -5, show_id=None),  # the room's, before since
        e(303, 4000),  # at or after before
        e(304, 3700, show_id=None, room_id=8),  # another room
    ]
    mixed = wanted + others
    await store.append(mixed[::2])
    await store.append(mixed[1::2])
    batches = [
        batch
        async for batch in store.read_show(
            3, shop_id=1, room_id=2, since=t0, before=t0 + timedelta(seconds=4000), batch_size=7
        )
    ]
    got = [event for batch in batches for event in batch]
    assert max(len(batch) for batch in batches) <= 7
    assert got == sorted(wanted, key=lambda x: (x.at, x.id))
    assert [x.model_dump() for x in got] == [
        x.model_dump() for x in sorted(wanted, key=lambda x: (x.at, x.id))
    ]
    everything = [
        x async for batch in store.read_show(3, shop_id=1, before=t0 + timedelta(days=1)) for x in batch
    ]
    assert [x.id for x in everything] == [
        x.id for x in sorted([*wanted, others[3]], key=lambda x: (x.at, x.id)) if x.show_id == 3
    ]


def test_held_events_are_bounded() -> None:
    held = HeldEvents(limit=3)
    batch = [Event(type="comment.posted", shop_id=1, show_id=1) for _ in range(5)]
    held.add(batch[:2])
    held.add(batch[2:])
    assert (held.events, held.dropped) == (batch[:3], 2)
    assert held.ids == {e.id for e in batch[:3]}


# -- a real server, restarted -----------------------------------------------------------------------


def seed_shop(data_dir: Path) -> str:
    data_dir.mkdir(parents=True, exist_ok=True)

    async def run() -> str:
        engine = create_engine(f"sqlite+aiosqlite:///{data_dir / 'liveloop.db'}")
        await migrate.upgrade(engine)
        db = Database(engine)
        created = await do_create_shop(db, name=f"重启 {uuid.uuid4().hex[:6]}")
        await db.dispose()
        return created.api_key

    return asyncio.run(run())


def read_until(ws: ClientConnection, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    for _ in range(500):
        frame: dict[str, Any] = json.loads(ws.recv(timeout=5))
        if match(frame):
            return frame
    raise AssertionError("no matching frame")


def wait_for_metrics(
    url: str, show_id: int, headers: dict[str, str], done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        response = httpx2.get(f"{url}/api/v1/shows/{show_id}/metrics", headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        totals: dict[str, Any] = response.json()["totals"]
        if done(totals):
            return totals
        assert time.monotonic() < deadline, totals
        time.sleep(0.2)


@pytest.mark.slow
def test_a_restarted_server_shows_the_same_totals(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    owner = {"Authorization": f"Bearer {seed_shop(data_dir)}"}
    with running_server(data_dir) as server:
        room = httpx2.post(f"{server.url}/api/v1/rooms", json={"name": "重启直播间"}, headers=owner).json()
        show = httpx2.post(
            f"{server.url}/api/v1/shows",
            json={
                "room_id": room["id"],
                "title": "重启专场",
                "planned_start": "2026-12-01T12:00:00Z",
                "planned_end": "2026-12-01T14:00:00Z",
            },
            headers=owner,
        ).json()
        assert httpx2.post(f"{server.url}/api/v1/shows/{show['id']}/start", headers=owner).status_code == 200
        with ExitStack() as sockets:
            viewers = []
            for user in ("alice", "bob", "carol"):
                token = httpx2.post(
                    f"{server.url}/api/v1/viewer-tokens", json={"user_id": user}, headers=owner
                ).json()["token"]
                url = f"{server.ws_url}/ws/rooms/{room['id']}?token={token}"
                viewers.append(sockets.enter_context(connect(url)))
            for ws in viewers:
                read_until(ws, lambda f: f["type"] in ("snapshot", "resume"))
            for n, ws in enumerate(viewers):
                for k in range(n + 1):
                    ws.send(json.dumps({"type": "comment", "text": f"评论 {k}", "ref": f"c{k}"}))
                    read_until(ws, lambda f: f["type"] == "ack")
                ws.send(json.dumps({"type": "share"}))
            time.sleep(1.5)  # every viewer is on air together for more than a flush period
        before = wait_for_metrics(
            server.url,
            show["id"],
            owner,
            lambda t: t["comments"] == 6 and t["sessions"] == 3 and t["shares"] == 3,
        )
    # stopped gracefully (SIGTERM): the event store has every event
    with running_server(data_dir) as server:
        after = wait_for_metrics(server.url, show["id"], owner, lambda t: t["pv"] == before["pv"])
    assert "live metrics rebuild done" in server.log.read_text()  # with the events and seconds
    duration_based = {"acu"}  # watch seconds over a duration that grew with the restart
    assert before["uv"] == 3
    assert before["pcu"] == 3
    assert before["ccu"] == 0
    assert {k: v for k, v in after.items() if k not in duration_based} == {
        k: v for k, v in before.items() if k not in duration_based
    }
