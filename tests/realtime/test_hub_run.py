from __future__ import annotations

import anyio
import pytest

from liveloop.realtime import HubConfig, Lane, RoomHub, StreamItem, TickStats
from tests.realtime.fakes import FakePeer


class CountingHub(RoomHub):
    flushes = 0

    def flush(self) -> TickStats:
        self.flushes += 1
        return super().flush()


def prio(offset: int) -> StreamItem:
    return StreamItem(offset=offset, lane=Lane.PRIORITY, data={"n": offset})


async def wait_for_frames(peer: FakePeer, count: int) -> None:
    with anyio.fail_after(2):
        while len(peer.frames) < count:
            wrote = anyio.Event()
            peer.on_write = wrote.set
            await wrote.wait()


@pytest.mark.anyio
async def test_run_ticks_only_while_something_is_pending() -> None:
    hub = CountingHub(1, epoch="e1", config=HubConfig(tick_seconds=0.01))
    peer = FakePeer("a")
    hub.attach(peer)
    async with anyio.create_task_group() as tg:
        tg.start_soon(hub.run)
        await anyio.sleep(0.1)
        assert hub.flushes == 0  # idle room: no busy ticking
        hub.publish(prio(1))
        hub.publish(prio(2))
        hub.set_count("likes", 5)
        await wait_for_frames(peer, 2)
        await anyio.sleep(0.1)
        assert hub.flushes == 1
        body = peer.last()
        assert [entry["offset"] for entry in body["items"]] == [1, 2]
        assert body["counts"] == {"likes": 5}
        for n in range(3, 8):
            hub.publish(prio(n))
            await anyio.sleep(0.002)
        with anyio.fail_after(2):
            while peer.last()["offset"] < 7:
                await wait_for_frames(peer, len(peer.frames) + 1)
        assert hub.flushes <= 4  # batched into ticks, not one frame per item
        hub.stop()
    assert hub.flushes <= 6


@pytest.mark.anyio
async def test_run_survives_a_failing_flush_and_refuses_to_run_twice() -> None:
    class Failing(RoomHub):
        def flush(self) -> TickStats:
            raise RuntimeError("boom")

    hub = Failing(1, epoch="e1", config=HubConfig(tick_seconds=0.01))
    async with anyio.create_task_group() as tg:
        tg.start_soon(hub.run)
        await anyio.sleep(0.01)
        with pytest.raises(RuntimeError, match="already running"):
            await hub.run()
        hub.publish(prio(1))
        await anyio.sleep(0.05)
        hub.stop()
