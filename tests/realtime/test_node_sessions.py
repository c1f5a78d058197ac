"""A viewer's session ends once, with its watch time, whichever node ends it.

Two nodes share one Counters and one bus, as two processes share Redis: the viewer watches through
node A, its heartbeats stop, and node B (which never held the socket) sweeps it.
"""

from __future__ import annotations

from typing import Any

import pytest

from liveloop.adapters.memory.broker import MemoryBroker, MemoryBus
from liveloop.adapters.memory.counters import MemoryCounters
from liveloop.realtime.node import Connection, NodeConfig, RealtimeNode
from tests.realtime.fakes import FakeClock, FakePeer

pytestmark = pytest.mark.anyio


class Recorder:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def emit(self, event: Any) -> None:
        self.events.append(event)

    def left(self) -> list[dict[str, Any]]:
        return [e.data for e in self.events if e.type == "viewer.left"]


async def two_nodes(clock: FakeClock) -> tuple[RealtimeNode, RealtimeNode, Recorder, MemoryCounters]:
    counters = MemoryCounters(clock=clock)
    bus = MemoryBus(clock=clock)
    recorder = Recorder()
    config = NodeConfig(presence_ttl_seconds=60.0)

    async def node() -> RealtimeNode:
        broker = MemoryBroker(bus)
        await broker.start()
        made = RealtimeNode(
            broker=broker,
            counters=counters,
            events=recorder,  # type: ignore[arg-type]
            config=config,
            wall_clock=clock,
        )
        await made.start()
        return made

    return await node(), await node(), recorder, counters


async def watch(node: RealtimeNode, viewer: str) -> tuple[Any, Connection]:
    room = await node.open_room(room_id=7, shop_id=1, show_id=3)
    conn = Connection(viewer_id=viewer, nickname=viewer, peer=FakePeer(viewer), counted=True)
    await node.join(room, conn, guest=False, source="recommend", epoch=None, offset=None)
    return room, conn


async def test_a_node_that_never_held_the_viewer_sweeps_it_with_its_watch_time() -> None:
    clock = FakeClock()
    node_a, node_b, recorder, counters = await two_nodes(clock)
    room_a, conn = await watch(node_a, "v1")
    room_b = await node_b.open_room(room_id=7, shop_id=1, show_id=3)

    clock.advance(30)
    await node_a.heartbeat(room_a, conn)  # the last heartbeat: the session expires 60 s later
    clock.advance(61)
    await node_b.sweep_presence(room_b)

    assert recorder.left() == [{"viewer_id": "v1", "reason": "timeout", "watch_seconds": 91.0}]
    assert await counters.get(room_b.keys.watch_seconds) == 91
    # The socket's late close on node A does not end the session a second time.
    await node_a.leave(room_a, conn)
    assert len(recorder.left()) == 1
    assert await counters.get(room_a.keys.watch_seconds) == 91


async def test_a_swept_viewer_whose_socket_closes_later_leaves_once() -> None:
    clock = FakeClock()
    node_a, _, recorder, counters = await two_nodes(clock)
    room_a, conn = await watch(node_a, "v2")
    clock.advance(61)
    await node_a.sweep_presence(room_a)
    await node_a.leave(room_a, conn)
    assert recorder.left() == [{"viewer_id": "v2", "reason": "timeout", "watch_seconds": 61.0}]
    assert await counters.get(room_a.keys.watch_seconds) == 61


async def test_a_close_ends_the_session_with_the_time_watched() -> None:
    clock = FakeClock()
    node_a, _, recorder, counters = await two_nodes(clock)
    room_a, conn = await watch(node_a, "v3")
    clock.advance(12.5)
    await node_a.leave(room_a, conn)
    assert recorder.left() == [{"viewer_id": "v3", "reason": "closed", "watch_seconds": 12.5}]
    assert await counters.get(room_a.keys.viewer_watch_seconds("v3")) == 12
