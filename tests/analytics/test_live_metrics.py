"""Live metrics of small shows, every figure worked out by hand from METRICS.md.

The show starts at T0 = 12:00:30 (so minute 0 is the half minute 12:00:30-12:01:00). Events go
through LiveMetrics one at a time, each followed by a flush, into Counters (memory or Redis), and the
figures come back from :meth:`LiveMetrics.snapshot`.
"""

from __future__ import annotations

from typing import Any

import pytest

from liveloop.core.counters import Counters
from liveloop.rooms import ShowNotFound, ShowState
from tests.analytics.live_support import (
    SHOP,
    SHOW,
    Clock,
    FakeWindows,
    enter,
    ev,
    leave,
    node,
    order,
    play,
    value,
    window,
)

pytestmark = pytest.mark.anyio


def live_show_events() -> list[Any]:
    return [
        ev("comment.posted", -10, "u:1", text="early"),  # before the start (and its grace): not counted
        enter(0, "u:1", "recommend"),
        enter(10, "u:2", "follow"),
        enter(20, "u:3", "recommend"),
        ev("poll.voted", 25, "u:3", poll_id=1, option=0),
        leave(28, "u:3", 8.0),  # a quick exit
        ev("comment.posted", 30, "u:1", text="hi"),
        ev("comment.posted", 40, "u:1", text="hi again"),
        ev("like.batched", 50, "u:2", count=5),
        ev("showcase.explaining", 55, "staff:1", show_id=SHOW, product_id=7, previous_product_id=None),
        ev("product.exposed", 60, "u:1", show_id=SHOW, product_id=7, surface="card"),
        ev("product.exposed", 61, "u:2", show_id=SHOW, product_id=7, surface="card"),
        ev("product.exposed", 62, "u:1", show_id=SHOW, product_id=8, surface="bag"),
        enter(65, "u:4", "share"),
        leave(70, "u:4", 5.0),  # a quick exit
        ev("product.clicked", 70, "u:1", show_id=SHOW, product_id=7, surface="card"),
        ev("product.clicked", 80, "u:2", show_id=SHOW, product_id=7, surface="card"),
        ev("product.clicked", 90, "u:1", show_id=SHOW, product_id=7, surface="pinned"),
        enter(100, "u:4", "share"),  # a re-entry: PV, not UV
        order("order.created", 100, "u:1", 7, 9900),
        order("order.paid", 110, "u:1", 7, 9900),
        ev("coupon.redeemed", 110, "u:1", coupon_id=1, template_id=1, order_id=1, discount_cents=500),
        ev("share.made", 110, "u:4", channel="wechat"),
        ev("product.exposed", 120, "u:4", show_id=SHOW, product_id=7, surface="pinned"),
        ev("showcase.explaining", 125, "staff:1", show_id=SHOW, product_id=8, previous_product_id=7),
        ev("comment.posted", 130, "u:2", text="nice"),
        ev("like.batched", 140, "u:1", count=20),
        ev("follow.made", 150, "u:1"),
        ev("showcase.explaining", 200, "staff:1", show_id=SHOW, product_id=None, previous_product_id=8),
        ev("comment.posted", 210, "u:9", show_id=999, text="another show"),  # unknown show: ignored
        ev("comment.posted", 211, "u:9", show_id=None, room_id=None, text="no show"),  # ignored
    ]


