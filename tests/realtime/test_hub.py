from __future__ import annotations

import asyncio
from typing import Any

import pytest

from liveloop.realtime import HubConfig, Lane, OutFrame, RoomHub, StreamItem, TickStats
from liveloop.realtime import hub as hub_module
from tests.realtime.fakes import BrokenPeer, FakeClock, FakePeer

SOFT = 1000
HARD = 5000


def make_hub(clock: FakeClock | None = None, **config: Any) -> RoomHub:
    """A hub whose counts go out with every tick unless a test sets ``counts_seconds``."""
    settings: dict[str, Any] = {
        "soft_limit_bytes": SOFT,
        "hard_limit_bytes": HARD,
        "counts_seconds": 0.0,
        **config,
    }
    return RoomHub(7, epoch="e1", config=HubConfig(**settings), clock=clock or FakeClock())


def prio(offset: int, text: str = "host") -> StreamItem:
    return StreamItem(offset=offset, lane=Lane.PRIORITY, data={"kind": "host", "text": text})


def comment(offset: int) -> StreamItem:
    return StreamItem(offset=offset, lane=Lane.COMMENT, data={"kind": "comment", "n": offset})


def item_offsets(body: dict[str, Any]) -> list[int]:
    return [entry["offset"] for entry in body["items"]]


def test_attach_writes_the_snapshot() -> None:
    hub = make_hub()
    hub.set_count("likes", 3)
    hub.set_pinned({"text": "50% off"})
    hub.publish(comment(1))
    hub.publish(prio(2))
    hub.flush()
    peer = FakePeer("a")
    assert hub.attach(peer) is False
    assert peer.messages() == [
        {
            "type": "snapshot",
            "epoch": "e1",
            "offset": 2,
            "counts": {"likes": 3},
            "comments": [{"offset": 1, "lane": "comment", "data": {"kind": "comment", "n": 1}}],
            "pinned": {"text": "50% off"},
        }
    ]
    assert hub.peer_count == 1


def test_a_tick_is_one_frame_with_items_counts_and_entrances() -> None:
    hub = make_hub()
    peer = FakePeer("a")
    hub.attach(peer)
    hub.publish(prio(1, "hello"))
    hub.publish(comment(2))
    hub.set_count("likes", 10)
    for name in ["ann", "bob", "cat", "dan", "eve"]:
        hub.add_transient({"name": name})
    stats = hub.flush()
    assert peer.last() == {
        "type": "tick",
        "epoch": "e1",
        "offset": 2,
        "items": [
            {"offset": 1, "lane": "priority", "data": {"kind": "host", "text": "hello"}},
            {"offset": 2, "lane": "comment", "data": {"kind": "comment", "n": 2}},
        ],
        "counts": {"likes": 10},
        "entered": {"shown": [{"name": "cat"}, {"name": "dan"}, {"name": "eve"}], "more": 2},
    }
    assert stats == TickStats(items=2, frames_built=1, frame_bytes=len(peer.frames[-1]), peers_written=1)
    assert hub.offset == 2


def test_a_tick_with_nothing_new_writes_nothing() -> None:
    hub = make_hub()
    peer = FakePeer("a")
    hub.attach(peer)
    hub.set_count("likes", 1)
    hub.flush()
    before = len(peer.frames)
    hub.set_count("likes", 1)  # unchanged
    assert hub.flush() == TickStats()
    assert hub.flush() == TickStats()
    assert len(peer.frames) == before


def test_counts_coalesce_to_the_latest_changed_value() -> None:
    hub = make_hub()
    peer = FakePeer("a")
    hub.attach(peer)
    for n in range(10_000):
        hub.set_count("likes", n)
    hub.set_count("online", 120)
    hub.flush()
    assert peer.last()["counts"] == {"likes": 9999, "online": 120}
    hub.set_count("likes", 10_000)
    hub.set_count("online", 120)
    hub.flush()
    assert peer.last()["counts"] == {"likes": 10_000}
    assert len(peer.frames) == 3


