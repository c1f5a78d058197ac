"""ShowAggregate, the pure update path: what a drain hands over, the window's edges, node splits."""

from __future__ import annotations

import itertools
import random
from collections import Counter

from hypothesis import example, given, settings
from hypothesis import strategies as st

from liveloop.analytics.live_aggregate import ShowAggregate
from liveloop.analytics.live_delta import ShowDelta
from liveloop.analytics.live_state import PAIRING_MS, epoch_ms
from liveloop.core.events import Event
from liveloop.sim.live_bench import START, generate
from tests.analytics.live_support import at, enter, ev, leave


def aggregate(ended: float | None = None) -> ShowAggregate:
    return ShowAggregate(100, started_at=at(0), ended_at=None if ended is None else at(ended))


def test_a_drain_hands_over_sums_and_new_members_once() -> None:
    agg = aggregate()
    agg.apply(
        [
            enter(1, "u:1", "share"),
            ev("comment.posted", 2, "u:1", text="a"),
            ev("like.batched", 3, "u:1", count=4),
        ]
    )
    delta = agg.drain(at(10))
    assert delta.sums == {
        "pv": 1,
        "open": 1,
        "open_ms": 1000,
        "comments": 1,
        "likes": 4,
        "src:share": 1,
        "m0:entries": 1,
        "m0:comments": 1,
        "m0:likes": 4,
    }
    assert delta.distinct == {
        "uv": ["u:1"],
        "commenting": ["u:1"],
        "liking": ["u:1"],
        "interacting": ["u:1"],
        "src:share": ["u:1"],
    }
    assert agg.drain(at(11)) == ShowDelta()  # nothing new
    agg.apply(
        [
            ev("comment.posted", 40, "u:1", text="b"),
            ev("comment.posted", 41, None, text="no actor"),
            ev("comment.posted", 42, "s:7", text="a host on the room socket"),
            ev("comment.posted", 42, "staff:8", text="an operator"),
            ev("like.batched", 42, "u:s:9", count=1),  # a viewer whose id holds a staff prefix
        ]
    )
    again = agg.drain(at(43))
    assert again.sums == {"comments": 4, "m1:comments": 4, "likes": 1, "m1:likes": 1}
    # u:1 was handed over already; comments without an actor or by staff count, but are no viewers'
    assert again.distinct == {"liking": ["u:s:9"], "interacting": ["u:s:9"]}


def test_the_window_and_its_grace() -> None:
    agg = aggregate(ended=600)
    agg.apply(
        [
            ev("comment.posted", -3, "u:1", text="before the grace"),
            ev("comment.posted", -1, "u:1", text="in the grace: minute 0"),
            ev("comment.posted", 601, "u:1", text="in the grace: the last minute"),
            ev("comment.posted", 603, "u:1", text="after the grace"),
        ]
    )
    sums = agg.drain(at(700)).sums
    assert (sums["comments"], sums["m0:comments"], sums["m10:comments"]) == (2, 1, 1)


def test_overlapping_sessions_are_capped_at_the_show_length() -> None:
    # Two sessions of one viewer that both began before the show (inconsistent input, e.g. a replay):
    # the viewer's watch time still never exceeds the show's length so far.
    agg = aggregate()
    agg.apply([leave(500, "u:f", 800.0), leave(550, "u:f", 900.0)])
    sums = agg.drain(at(560)).sums
    assert sums["watch_ms"] == 550_000
    assert (sums["pv"], sums["sessions"], sums["m0:entries"]) == (2, 2, 2)


def test_a_late_event_of_a_forgotten_minute_still_counts() -> None:
    agg = aggregate()
    agg.apply([ev("product.exposed", 5, "u:1", show_id=100, product_id=1, surface="card")])
    agg.apply([ev("comment.posted", 4 * 60, "u:2", text="later")])
    agg.drain(at(5 * 60))  # minute 0's dedup sets are dropped now
    agg.apply([ev("product.exposed", 6, "u:1", show_id=100, product_id=1, surface="card")])
    delta = agg.drain(at(5 * 60 + 1))
    assert delta.sums == {"exposures": 1, "p1:exposures": 1}
    assert delta.distinct == {"m0:exposure": ["u:1"]}  # sent again: adding it twice is harmless


def test_entries_are_attributed_to_the_explained_product_after_a_delay() -> None:
    agg = aggregate()
    agg.merge_segments({epoch_ms(at(10)): 7})
    agg.apply([enter(20, "u:1"), enter(21, "u:2")])
    assert "p7:explained_pv" not in agg.drain(at(22)).sums  # too recent: another node's change may lag
    assert agg.touched
    assert agg.drain(at(25)).sums["p7:explained_pv"] == 2


