"""The review of small shows whose every figure is worked out by hand below, on DuckDB and PostgreSQL.

The show starts at 12:00:30 and ends 150 s later (minutes 0..3 of the calendar: 12:00, 12:01,
12:02, 12:03). Times in the script are seconds after the start. The grace is 2 s on both sides.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from liveloop.analytics.review import compute_review
from liveloop.analytics.review_models import Review
from liveloop.rooms import ShowState, ShowWindow
from tests.analytics.review_support import STORES, Script, open_store, store_target

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 11, 21, 12, 0, 30, tzinfo=UTC)
END = T0 + timedelta(seconds=150)
EARLIER = T0 - timedelta(days=1)


@pytest.fixture(params=STORES)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    return store_target(request, tmp_path)


def show(state: ShowState = ShowState.ENDED, ended: datetime | None = END) -> ShowWindow:
    return ShowWindow(
        show_id=3, shop_id=1, room_id=2, title="春季新品", state=state, started_at=T0, ended_at=ended
    )


def earlier_show() -> ShowWindow:
    return ShowWindow(
        show_id=2,
        shop_id=1,
        room_id=2,
        title="上一场",
        state=ShowState.ENDED,
        started_at=EARLIER,
        ended_at=EARLIER + timedelta(seconds=600),
    )


def the_show() -> Script:
    s = Script(T0)
    s.enter(-1, "u:g", "ad")  # in the grace before the start: counts, in minute 0
    s.enter(1, "u:a", "recommend")
    s.at(2, "lottery.opened", "staff:1", lottery_id=1, prize="口红", winners_count=1)
    s.leave(4, "u:g", 5)  # quick exit
    s.enter(5, "d:b", "share")
    s.at(6, "question.asked", "d:b", question_id=1, nickname="b", text="有优惠吗")
    s.leave(8, "d:b", 3)  # quick exit
    s.at(10, "comment.posted", "u:a", text="好看")
    s.at(11, "lottery.entered", "u:a", lottery_id=1, via="keyword")
    s.at(12, "like.batched", "u:a", count=20)
    s.at(15, "red_packet.sent", "staff:1", packet_id=1, total_cents=1000, count=10)
    s.at(16, "red_packet.grabbed", "u:a", packet_id=1, viewer_id="u:a", nickname="a", amount_cents=300)
    s.at(20, "showcase.explaining", "staff:1", show_id=3, product_id=7, previous_product_id=None)
    s.leave(20.5, "u:c", 60)  # in the room before the show went live: an entry at the start too
    s.at(25, "product.exposed", "u:a", show_id=3, product_id=7, surface="pinned")
    s.enter(30, "u:d", "follow")
    s.at(30.5, "product.clicked", "u:a", show_id=3, product_id=7, surface="pinned")
    s.at(31, "red_packet.grabbed", "u:d", packet_id=1, viewer_id="u:d", nickname="d", amount_cents=200)
    s.at(32, "product.exposed", "u:d", show_id=3, product_id=7, surface="pinned")
    s.at(33, "lottery.entered", "u:d", lottery_id=1, via="keyword")
    s.at(35, "share.made", "u:d", channel="wechat")
    s.at(36, "follow.made", "u:d")
    options = [{"text": "A", "product_id": None}, {"text": "B", "product_id": None}]
    s.at(36.5, "poll.opened", "staff:1", poll_id=1, kind="normal", question="选哪个", options=options)
    s.at(37, "poll.voted", "u:d", poll_id=1, option=0)
    s.order(40, "order.created", "u:a", 1, 7, 1000, unit_price_cents=1100, discount_cents=100)
    s.at(
        44,
        "coupon.dropped",
        "staff:1",
        drop_id=2,
        template_id=3,
        name="满10减1",
        kind="threshold",
        quantity=50,
    )
    s.at(45, "coupon.claimed", "u:a", drop_id=2, template_id=3, coupon_id=5)
    s.order(50, "order.paid", "u:a", 1, 7, 1000, unit_price_cents=1100, discount_cents=100, provider="sim")
    s.at(50, "coupon.redeemed", "u:a", coupon_id=5, template_id=3, order_id=1, discount_cents=100)
    s.at(60, "like.batched", "u:d", count=5)
    s.at(90, "showcase.explaining", "staff:1", show_id=3, product_id=9, previous_product_id=7)
    sale_starts, sale_ends = (
        (T0 + timedelta(seconds=90)).isoformat(),
        (T0 + timedelta(seconds=140)).isoformat(),
    )
    s.at(90, "flash_sale.started", "staff:1", sale_id=1, product_id=9, price_cents=1000, stock=10,
         starts_at=sale_starts, ends_at=sale_ends)  # fmt: skip
    s.order(95, "order.created", "u:d", 2, 9, 2000, quantity=2, unit_price_cents=1000, flash_sale_id=1)
    s.leave(100, "u:a", 99)
    s.enter(110, "u:a", "follow")
    s.at(115, "product.exposed", "u:a", show_id=3, product_id=9, surface="pinned")
    s.at(118, "product.clicked", "u:a", show_id=3, product_id=9, surface="pinned")
    s.order(120, "order.created", "u:a", 3, 9, 1000, flash_sale_id=1)
    s.at(120, "poll.closed", "staff:1", poll_id=1, question="选哪个", options=options,
         result={"counts": [1, 0], "total": 1, "winner": 0})  # fmt: skip
    s.order(125, "order.paid", "u:a", 3, 9, 1000, flash_sale_id=1, provider="sim")
    s.order(130, "order.refunded", "u:a", 1, 7, 1000)
    s.leave(140, "u:a", 30)
    s.at(140, "flash_sale.ended", "staff:1", sale_id=1, product_id=9, sold=3)
    winners = [{"viewer_id": "u:d", "nickname": "d"}]
    s.at(145, "lottery.drawn", "staff:1", lottery_id=1, prize="口红", entries_count=2,
         eligible=["u:a", "u:d"], winners=winners)  # fmt: skip
    s.at(
        150.5, "showcase.explaining", "staff:1", show_id=3, product_id=None, previous_product_id=9
    )  # in grace
    s.enter(153, "u:f", "search")  # after the end and its grace: not counted
    s.order(
        160, "order.paid", "u:d", 2, 9, 2000, quantity=2, flash_sale_id=1, provider="sim"
    )  # after the show
    s.leave(200, "u:d", 170)  # stayed past the end: the session closes, clipped to the show
    return s


def past_show() -> Script:
    s = Script(EARLIER, show_id=2)
    s.enter(10, "u:a", "follow")
    s.order(50, "order.paid", "u:a", 9, 7, 5000, provider="sim")
    s.leave(100, "u:a", 90)
    other_shop = Script(EARLIER, shop_id=9, show_id=5)
    other_shop.enter(10, "d:b")  # another shop's viewer: d:b stays new here
    s.events += other_shop.events
    return s


def ratio(review: Review, name: str) -> tuple[Any, ...]:
    r = getattr(review.totals, name)
    return (None if r.value is None else round(r.value, 6), r.numerator, r.denominator, r.base)


async def test_ended_show_figures_match_the_hand_count(target: tuple[str, str]) -> None:
    async with open_store(*target) as store:
        await store.append(the_show().events + past_show().events)
        review = await compute_review(store, show(), as_of=END + timedelta(hours=3), earlier=[earlier_show()])
    t = review.totals
    assert (review.status, review.partial, review.duration_seconds) == ("ended", False, 150.0)
    # viewers: g, a (twice), b, c (in the room before the start), d; f came after the end
    assert (t.uv, t.pv, t.sessions, t.effective_views) == (5, 6, 6, 4)
    assert ratio(review, "quick_exit_rate") == (round(2 / 6, 6), 2, 6, "sessions")
    # watch: g 4 + a (99 + 30) + b 3 + c 20.5 (from the start) + d 120 (clipped at the end)
    assert t.watch_seconds == pytest.approx(276.5)
    assert ratio(review, "avg_watch_seconds") == (55.3, pytest.approx(276.5), 5, "uv")
    assert ratio(review, "acu") == (round(276.5 / 150, 6), pytest.approx(276.5), 150.0, "duration_seconds")
    assert (t.ccu, t.pcu) == (0, 2)
    assert t.sources == {"follow": 2, "ad": 1, "recommend": 1, "share": 1}
    assert (t.comments, t.likes, t.shares, t.follows, t.votes, t.questions) == (1, 25, 1, 1, 1, 1)
    assert (t.commenting_uv, t.liking_uv, t.sharing_uv, t.interacting_uv) == (1, 2, 1, 3)
    assert ratio(review, "interaction_rate") == (0.6, 3, 5, "uv")
    assert ratio(review, "follow_rate") == (0.2, 1, 5, "uv")
    assert ratio(review, "comments_per_viewer") == (0.2, 1, 5, "uv")
    assert (t.exposure_uv, t.click_uv, t.order_uv, t.paid_uv) == (2, 1, 2, 1)
    assert (t.orders, t.paid_orders, t.gmv_cents, t.refund_cents, t.net_gmv_cents) == (3, 2, 2000, 1000, 1000)
    assert t.coupon_cost_cents == 100
    assert ratio(review, "ctr") == (0.5, 1, 2, "exposure_uv")
    assert ratio(review, "click_to_order") == (2.0, 2, 1, "click_uv")
    assert ratio(review, "order_to_paid") == (0.5, 1, 2, "order_uv")
    assert ratio(review, "view_to_paid") == (0.2, 1, 5, "uv")
    assert ratio(review, "gpm") == (round(2000 / 6 * 1000, 6), 2000, 6, "pv")
    assert ratio(review, "opm") == (round(2 / 6 * 1000, 6), 2, 6, "pv")
    assert ratio(review, "uv_value") == (400.0, 2000, 5, "uv")
    assert ratio(review, "aov_per_order") == (1000.0, 2000, 2, "paid_orders")
    assert ratio(review, "aov_per_buyer") == (2000.0, 2000, 1, "paid_uv")
    assert review.after_show is not None
    assert (review.after_show.paid_orders, review.after_show.gmv_cents) == (1, 2000)


async def test_minutes_products_and_segments_match_the_hand_count(target: tuple[str, str]) -> None:
    async with open_store(*target) as store:
        await store.append(the_show().events)
        review = await compute_review(store, show(), as_of=END + timedelta(hours=3))
    rows = [
        (m.index, m.minute.strftime("%H:%M"), m.ccu, m.max_ccu, m.entries, m.leaves, m.comments, m.likes,
         m.shares, m.votes, m.follows, m.exposure_uv, m.click_uv, m.orders, m.paid_orders, m.gmv_cents,
         m.explaining_product_id)
        for m in review.minutes
    ]  # fmt: skip
    assert rows == [
        (0, "12:00", 1, 2, 4, 3, 1, 20, 0, 0, 0, 1, 0, 0, 0, 0, 7),
        (1, "12:01", 2, 2, 1, 0, 0, 5, 1, 1, 1, 1, 1, 1, 1, 1000, 7),
        (2, "12:02", 1, 2, 1, 2, 0, 0, 0, 0, 0, 1, 1, 2, 1, 1000, 9),
        (3, "12:03", 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, None),
    ]
    # intensity = (comments + shares + votes + likes / 10) / ccu: 3/1, 2.5/2, 0/1, 0/1
    assert [m.intensity for m in review.minutes] == [3.0, 1.25, 0.0, 0.0]
    assert review.high_interaction_minutes == [0]
    assert [m.high_interaction for m in review.minutes] == [True, False, False, False]
    assert review.explaining_product_id is None  # the show is over
    products = {p.product_id: p for p in review.products}
    assert [p.product_id for p in review.products] == [7, 9]
    p7, p9 = products[7], products[9]
    assert (p7.exposure_uv, p7.click_uv, p7.order_uv, p7.paid_uv, p7.paid_orders, p7.gmv_cents) == (
        2,
        1,
        1,
        1,
        1,
        1000,
    )
    assert (p9.exposure_uv, p9.click_uv, p9.order_uv, p9.paid_uv, p9.paid_orders, p9.gmv_cents) == (
        1,
        1,
        2,
        1,
        1,
        1000,
    )
    assert (p7.explained_seconds, p7.explained_pv, p9.explained_seconds, p9.explained_pv) == (
        70.0,
        1,
        60.0,
        1,
    )
    assert (p7.ctr.value, p9.ctr.value, p7.click_to_paid.value) == (0.5, 1.0, 1.0)
    assert (p7.product_gpm.value, p7.product_gpm.denominator, p7.product_gpm.base) == (
        1_000_000.0,
        1,
        "explained_pv",
    )
    assert not p7.explaining
    assert not p9.explaining
    assert (review.rankings.by_gmv, review.rankings.by_gpm) == ([7, 9], [7, 9])


async def test_audience_retention_funnel_history_and_tools(target: tuple[str, str]) -> None:
    async with open_store(*target) as store:
        await store.append(the_show().events + past_show().events)
        review = await compute_review(store, show(), as_of=END + timedelta(hours=3), earlier=[earlier_show()])
    a = review.audience
    assert (a.new.uv, a.new.paid_uv, a.new.gmv_cents) == (3, 0, 0)  # g, b, d (c entered before the show)
    assert (a.returning.uv, a.returning.paid_uv, a.returning.gmv_cents) == (1, 1, 2000)  # a watched show 2
    assert (a.returning_share.numerator, a.returning_share.denominator) == (1, 4)
    # whole minutes watched: g 0, b 0, c 0, a 2 (129 s), d 2 (120 s)
    assert [(p.minute, p.viewers) for p in review.retention] == [(0, 5), (1, 2), (2, 2), (3, 0)]
    assert [(f.stage, f.viewers) for f in review.funnel] == [
        ("uv", 5), ("exposure_uv", 2), ("click_uv", 1), ("order_uv", 2), ("paid_uv", 1),
    ]  # fmt: skip
    assert review.funnel[0].from_previous is None
    assert review.funnel[2].from_previous is not None
    assert review.funnel[2].from_previous.value == 0.5
    h = review.history
    # show 2: 1 viewer, 1 entry, 90 s watched, 5,000 cents; show 5 is another shop's
    assert h.compared_shows == 1
    assert (h.gmv_cents.value, h.gmv_cents.median, h.gmv_cents.percentile) == (2000, 5000, 0.0)
    assert (h.uv.value, h.uv.median, h.uv.percentile) == (5, 1, 100.0)
    assert (h.gpm.median, h.gpm.percentile) == (5_000_000.0, 0.0)
    assert (h.avg_watch_seconds.median, h.avg_watch_seconds.percentile) == (90.0, 0.0)
    tools = review.activities
    (poll,) = tools.polls
    assert (poll.question, poll.votes, poll.voters, poll.winner, poll.closed) == ("选哪个", 1, 1, 0, True)
    assert [(o.text, o.votes) for o in poll.options] == [("A", 1), ("B", 0)]
    (lottery,) = tools.lotteries
    assert (lottery.prize, lottery.entries, lottery.entrants, lottery.status) == ("口红", 2, 2, "drawn")
    assert [w.viewer_id for w in lottery.winners] == ["u:d"]
    (packet,) = tools.red_packets
    assert (packet.total_cents, packet.count, packet.grabbed_count) == (1000, 10, 2)
    assert (packet.grabbed_cents, packet.grabbers) == (500, 2)
    (sale,) = tools.flash_sales
    # started 12:02:00 (minute 2); 3 sold; in the show one paid order of 1 unit (order 2 paid after it)
    assert (sale.product_id, sale.started_minute, sale.sold) == (9, 2, 3)
    assert (sale.paid_orders, sale.paid_units, sale.gmv_cents) == (1, 1, 1000)
    assert sale.sell_through == pytest.approx(0.3)
    (coupon,) = tools.coupons
    assert (coupon.name, coupon.dropped, coupon.claimed, coupon.redeemed, coupon.cost_cents) == (
        "满10减1",
        50,
        1,
        1,
        100,
    )
    assert (coupon.redeemed_gmv_cents, coupon.roi) == (1000, 10.0)
    # the high-interaction minute 0 was product 7's; GPM is below the one earlier show's
    codes = [s.code for s in review.suggestions]
    assert codes == ["review.reuse_hot_segment", "review.rework_lineup"]
    assert review.suggestions[0].figures["product_id"] == 7
    assert review.suggestions[1].figures["best_product_id"] == 7


async def test_a_live_show_is_partial_and_counts_open_sessions(target: tuple[str, str]) -> None:
    s = Script(T0)
    s.enter(1, "u:a", "follow")
    s.enter(5, "d:b")
    s.leave(8, "d:b", 3)
    s.at(9, "comment.posted", "u:a", text="hi")
    s.enter(70, "u:late")  # after as_of: not yet
    as_of = T0 + timedelta(seconds=60)
    async with open_store(*target) as store:
        await store.append(s.events)
        review = await compute_review(store, show(ShowState.LIVE, ended=None), as_of=as_of)
    t = review.totals
    assert (review.partial, review.status, review.duration_seconds, review.after_show) == (
        True,
        "live",
        60.0,
        None,
    )
    assert (t.uv, t.pv, t.ccu, t.pcu, t.sessions) == (2, 2, 1, 2, 1)
    assert t.watch_seconds == pytest.approx(59 + 3)  # a is still watching since second 1
    assert [m.index for m in review.minutes] == [0, 1]


async def test_an_empty_show_has_zeros_and_null_ratios(target: tuple[str, str]) -> None:
    async with open_store(*target) as store:
        review = await compute_review(store, show(), as_of=END)
    dumped: dict[str, Any] = review.totals.model_dump()
    assert dumped["uv"] == dumped["pv"] == dumped["gmv_cents"] == dumped["pcu"] == 0
    assert dumped["gpm"] == {"value": None, "numerator": 0, "denominator": 0, "base": "pv"}
    assert review.products == []
    assert review.high_interaction_minutes == []
    assert review.suggestions == []
    assert len(review.minutes) == 4
    assert all(m.intensity is None for m in review.minutes)
    assert review.history.compared_shows == 0
    assert review.history.uv.percentile is None