def test_counts_and_entrances_keep_their_cadence_and_ride_along_with_items() -> None:
    clock = FakeClock()
    hub = make_hub(clock, counts_seconds=1.0, tick_seconds=0.1)
    peer = FakePeer("a")
    hub.attach(peer)
    hub.set_count("online", 1)
    hub.flush()
    assert peer.last()["counts"] == {"online": 1}
    sent = len(peer.frames)
    for online in range(2, 10):  # a room filling up: a change and an entrance every tick
        clock.advance(0.1)
        hub.set_count("online", online)
        hub.add_transient({"viewer_id": f"v{online}", "nickname": f"n{online}"})
        assert hub.flush() == TickStats()
    assert len(peer.frames) == sent
    clock.advance(0.1)  # a comment goes out at once and takes the held figures along
    hub.publish(StreamItem(1, Lane.COMMENT, {"type": "comment", "text": "hi"}))
    hub.flush()
    tick = peer.last()
    assert tick["counts"] == {"online": 9}
    assert tick["entered"]["more"] == 5
    hub.set_count("online", 10)
    clock.advance(0.5)
    assert hub.flush() == TickStats()
    hub.set_count("online", 9)  # set back before it went out: nothing to send
    clock.advance(0.5)
    assert hub.flush() == TickStats()
    hub.set_count("online", 11)
    assert hub.flush().peers_written == 1  # a second after the last figures went out
    assert peer.last()["counts"] == {"online": 11}


@pytest.mark.anyio
async def test_a_held_count_goes_out_without_another_wake() -> None:
    """The run loop keeps ticking while a change is held, so the last figure is not stranded."""
    hub = RoomHub(7, epoch="e1", config=HubConfig(tick_seconds=0.01, counts_seconds=0.05))
    peer = FakePeer("a")
    hub.attach(peer)
    task = asyncio.create_task(hub.run())
    try:
        hub.set_count("online", 1)
        await asyncio.sleep(0.03)
        hub.set_count("online", 2)  # held: the first figure went out less than 50 ms ago
        for _ in range(100):
            await asyncio.sleep(0.01)
            if peer.frames and peer.last()["counts"] == {"online": 2}:
                break
        assert peer.last()["counts"] == {"online": 2}
    finally:
        hub.stop()
        await task


def test_pin_and_unpin_go_out_with_the_next_tick() -> None:
    hub = make_hub()
    peer = FakePeer("a")
    hub.attach(peer)
    hub.set_pinned({"text": "flash sale at 8"})
    hub.flush()
    assert peer.last()["pinned"] == {"text": "flash sale at 8"}
    hub.set_pinned(None)
    hub.flush()
    assert peer.last()["pinned"] is None
    assert hub.snapshot()["pinned"] is None


def test_stale_duplicate_and_reordered_items() -> None:
    hub = make_hub()
    peer = FakePeer("a")
    hub.attach(peer)
    for offset in [1, 3, 2, 3]:  # reordered and duplicated within one tick: repaired
        hub.publish(prio(offset))
    hub.flush()
    assert item_offsets(peer.last()) == [1, 2, 3]
    hub.publish(prio(2))  # already sent: stale
    hub.publish(prio(4))
    hub.flush()
    assert item_offsets(peer.last()) == [4]
    assert hub.stale_items == 1


def test_comments_over_the_rate_are_sampled_evenly_and_counted() -> None:
    clock = FakeClock()
    hub = make_hub(clock, max_comments_per_second=50, tick_seconds=0.1)
    peer = FakePeer("a")
    hub.attach(peer)
    offset = 0
    for tick in range(3):
        clock.advance(0.1)
        for n in range(100):
            offset += 1
            hub.publish(prio(offset) if n % 25 == 0 else comment(offset))
        stats = hub.flush()
        body = peer.last()
        kept = [entry for entry in body["items"] if entry["lane"] == "comment"]
        first = tick * 100
        # 96 comments, 5 allowed: comment ordinals 0, 19, 38, 57, 76 (i * 96 // 5)
        expected = [first + 2, first + 21, first + 41, first + 61, first + 81]
        assert [entry["offset"] for entry in kept] == expected
        assert [entry["offset"] for entry in body["items"] if entry["lane"] == "priority"] == [
            first + 1,
            first + 26,
            first + 51,
            first + 76,
        ]
        assert stats.dropped_comments == 96 - 5
        assert body["offset"] == offset
    assert hub.dropped_comments == 3 * 91


def test_a_late_tick_gets_no_extra_comments() -> None:
    clock = FakeClock()
    hub = make_hub(clock, max_comments_per_second=50, tick_seconds=0.1)
    hub.attach(FakePeer("a"))
    clock.advance(3.0)
    for offset in range(1, 101):
        hub.publish(comment(offset))
    assert hub.flush().items == 5
    clock.advance(0.1)
    for offset in range(101, 104):
        hub.publish(comment(offset))
    assert hub.flush().items == 3


def test_low_rates_let_comments_through_but_not_above_the_rate() -> None:
    clock = FakeClock()
    hub = make_hub(clock, max_comments_per_second=3, tick_seconds=0.1)
    kept = 0
    for offset in range(1, 101):  # 10 seconds, one comment per tick
        clock.advance(0.1)
        hub.publish(comment(offset))
        kept += hub.flush().items
    assert 20 <= kept <= 31
    assert hub.dropped_comments == 100 - kept


