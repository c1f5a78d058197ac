"""ShowAggregate's folds, pinned with hand-computed figures: the leaves' sums, the products' exposure
and click counts (taken at the drain), and explain segments learned in and out of order."""

from __future__ import annotations

from liveloop.analytics.live_aggregate import ShowAggregate
from liveloop.analytics.live_state import epoch_ms
from liveloop.core.events import Event
from tests.analytics.live_support import at, enter, ev, leave


def aggregate() -> ShowAggregate:
    return ShowAggregate(100, started_at=at(0))


def signal(kind: str, seconds: float, actor: str | None, product_id: int) -> Event:
    return ev(kind, seconds, actor, show_id=100, product_id=product_id, surface="card")


def test_leaves_close_their_sessions_wherever_they_entered() -> None:
    # T0 is 12:00:30, so 40 s .. 50 s is minute 1, a whole minute.
    agg = aggregate()
    agg.apply(
        [
            enter(40, "u:1"),
            leave(45, "u:1", 5.0),  # closes the session entered here at 40 s: a quick exit
            leave(50, "u:2", 20.0),  # began at 30 s: entered on another node
            leave(50, "u:3", 100.0),  # began 50 s before the start: an entry at the start
        ]
    )
    delta = agg.drain(at(60))
    sums = delta.sums
    assert (sums["pv"], sums["sessions"], sums["quick_exits"]) == (2, 3, 1)
    # One entry here; three sessions closed, u:3's opened at the start: 1 - (3 - 1).
    assert sums["open"] == -1
    # +40 000 (u:1 in) - 40 000 (u:1 out) - 30 000 (u:2, entered elsewhere at 30 s); u:3 adds nothing.
    assert sums["open_ms"] == -30_000
    assert sums["watch_ms"] == 5_000 + 20_000 + 50_000
    assert (sums["m0:entries"], sums["m1:entries"], sums["m1:leaves"]) == (1, 1, 3)
    assert sorted(delta.distinct["uv"]) == ["u:1", "u:3"]
    assert agg.open_sessions() == {}


def test_product_exposures_and_clicks_count_every_event_and_their_viewers_once() -> None:
    agg = aggregate()
    agg.apply(
        [
            signal("product.exposed", 1, "u:1", 1),
            signal("product.exposed", 2, "u:1", 1),
            signal("product.exposed", 3, None, 1),  # no actor: counted, but no viewer
            signal("product.exposed", 4, "u:2", 2),
            signal("product.clicked", 5, "u:2", 2),
            signal("product.clicked", 6, "u:2", 2),
        ]
    )
    delta = agg.drain(at(10))
    assert delta.sums == {
        "exposures": 4,
        "clicks": 2,
        "p1:exposures": 3,
        "p2:exposures": 1,
        "p2:clicks": 2,
    }
    distinct = {name: sorted(members) for name, members in delta.distinct.items()}
    assert distinct == {
        "exposure": ["u:1", "u:2"],
        "click": ["u:2"],
        "m0:exposure": ["u:1", "u:2"],
        "m0:click": ["u:2"],
        "p1:exposure": ["u:1"],
        "p2:exposure": ["u:2"],
        "p2:click": ["u:2"],
    }
    agg.apply([signal("product.clicked", 12, "u:2", 1), signal("product.clicked", 13, "u:3", 2)])
    again = agg.drain(at(20))
    # The counts start again from the drain; u:2 is new to product 1's clicks, not to the show's.
    assert again.sums == {"clicks": 2, "p1:clicks": 1, "p2:clicks": 1}
    assert {name: sorted(members) for name, members in again.distinct.items()} == {
        "click": ["u:3"],
        "m0:click": ["u:3"],
        "p1:click": ["u:2"],
        "p2:click": ["u:3"],
    }


def test_explain_segments_learned_out_of_order_attribute_entries_by_time() -> None:
    agg = aggregate()
    agg.merge_segments({epoch_ms(at(20)): 7})  # another node's change, learned first
    agg.apply(
        [
            ev("showcase.explaining", 10, "staff:1", show_id=100, product_id=8),  # before the known one
            ev("showcase.explaining", 30, "staff:1", show_id=100, product_id=None),  # after: stopped
            ev("showcase.explaining", 40, "staff:1", show_id=100, product_id=9),
            enter(5, "u:1"),  # before any segment
            enter(15, "u:2"),  # 8
            enter(25, "u:3"),  # 7
            enter(26, "u:4"),  # 7
            enter(35, "u:5"),  # nothing explained
            enter(45, "u:6"),  # 9
        ]
    )
    assert [agg.explained_at(epoch_ms(at(s))) for s in (5, 15, 25, 35, 45)] == [None, 8, 7, None, 9]
    delta = agg.drain(at(100))
    assert {k: v for k, v in delta.sums.items() if k.endswith("explained_pv")} == {
        "p8:explained_pv": 1,
        "p7:explained_pv": 2,
        "p9:explained_pv": 1,
    }
    assert delta.explain == {str(epoch_ms(at(s))): p for s, p in ((10, 8), (30, -1), (40, 9))}
    # Learning a known segment again changes nothing; a changed one replaces it.
    agg.merge_segments({epoch_ms(at(20)): 7, epoch_ms(at(40)): 6})
    assert agg.explained_at(epoch_ms(at(45))) == 6
