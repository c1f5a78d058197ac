from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liveloop.realtime import Lane, RoomHistory, StreamItem


def item(offset: int, lane: Lane = Lane.PRIORITY) -> StreamItem:
    return StreamItem(offset=offset, lane=lane, data={"n": offset})


def offsets(items: list[StreamItem] | None) -> list[int] | None:
    return None if items is None else [i.offset for i in items]


def test_since_returns_the_items_after_an_offset() -> None:
    history = RoomHistory("e1")
    for n in range(1, 6):
        history.append(item(n))
    assert history.last_offset == 5
    assert offsets(history.since(2)) == [3, 4, 5]
    assert offsets(history.since(0)) == [1, 2, 3, 4, 5]
    assert history.since(5) == []


def test_since_is_none_when_the_gap_was_evicted() -> None:
    history = RoomHistory("e1", capacity=3)
    for n in range(1, 6):
        history.append(item(n))
    assert offsets(list(history)) == [3, 4, 5]
    assert offsets(history.since(2)) == [3, 4, 5]
    assert history.since(1) is None


def test_since_is_none_for_another_epoch_or_an_offset_from_the_future() -> None:
    history = RoomHistory("e1")
    history.append(item(1))
    assert offsets(history.since(0, epoch="e1")) == [1]
    assert history.since(0, epoch="e0") is None
    assert history.since(2) is None


def test_a_fresh_history_vouches_for_nothing_before_its_first_item() -> None:
    history = RoomHistory("e1")
    assert history.since(0) is None
    history.append(item(57))
    assert offsets(history.since(56)) == [57]
    assert history.since(40) is None


def test_advance_moves_the_position_over_items_not_kept() -> None:
    history = RoomHistory("e1")
    history.append(item(1))
    history.advance(4)  # 2..4 were dropped comments
    history.append(item(5))
    assert history.last_offset == 5
    assert offsets(history.since(3)) == [5]
    history.advance(2)  # not newer: no-op
    assert history.last_offset == 5


@pytest.mark.parametrize("offset", [3, 2])
def test_append_rejects_offsets_that_do_not_increase(offset: int) -> None:
    history = RoomHistory("e1")
    history.append(item(3))
    with pytest.raises(ValueError, match="not after"):
        history.append(item(offset))


def test_recent_picks_the_last_items_of_a_lane_oldest_first() -> None:
    history = RoomHistory("e1")
    for n in range(1, 11):
        history.append(item(n, Lane.COMMENT if n % 2 else Lane.PRIORITY))
    assert offsets(history.recent(3, lane=Lane.COMMENT)) == [5, 7, 9]
    assert offsets(history.recent(2)) == [9, 10]
    assert history.recent(0) == []
    assert len(history.recent(100, lane=Lane.PRIORITY)) == 5


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        RoomHistory("e1", capacity=0)


@settings(max_examples=200, deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=1, max_value=3), min_size=1, max_size=60),
    capacity=st.integers(min_value=1, max_value=20),
    probe=st.integers(min_value=0, max_value=200),
)
def test_since_is_exact_or_none(gaps: list[int], capacity: int, probe: int) -> None:
    history = RoomHistory("e1", capacity=capacity)
    every: list[int] = []
    offset = 0
    for gap in gaps:
        offset += gap
        history.append(item(offset))
        every.append(offset)
    got = offsets(history.since(probe))
    expected = [n for n in every if n > probe]
    evicted = every[: max(0, len(every) - capacity)]
    # The history vouches for offsets from the newest evicted one (or the one before its first item).
    floor = evicted[-1] if evicted else every[0] - 1
    if probe > offset or probe < floor:
        assert got is None
    else:
        assert got == expected


def test_a_lane_from_the_wire_becomes_a_lane_and_unknown_lanes_are_refused() -> None:
    decoded: Any = "comment"
    assert StreamItem(offset=1, lane=decoded, data={}).lane is Lane.COMMENT
    unknown: Any = "gossip"
    with pytest.raises(ValueError, match="gossip"):
        StreamItem(offset=1, lane=unknown, data={})