def test_pending_comments_are_bounded() -> None:
    hub = make_hub(max_pending_comments=10, max_comments_per_second=1000)
    for offset in range(1, 31):
        hub.publish(comment(offset))
    hub.publish(prio(31))
    stats = hub.flush()
    assert stats.items == 11
    assert stats.dropped_comments == 20
    assert hub.offset == 31


def test_slow_peers_degrade_then_close_and_the_room_goes_on() -> None:
    hub = make_hub()
    fast, soft, hard = FakePeer("fast"), FakePeer("soft", size=SOFT + 1), FakePeer("hard", size=HARD + 1)
    for peer in (fast, soft, hard):
        hub.attach(peer)
    hub.publish(comment(1))
    hub.publish(prio(2))
    hub.publish(comment(3))
    hub.add_transient({"name": "ann"})
    stats = hub.flush()
    assert item_offsets(fast.last()) == [1, 2, 3]
    partial = soft.last()
    assert partial == {
        "type": "tick",
        "epoch": "e1",
        "offset": 3,
        "items": [{"offset": 2, "lane": "priority", "data": {"kind": "host", "text": "host"}}],
        "counts": {},
        "partial": True,
    }
    assert hard.closed == (4008, "slow_consumer")
    assert len(hard.frames) == 1  # the snapshot only
    assert hub.peer_count == 2
    assert stats.frames_built == 2
    assert stats.priority_frame_bytes == len(soft.frames[-1])
    assert (stats.peers_written, stats.peers_degraded, stats.peers_closed) == (2, 1, 1)
    hub.publish(prio(4))
    hub.flush()
    assert item_offsets(fast.last()) == [4]
    assert item_offsets(soft.last()) == [4]
    assert len(hard.frames) == 1


def test_a_soft_limited_peer_is_skipped_when_the_tick_has_only_comments() -> None:
    hub = make_hub()
    soft = FakePeer("soft", size=SOFT + 1)
    hub.attach(FakePeer("fast"))
    hub.attach(soft)
    hub.publish(comment(1))
    stats = hub.flush()
    assert len(soft.frames) == 1  # the snapshot only
    assert (stats.frames_built, stats.peers_written, stats.peers_degraded) == (1, 1, 1)


def test_a_soft_limited_peer_still_sees_counts_change() -> None:
    hub = make_hub()
    soft = FakePeer("soft", size=SOFT + 1)
    hub.attach(soft)
    hub.set_count("online", 42)
    hub.flush()
    assert soft.last()["counts"] == {"online": 42}


def test_a_peer_that_keeps_growing_is_degraded_then_closed() -> None:
    hub = make_hub()
    slow = FakePeer("slow", grows=True)
    fast = FakePeer("fast")
    hub.attach(slow)
    hub.attach(fast)
    for offset in range(1, 200):
        hub.publish(StreamItem(offset=offset, lane=Lane.PRIORITY, data={"text": "x" * 100}))
        hub.flush()
        if slow.closed:
            break
    assert slow.closed == (4008, "slow_consumer")
    assert slow.size > HARD - 200
    hub.publish(prio(500))
    hub.flush()
    assert item_offsets(fast.last()) == [500]
    assert len(fast.frames) == offset + 2


def test_a_failing_peer_is_closed_and_detached() -> None:
    hub = make_hub()
    broken, fine = BrokenPeer("broken"), FakePeer("fine")
    hub.attach(broken)
    hub.attach(fine)
    hub.publish(prio(1))
    stats = hub.flush()
    assert broken.closed == (1011, "internal_error")
    assert stats.peers_closed == 1
    assert item_offsets(fine.last()) == [1]
    assert hub.peer_count == 1


def test_encode_once_per_tick_whatever_the_number_of_peers(monkeypatch: pytest.MonkeyPatch) -> None:
    encoded: list[dict[str, Any]] = []
    real = hub_module._encode

    def counting(body: dict[str, Any]) -> OutFrame:
        encoded.append(body)
        return real(body)

    hub = make_hub()
    peers = [FakePeer(f"p{n}", size=SOFT + 1 if n % 10 == 0 else 0) for n in range(1000)]
    for peer in peers:
        hub.attach(peer)
    monkeypatch.setattr(hub_module, "_encode", counting)
    for tick in range(5):
        encoded.clear()
        hub.publish(comment(2 * tick + 1))
        if tick % 2:
            hub.publish(prio(2 * tick + 2))
        hub.flush()
        assert len(encoded) == (2 if tick % 2 else 1)
        full = {id(peer.frames[-1]) for peer in peers if peer.size == 0}
        assert len(full) == 1
    assert all(peer.buffered_calls == 5 for peer in peers)