async def test_a_live_show_by_hand(shared_counters: Counters) -> None:
    clock = Clock()
    metrics = node(FakeWindows(window(started=0)), shared_counters, clock)
    await play(metrics, clock, live_show_events(), until=300)
    m = await metrics.snapshot(SHOP, SHOW)

    assert (m["show_id"], m["status"], m["duration_seconds"]) == (SHOW, "live", 300.0)
    assert (m["started_at"], m["ended_at"], m["as_of"]) == (
        "2026-12-01T12:00:30Z",
        None,
        "2026-12-01T12:05:30Z",
    )
    t = m["totals"]
    # Traffic: u1, u2, u3, u4 entered; u4 twice. u3 (8 s) and u4 (5 s) left: both quick exits.
    assert (t["uv"], t["pv"], t["ccu"], t["pcu"]) == (4, 5, 3, 3)
    assert (t["sessions"], t["effective_views"]) == (2, 0)
    assert t["quick_exit_rate"] == {"value": 1.0, "numerator": 2, "denominator": 2, "base": "sessions"}
    assert t["sources"] == {"follow": 1, "recommend": 2, "share": 1}
    # Watch: closed 8 + 5; open u1 (0..300) + u2 (10..300) + u4 (100..300) = 300 + 290 + 200.
    assert t["watch_seconds"] == pytest.approx(803.0)
    assert value(t["acu"]) == pytest.approx(803 / 300)
    assert t["acu"]["base"] == "duration_seconds"
    assert value(t["avg_watch_seconds"]) == pytest.approx(803 / 4)
    # Interaction: 3 comments by 2, 25 likes by 2, 1 share, 1 follow, 1 vote; u1..u4 all interacted.
    assert (t["comments"], t["likes"], t["shares"], t["follows"], t["votes"], t["questions"]) == (
        3,
        25,
        1,
        1,
        1,
        0,
    )
    assert (t["commenting_uv"], t["liking_uv"], t["sharing_uv"], t["interacting_uv"]) == (2, 2, 1, 4)
    assert [value(t[k]) for k in ("comment_rate", "like_rate", "share_rate", "follow_rate")] == [
        0.5,
        0.5,
        0.25,
        0.25,
    ]
    assert (value(t["comments_per_viewer"]), value(t["interaction_rate"])) == (0.75, 1.0)
    # Commerce: exposed u1, u2, u4; clicked u1, u2; u1 ordered and paid 9900 with a 500 coupon.
    assert (t["exposure_uv"], t["click_uv"], t["order_uv"], t["paid_uv"]) == (3, 2, 1, 1)
    assert (t["orders"], t["paid_orders"], t["gmv_cents"], t["refund_cents"], t["net_gmv_cents"]) == (
        1,
        1,
        9900,
        0,
        9900,
    )
    assert t["coupon_cost_cents"] == 500
    assert value(t["exposure_rate"]) == 0.75
    assert t["ctr"] == {"value": 2 / 3, "numerator": 2, "denominator": 3, "base": "exposure_uv"}
    assert (value(t["click_to_order"]), value(t["order_to_paid"]), value(t["click_to_paid"])) == (
        0.5,
        1.0,
        0.5,
    )
    assert value(t["view_to_paid"]) == 0.25
    assert t["gpm"] == {"value": 9900 / 5 * 1000, "numerator": 9900, "denominator": 5, "base": "pv"}
    assert t["opm"] == {"value": 1 / 5 * 1000, "numerator": 1, "denominator": 5, "base": "pv"}
    assert (value(t["uv_value"]), value(t["aov_per_order"]), value(t["aov_per_buyer"])) == (
        2475.0,
        9900.0,
        9900.0,
    )
    assert (t["aov_per_order"]["base"], t["aov_per_buyer"]["base"]) == ("paid_orders", "paid_uv")

    # Explained: 7 from 55 s to 125 s (entries of u4 at 65 and 100), 8 from 125 s to 200 s, then none.
    assert m["explaining_product_id"] is None
    p7, p8 = m["products"]
    assert (p7["product_id"], p8["product_id"]) == (7, 8)
    assert {
        k: p7[k] for k in ("exposure_uv", "click_uv", "order_uv", "paid_uv", "paid_orders", "gmv_cents")
    } == {
        "exposure_uv": 3,
        "click_uv": 2,
        "order_uv": 1,
        "paid_uv": 1,
        "paid_orders": 1,
        "gmv_cents": 9900,
    }
    assert (p7["explained_seconds"], p7["explained_pv"], p7["explaining"]) == (70.0, 2, False)
    assert p7["product_gpm"] == {
        "value": 9900 / 2 * 1000,
        "numerator": 9900,
        "denominator": 2,
        "base": "explained_pv",
    }
    assert (value(p7["ctr"]), value(p7["click_to_paid"])) == (2 / 3, 0.5)
    assert (p8["exposure_uv"], p8["click_uv"], p8["explained_seconds"], p8["explained_pv"]) == (1, 0, 75.0, 0)
    assert (value(p8["ctr"]), value(p8["click_to_paid"]), value(p8["product_gpm"])) == (0.0, None, None)


async def test_minutes_of_the_live_show(shared_counters: Counters) -> None:
    clock = Clock()
    metrics = node(FakeWindows(window(started=0)), shared_counters, clock)
    await play(metrics, clock, live_show_events(), until=300)
    minutes = (await metrics.snapshot(SHOP, SHOW))["minutes"]
    # 12:00 (from 12:00:30) .. 12:05 (now, 12:05:30): six calendar minutes.
    assert [m["minute"] for m in minutes] == [f"2026-12-01T12:0{i}:00Z" for i in range(6)]
    assert [m["index"] for m in minutes] == list(range(6))
    cols = ("entries", "leaves", "ccu", "max_ccu", "comments", "likes", "shares", "votes", "follows")
    assert [tuple(m[c] for c in cols) for m in minutes] == [
        (3, 1, 2, 3, 0, 0, 0, 1, 0),  # u1, u2, u3 in (3 at 20 s); u3 out; u3 voted
        (1, 1, 2, 3, 2, 5, 0, 0, 0),  # u4 in and out
        (1, 0, 3, 3, 1, 20, 1, 0, 0),  # u4 back
        (0, 0, 3, 3, 0, 0, 0, 0, 1),
        (0, 0, 3, 3, 0, 0, 0, 0, 0),
        (0, 0, 3, 3, 0, 0, 0, 0, 0),
    ]
    # Intensity: (comments + shares + votes + likes / 10) / CCU of the minute.
    assert [m["intensity"] for m in minutes] == [1 / 2, (2 + 0.5) / 2, (1 + 1 + 2) / 3, 0.0, 0.0, 0.0]
    assert [(m["exposure_uv"], m["click_uv"]) for m in minutes] == [
        (0, 0),
        (2, 2),
        (1, 1),
        (0, 0),
        (0, 0),
        (0, 0),
    ]
    assert [(m["orders"], m["paid_orders"], m["gmv_cents"]) for m in minutes][2] == (1, 1, 9900)
    # Explained longest: minute 1 has 7 from 55 s; minute 2 has 7 for 35 s and 8 for 25 s.
    assert [m["explaining_product_id"] for m in minutes] == [None, 7, 7, 8, None, None]
    assert (await metrics.snapshot(SHOP, SHOW, minutes=False))["minutes"] == []