def ambiguous_leaves(stream: list[Event]) -> int:
    """Leaves whose session began within ``PAIRING_MS`` of the viewer's previous entry: a node still
    holding that older entry (its session left through another node) cannot tell the two apart."""
    entered: dict[str, list[int]] = {}
    count = 0
    for e in stream:
        viewer, at = e.actor or "", epoch_ms(e.at)
        if e.type == "viewer.entered":
            entered.setdefault(viewer, []).append(at)
        elif e.type == "viewer.left":
            began = at - round(e.data["watch_seconds"] * 1000)
            earlier = entered.get(viewer, [])[:-1]  # the last entry is this session's own
            count += any(abs(began - entry) <= PAIRING_MS for entry in earlier)
    return count


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), nodes=st.integers(2, 4), drains=st.integers(1, 6), sticky=st.booleans())
@example(seed=0, nodes=3, drains=1, sticky=True)
@example(seed=0, nodes=3, drains=1, sticky=False)  # a re-entry within PAIRING_MS whose leave is ambiguous
def test_nodes_split_any_way_hand_over_what_one_node_does(
    seed: int, nodes: int, drains: int, sticky: bool
) -> None:
    stream = next(generate(events=600, viewers=60, show_minutes=3, seed=seed, chunk=600))
    one, parts = (
        ShowAggregate(1, started_at=START),
        [ShowAggregate(1, started_at=START) for _ in range(nodes)],
    )
    # Every node learns every explain change through Counters; here they know them all up front.
    segments = {epoch_ms(e.at): e.data["product_id"] for e in stream if e.type == "showcase.explaining"}
    for agg in (one, *parts):
        agg.merge_segments(segments)
    pick = random.Random(seed)
    split: list[list[int]] = [[] for _ in range(nodes)]
    # sticky: a viewer's events go to the node holding its socket. Otherwise any event goes to any
    # node, so sessions often enter on one node and leave through another (a leave swept there).
    node_of: dict[str, int] = {}
    for i, event in enumerate(stream):
        actor = event.actor or f"#{i}"
        node = node_of.setdefault(actor, pick.randrange(nodes)) if sticky else pick.randrange(nodes)
        split[node].append(i)
    total, merged = ShowDelta(), ShowDelta()
    cut = [len(stream) * k // drains for k in range(drains + 1)]
    end = stream[-1].at
    for lo, hi in itertools.pairwise(cut):
        one.apply(stream[lo:hi])
        total.merge(one.drain(end))
        for part, indexes in zip(parts, split, strict=True):
            part.apply([stream[i] for i in indexes if lo <= i < hi])
            merged.merge(part.drain(end))
    got, want = ({k: v for k, v in delta.sums.items() if v and k != "open_ms"} for delta in (merged, total))
    assert got == want
    assert {k: set(v) for k, v in merged.distinct.items()} == {k: set(v) for k, v in total.distinct.items()}
    assert Counter(e.type for e in stream)["viewer.entered"] == total.sums.get("pv", 0)
    # open_ms: a leave pairs with the entry its node holds when that entry is within PAIRING_MS of the
    # session's start, else with the start itself (exact either way) - except when the node holds an
    # older session's entry that close (that session left elsewhere): then it is off by at most that.
    off = abs(merged.sums.get("open_ms", 0) - total.sums.get("open_ms", 0))
    assert off <= (0 if sticky else PAIRING_MS * ambiguous_leaves(stream))


def test_a_viewer_who_enters_and_leaves_in_one_batch_closes_the_session_it_opened() -> None:
    # Minute 1 (from 30 s) is a whole minute; u:1's leave closes the session its first entry opened.
    agg = aggregate()
    agg.apply(
        [
            enter(40, "u:1", "share"),
            enter(41, "u:2", ""),  # no source: "other"
            leave(45, "u:1", 5.0),
            enter(50, "u:1", "share"),
        ]
    )
    sums = agg.drain(at(60)).sums
    assert (sums["pv"], sums["open"], sums["sessions"], sums["quick_exits"]) == (3, 2, 1, 1)
    assert sums["open_ms"] == 41_000 + 50_000  # u:2's entry and u:1's second one
    assert sums["watch_ms"] == 5_000
    assert (sums["m1:entries"], sums["m1:leaves"], sums["src:share"], sums["src:other"]) == (3, 1, 2, 1)
    assert set(agg.open_sessions()) == {"u:1", "u:2"}


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), viewers=st.sampled_from([20, 2_000]), most=st.integers(1, 40))
def test_a_batch_folds_as_its_events_do_in_any_smaller_batches(seed: int, viewers: int, most: int) -> None:
    # Entries fold their counts and members after their group's loop, leaves in it: however the
    # stream is cut (few viewers: a batch often holds a viewer's entry, leave and re-entry), the
    # drains must hand over the same, exactly.
    stream = next(generate(events=900, viewers=viewers, show_minutes=3, seed=seed, chunk=900))
    whole, pieces = ShowAggregate(1, started_at=START), ShowAggregate(1, started_at=START)
    whole.apply(stream)
    pick, begin = random.Random(seed), 0
    while begin < len(stream):
        size = pick.randint(1, most)
        pieces.apply(stream[begin : begin + size])
        begin += size
    assert whole.open_sessions() == pieces.open_sessions()
    end = stream[-1].at
    want, got = whole.drain(end, final=True), pieces.drain(end, final=True)
    assert got.sums == want.sums
    assert {k: set(v) for k, v in got.distinct.items()} == {k: set(v) for k, v in want.distinct.items()}
