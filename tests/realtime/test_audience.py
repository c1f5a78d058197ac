"""The lottery draw's audience: presence and watch time as the room's own sockets make them."""

from __future__ import annotations

import time

from liveloop.adapters.memory import MemoryCounters
from liveloop.core.container import Container
from liveloop.realtime.audience import RoomAudience
from liveloop.realtime.keys import ScopeKeys, presence_key
from tests.conftest import run_async, run_in_app
from tests.realtime.conftest import LiveRoom, joined


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_watch_time_is_closed_sessions_plus_the_open_one() -> None:
    run_async(_watch_time)


async def _watch_time() -> None:
    counters = MemoryCounters(namespace="t")
    clock = Clock(1_000_000.0)
    audience = RoomAudience(counters, wall_clock=clock)
    keys = ScopeKeys.of(room_id=7, show_id=3)
    assert await audience.watched_seconds(room_id=7, show_id=3, viewer_id="u:a") == 0
    await counters.incr(keys.viewer_watch_seconds("u:a"), 120)
    assert await audience.watched_seconds(room_id=7, show_id=3, viewer_id="u:a") == 120
    await counters.set(keys.viewer_session_start("u:a"), int((clock.now - 45.5) * 1000))
    assert await audience.watched_seconds(room_id=7, show_id=3, viewer_id="u:a") == 165
    # Another show of the same room is counted apart.
    assert await audience.watched_seconds(room_id=7, show_id=4, viewer_id="u:a") == 0
    assert await audience.present(room_id=7, viewer_id="u:a") is False
    await counters.touch_presence(presence_key(7), "u:a", ttl_seconds=30)
    assert await audience.present(room_id=7, viewer_id="u:a") is True
    assert await audience.present(room_id=8, viewer_id="u:a") is False


def test_a_connected_viewer_is_present_and_accrues_watch_time(live_room: LiveRoom) -> None:
    client = live_room.client

    async def look(container: Container) -> tuple[bool, int]:
        audience = RoomAudience(container.counters)
        present = await audience.present(room_id=live_room.room_id, viewer_id="u:ann")
        watched = await audience.watched_seconds(room_id=live_room.room_id, show_id=None, viewer_id="u:ann")
        return present, watched

    assert run_in_app(client, look) == (False, 0)
    with live_room.connect(token=live_room.token("ann")) as ws:
        joined(ws)
        time.sleep(1.1)
        present, watched = run_in_app(client, look)
        assert present is True
        assert watched >= 1
    deadline = time.monotonic() + 5
    while run_in_app(client, look)[0] and time.monotonic() < deadline:
        time.sleep(0.05)
    present, watched = run_in_app(client, look)
    assert present is False
    assert watched >= 1  # the closed session is kept