async def test_an_ended_show_caps_watch_time_and_keeps_sessions_open_at_the_end(
    shared_counters: Counters,
) -> None:
    clock = Clock()
    metrics = node(FakeWindows(window(started=0, ended=600)), shared_counters, clock)
    events = [
        leave(100, "u:a", 400.0),  # in the room 300 s before the start: an entry at the start
        enter(50, "u:b"),
        enter(100, "u:c"),  # still there at the end (and after)
        leave(700, "u:b", 650.0),  # left after the end (a lagging node): counts up to the end
        leave(650, "u:e", 1000.0),  # there before the start and after the end: the whole show
        ev("comment.posted", 601, "u:c", text="in the grace"),
        ev("comment.posted", 603, "u:c", text="too late"),
    ]
    await play(metrics, clock, events, until=900)
    m = await metrics.snapshot(SHOP, SHOW)
    t = m["totals"]
    assert (m["status"], m["duration_seconds"], m["ended_at"]) == ("ended", 600.0, "2026-12-01T12:10:30Z")
    assert (t["uv"], t["pv"], t["ccu"], t["comments"]) == (4, 4, 0, 1)
    # a: 0..100, b: 50..600, c: 100..600 (open at the end), e: capped at the show's 600 s.
    assert t["watch_seconds"] == pytest.approx(100 + 550 + 500 + 600)
    assert value(t["acu"]) == pytest.approx(1750 / 600)
    assert (t["sessions"], t["effective_views"], value(t["quick_exit_rate"])) == (3, 3, 0.0)
    minutes = m["minutes"]
    assert len(minutes) == 11  # 12:00 .. 12:10
    assert [(x["entries"], x["leaves"], x["ccu"]) for x in minutes[:3]] == [(2, 0, 2), (1, 0, 3), (1, 1, 3)]
    assert minutes[-1]["ccu"] == 3  # b, c, e were there when it ended
    assert t["pcu"] == 3
    # Nothing sold: every rate over a zero is null, with its parts.
    assert t["ctr"] == {"value": None, "numerator": 0, "denominator": 0, "base": "exposure_uv"}
    for name in ("click_to_order", "order_to_paid", "click_to_paid", "aov_per_order", "aov_per_buyer"):
        assert value(t[name]) is None, name
    assert t["gpm"] == {"value": 0.0, "numerator": 0, "denominator": 4, "base": "pv"}
    assert m["products"] == []


async def test_empty_and_scheduled_shows(shared_counters: Counters) -> None:
    clock = Clock(120)
    windows = FakeWindows(window(started=0), window(show_id=SHOW + 1, started=None))
    metrics = node(windows, shared_counters, clock)
    await metrics([ev("comment.posted", 10, "u:1", show_id=SHOW + 1, text="not started")])
    await metrics.flush()
    empty = await metrics.snapshot(SHOP, SHOW)
    t = empty["totals"]
    assert (t["uv"], t["pv"], t["watch_seconds"], value(t["acu"])) == (0, 0, 0.0, 0.0)
    for name in (
        "avg_watch_seconds",
        "comment_rate",
        "interaction_rate",
        "gpm",
        "uv_value",
        "quick_exit_rate",
    ):
        assert value(t[name]) is None, name
    assert len(empty["minutes"]) == 3
    scheduled = await metrics.snapshot(SHOP, SHOW + 1)
    assert (scheduled["status"], scheduled["started_at"], scheduled["duration_seconds"]) == (
        "scheduled",
        None,
        0.0,
    )
    assert (scheduled["totals"]["comments"], value(scheduled["totals"]["acu"]), scheduled["minutes"]) == (
        0,
        None,
        [],
    )