def test_resume_writes_what_was_missed_then_ticks_continue() -> None:
    hub = make_hub()
    peer = FakePeer("a")
    hub.attach(peer)
    hub.publish(prio(1))
    hub.flush()
    hub.detach(peer)
    hub.publish(comment(2))
    hub.publish(prio(3))
    hub.set_count("likes", 9)
    hub.flush()
    hub.publish(prio(4))  # pending: goes out with the next tick, not with the resume frame
    again = FakePeer("a")
    assert hub.attach(again, epoch="e1", offset=1) is True
    assert again.last() == {
        "type": "resume",
        "epoch": "e1",
        "offset": 3,
        "items": [
            {"offset": 2, "lane": "comment", "data": {"kind": "comment", "n": 2}},
            {"offset": 3, "lane": "priority", "data": {"kind": "host", "text": "host"}},
        ],
        "counts": {"likes": 9},
        "pinned": None,
    }
    hub.flush()
    assert item_offsets(again.last()) == [4]


@pytest.mark.parametrize(("epoch", "offset"), [("e0", 1), ("e1", 1), ("e1", 99), (None, 5), ("e1", None)])
def test_resume_falls_back_to_the_snapshot(epoch: str | None, offset: int | None) -> None:
    hub = RoomHub(7, epoch="e1", history_capacity=3, clock=FakeClock())
    for n in range(1, 6):
        hub.publish(prio(n))
    hub.flush()
    peer = FakePeer("a")
    assert hub.resume(peer, epoch=epoch, offset=offset) is False
    assert peer.last()["type"] == "snapshot"
    assert peer.last()["offset"] == 5


def test_a_peer_attached_mid_tick_gets_each_item_once() -> None:
    hub = make_hub()
    hub.publish(prio(1))
    hub.flush()
    hub.publish(prio(2))
    peer = FakePeer("a")
    hub.attach(peer)
    assert peer.last()["offset"] == 1
    hub.flush()
    assert item_offsets(peer.last()) == [2]


def test_attach_and_detach_are_by_identity() -> None:
    hub = make_hub()
    old, new = FakePeer("a"), FakePeer("a")
    hub.attach(old)
    with pytest.raises(ValueError, match="already attached"):
        hub.attach(new)
    hub.detach(old)
    hub.attach(new)
    hub.detach(old)  # the old connection's late cleanup must not drop the new one
    assert hub.peer_count == 1


def test_items_without_peers_still_reach_the_history() -> None:
    hub = make_hub()
    hub.publish(prio(1))
    assert hub.flush() == TickStats(items=1)
    assert [item.offset for item in hub.history] == [1]


@pytest.mark.parametrize(
    "bad",
    [
        {"tick_seconds": 0},
        {"max_comments_per_second": -1},
        {"soft_limit_bytes": 10, "hard_limit_bytes": 10},
        {"max_pending_comments": 0},
        {"max_entered_per_tick": -1},
    ],
)
def test_config_is_validated(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"must|need"):
        HubConfig(**bad)


def test_notices_wait_for_the_cadence_in_order_and_never_overtake() -> None:
    """A flash sale's "someone just bought" burst: one frame a second, nothing lost or reordered."""
    clock = FakeClock()
    hub = make_hub(clock, counts_seconds=1.0, tick_seconds=0.1)
    peer = FakePeer("a")
    hub.attach(peer)
    sent = len(peer.frames)

    def paid(offset: int) -> StreamItem:
        return StreamItem(offset, Lane.NOTICE, {"type": "order_paid", "n": offset})

    hub.publish(paid(1))
    hub.flush()  # the first notice: nothing went out in the last second
    assert [item["offset"] for item in peer.last()["items"]] == [1]
    for offset in range(2, 8):
        clock.advance(0.1)
        hub.publish(paid(offset))
        assert hub.flush() == TickStats()
    assert len(peer.frames) == sent + 1
    assert hub.offset == 1  # held notices are not committed to the history yet
    clock.advance(0.1)
    hub.publish(StreamItem(8, Lane.PRIORITY, {"type": "host_message", "text": "3 left!"}))
    hub.flush()  # an urgent item takes the held notices along, in stream order
    assert [item["offset"] for item in peer.last()["items"]] == [2, 3, 4, 5, 6, 7, 8]
    clock.advance(0.1)
    hub.publish(paid(9))
    assert hub.flush() == TickStats()
    clock.advance(0.9)
    hub.flush()
    assert [item["offset"] for item in peer.last()["items"]] == [9]
    assert hub.offset == 9
