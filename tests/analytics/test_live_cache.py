"""Snapshots: built once for many readers, not served stale after this node writes, not across shops."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from liveloop.analytics.live_cache import Built, SnapshotCache
from liveloop.core.counters import Counters
from liveloop.rooms import ShowNotFound
from tests.analytics.live_support import SHOP, SHOW, Clock, FakeWindows, enter, ev, node, window

pytestmark = pytest.mark.anyio


async def test_concurrent_readers_share_one_build(shared_counters: Counters) -> None:
    windows = FakeWindows(window(started=0))
    metrics = node(windows, shared_counters, Clock(30))
    await metrics([enter(1, "u:1"), ev("comment.posted", 2, "u:1", text="a")])
    await metrics.flush()
    reads = windows.reads
    views = await asyncio.gather(*(metrics.snapshot(SHOP, SHOW) for _ in range(20)))
    assert windows.reads == reads + 1  # one window read: one build for the twenty readers
    assert metrics.snapshots.builds == 1
    assert all(v == views[0] for v in views)
    assert views[0]["totals"]["comments"] == 1
    assert (await metrics.snapshot(SHOP, SHOW))["totals"]["comments"] == 1
    assert metrics.snapshots.builds == 1  # served from the cache
    # With and without the minutes are different snapshots.
    assert (await metrics.snapshot(SHOP, SHOW, minutes=False))["minutes"] == []
    assert metrics.snapshots.builds == 2


async def test_a_flush_makes_the_cached_snapshot_stale(shared_counters: Counters) -> None:
    metrics = node(FakeWindows(window(started=0)), shared_counters, Clock(30))
    await metrics([enter(1, "u:1")])
    await metrics.flush()
    assert (await metrics.snapshot(SHOP, SHOW))["totals"]["comments"] == 0
    await metrics([ev("comment.posted", 2, "u:1", text="a")])
    assert (await metrics.snapshot(SHOP, SHOW))["totals"]["comments"] == 0  # not flushed yet: cached
    await metrics.flush()
    assert (await metrics.snapshot(SHOP, SHOW))["totals"]["comments"] == 1


async def test_a_cached_snapshot_is_not_served_to_another_shop(shared_counters: Counters) -> None:
    metrics = node(FakeWindows(window(started=0)), shared_counters, Clock(30))
    await metrics.snapshot(SHOP, SHOW)
    with pytest.raises(ShowNotFound):
        await metrics.snapshot(SHOP + 1, SHOW)
    with pytest.raises(ShowNotFound):
        await metrics.snapshot(SHOP, SHOW + 1)
    assert metrics.snapshots.builds == 2  # the missing show was tried, the other shop was not


async def test_zero_seconds_builds_every_time(shared_counters: Counters) -> None:
    windows = FakeWindows(window(started=0))
    metrics = node(windows, shared_counters, Clock(30))
    metrics.snapshots.seconds = 0
    await metrics.snapshot(SHOP, SHOW)
    await metrics.snapshot(SHOP, SHOW)
    assert metrics.snapshots.builds == 2


class Tick:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_the_cache_expires_and_forgets() -> None:
    tick = Tick()
    cache = SnapshotCache(1.0, clock=tick)
    calls: list[int] = []

    async def build() -> Built:
        calls.append(1)
        return Built(SHOP, {"n": len(calls)})

    assert (await cache.get(SHOW, True, build)).metrics == {"n": 1}
    tick.now += 0.9
    assert (await cache.get(SHOW, True, build)).metrics == {"n": 1}
    tick.now += 0.1
    assert (await cache.get(SHOW, True, build)).metrics == {"n": 2}  # a second old: built again
    cache.changed(SHOW)
    assert (await cache.get(SHOW, True, build)).metrics == {"n": 3}
    tick.now += 5
    cache.prune()
    assert not cache._entries
    assert not cache._changed


async def test_a_failed_build_is_not_cached_and_a_gone_reader_does_not_cancel_the_others() -> None:
    cache = SnapshotCache(1.0, clock=Tick())
    release = asyncio.Event()
    outcomes: list[Any] = [RuntimeError("counters down"), {"ok": True}]

    async def build() -> Built:
        await release.wait()
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return Built(SHOP, outcome)

    first = asyncio.ensure_future(cache.get(SHOW, True, build))
    await asyncio.sleep(0)
    release.set()
    with pytest.raises(RuntimeError):
        await first
    release.clear()
    gone = asyncio.ensure_future(cache.get(SHOW, True, build))  # built again: the failure was not kept
    stays = asyncio.ensure_future(cache.get(SHOW, True, build))
    await asyncio.sleep(0)
    gone.cancel()
    release.set()
    assert (await stays).metrics == {"ok": True}
    assert cache.builds == 2