async def test_another_shop_or_no_show_is_not_found(shared_counters: Counters) -> None:
    metrics = node(FakeWindows(window(started=0)), shared_counters, Clock(5))
    with pytest.raises(ShowNotFound):
        await metrics.snapshot(SHOP + 1, SHOW)
    with pytest.raises(ShowNotFound):
        await metrics.snapshot(SHOP, 12345)


async def test_events_without_a_show_go_to_their_rooms_show(shared_counters: Counters) -> None:
    clock = Clock()
    windows = FakeWindows(window(started=0))
    metrics = node(windows, shared_counters, clock)
    room_only: dict[str, Any] = {"show_id": None}
    await play(
        metrics,
        clock,
        [
            enter(5, "u:1", **room_only),
            ev("comment.posted", 6, "u:1", text="hi", **room_only),
            ev("comment.posted", 7, "u:1", room_id=77, text="a room without shows", **room_only),
        ],
        until=30,
    )
    # The show ends; the room's events now belong to no live show, but a leave still closes its session.
    windows.put(window(started=0, ended=40))
    await metrics([ev("show.ended", 40, show_id=SHOW, room_id=10, title="t")])
    await play(
        metrics,
        clock,
        [ev("comment.posted", 50, "u:1", text="after", **room_only), leave(60, "u:1", 55.0, **room_only)],
        until=70,
    )
    t = (await metrics.snapshot(SHOP, SHOW))["totals"]
    assert (t["pv"], t["comments"], t["sessions"]) == (1, 1, 1)
    assert t["watch_seconds"] == pytest.approx(35.0)  # 5 s .. the end at 40 s


async def test_a_failed_flush_is_retried_without_counting_twice(shared_counters: Counters) -> None:
    class Flaky:
        """Counters whose next ``failures`` batch writes fail (the first call of a flush)."""

        def __init__(self, inner: Counters) -> None:
            self.inner, self.failures = inner, 0

        def __getattr__(self, name: str) -> Any:
            attr = getattr(self.inner, name)
            if name in ("hincr_many", "add_distinct_many") and self.failures:

                async def fail(*args: Any, **kwargs: Any) -> Any:
                    self.failures -= 1
                    raise ConnectionError("counters down")

                return fail
            return attr

    flaky = Flaky(shared_counters)
    clock = Clock(10)
    metrics = node(FakeWindows(window(started=0)), flaky, clock)  # type: ignore[arg-type]
    await metrics([enter(1, "u:1"), ev("comment.posted", 2, "u:1", text="a")])
    flaky.failures = 1
    await metrics.flush()  # the sums fail: nothing written
    await metrics([ev("comment.posted", 3, "u:2", text="b")])
    await metrics.flush()
    flaky.failures = 1
    await metrics([ev("comment.posted", 4, "u:3", text="c")])
    await metrics.flush()  # the sums fail again
    await metrics.flush()
    t = (await metrics.snapshot(SHOP, SHOW))["totals"]
    assert (t["pv"], t["uv"], t["comments"], t["commenting_uv"]) == (1, 1, 3, 3)
    assert metrics.failures == 2


async def test_close_writes_what_is_pending_and_later_batches_too(shared_counters: Counters) -> None:
    clock = Clock(10)
    metrics = node(FakeWindows(window(started=0)), shared_counters, clock)
    await metrics.start()
    await metrics([enter(1, "u:1")])
    await metrics.close()
    await metrics([ev("comment.posted", 9, "u:1", text="late")])  # the bus drains after close
    t = (await metrics.snapshot(SHOP, SHOW))["totals"]
    assert (t["pv"], t["comments"]) == (1, 1)


async def test_state_comes_from_the_window(shared_counters: Counters) -> None:
    windows = FakeWindows(window(started=0, ended=30, state=ShowState.CANCELLED))
    metrics = node(windows, shared_counters, Clock(60))
    assert (await metrics.snapshot(SHOP, SHOW))["status"] == "cancelled"


async def test_windows_are_cached_and_a_database_outage_drops_only_new_shows_events(
    shared_counters: Counters,
) -> None:
    clock = Clock(10)
    windows = FakeWindows(window(started=0), window(show_id=SHOW + 1, started=0))
    metrics = node(windows, shared_counters, clock)
    await metrics([enter(1, "u:1")])
    await metrics([ev("comment.posted", 2, "u:1", text="a")])
    assert windows.reads == 1  # the show's window was read once
    windows.down = True
    await metrics(
        [
            ev("comment.posted", 3, "u:1", text="known show: counted"),
            ev("comment.posted", 4, "u:2", show_id=SHOW + 1, text="new show: dropped"),
        ]
    )
    await metrics.flush()  # writes what it has
    windows.down = False
    assert metrics.dropped == 1
    t = (await metrics.snapshot(SHOP, SHOW))["totals"]
    assert (t["pv"], t["comments"]) == (1, 2)
