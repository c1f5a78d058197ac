"""The ``totals`` object of the metrics schema, from the review's query results (see review.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from liveloop.analytics.live_schema import Totals
from liveloop.analytics.review_models import ratio
from liveloop.analytics.review_queries import CcuMinute, Tally, ViewerBucket


def build_totals(
    buckets: Sequence[ViewerBucket],
    sources: Mapping[str, int],
    ccu: Sequence[CcuMinute],
    by_minute: Mapping[int, Mapping[str, Tally]],
    viewers: Mapping[str, int],
    duration: float,
    *,
    ended: bool,
) -> Totals:
    """From the show's session buckets (review_sql.VIEWERS), CCU minutes, per-minute tallies by type
    (review_sql.MINUTE_COUNTS) and distinct viewers by type (review_sql.TYPE_VIEWERS)."""
    uv = sum(b.uv for b in buckets)
    pv = sum(b.entries for b in buckets)
    sessions = sum(b.sessions for b in buckets)
    quick = sum(b.quick for b in buckets)
    watch = sum(b.watch_seconds for b in buckets)
    tally: dict[str, Tally] = {}
    for minute in by_minute.values():
        for kind, t in minute.items():
            s = tally.get(kind, Tally())
            tally[kind] = Tally(s.events + t.events, s.cents + t.cents, s.quantity + t.quantity)
    none = Tally()
    comments = tally.get("comment.posted", none).events
    likes = tally.get("like.batched", none).quantity
    shares = tally.get("share.made", none).events
    follows = tally.get("follow.made", none).events
    votes = tally.get("poll.voted", none).events
    questions = tally.get("question.asked", none).events
    orders = tally.get("order.created", none).events
    paid_orders = tally.get("order.paid", none).events
    gmv = tally.get("order.paid", none).cents
    refunds = tally.get("order.refunded", none).cents
    coupon_cost = tally.get("coupon.redeemed", none).quantity
    commenting_uv = viewers.get("comment.posted", 0)
    liking_uv = viewers.get("like.batched", 0)
    sharing_uv = viewers.get("share.made", 0)
    interacting_uv = viewers.get("interacting", 0)
    exposure_uv = viewers.get("product.exposed", 0)
    click_uv = viewers.get("product.clicked", 0)
    order_uv = viewers.get("order.created", 0)
    paid_uv = viewers.get("order.paid", 0)
    return Totals(
        uv=uv,
        pv=pv,
        ccu=0 if ended else sum(b.open for b in buckets),  # open sessions; nobody is watching an ended show
        pcu=max((c.max_ccu for c in ccu), default=0),
        acu=ratio(watch, duration, "duration_seconds"),
        watch_seconds=watch,
        avg_watch_seconds=ratio(watch, uv, "uv"),
        effective_views=sessions - quick,
        sessions=sessions,
        quick_exit_rate=ratio(quick, sessions, "sessions"),
        sources=dict(sources),
        comments=comments,
        likes=likes,
        shares=shares,
        follows=follows,
        votes=votes,
        questions=questions,
        commenting_uv=commenting_uv,
        liking_uv=liking_uv,
        sharing_uv=sharing_uv,
        interacting_uv=interacting_uv,
        comment_rate=ratio(commenting_uv, uv, "uv"),
        like_rate=ratio(liking_uv, uv, "uv"),
        share_rate=ratio(sharing_uv, uv, "uv"),
        follow_rate=ratio(follows, uv, "uv"),
        comments_per_viewer=ratio(comments, uv, "uv"),
        interaction_rate=ratio(interacting_uv, uv, "uv"),
        exposure_uv=exposure_uv,
        click_uv=click_uv,
        order_uv=order_uv,
        paid_uv=paid_uv,
        orders=orders,
        paid_orders=paid_orders,
        gmv_cents=gmv,
        refund_cents=refunds,
        net_gmv_cents=gmv - refunds,
        coupon_cost_cents=coupon_cost,
        exposure_rate=ratio(exposure_uv, uv, "uv"),
        ctr=ratio(click_uv, exposure_uv, "exposure_uv"),
        click_to_order=ratio(order_uv, click_uv, "click_uv"),
        order_to_paid=ratio(paid_uv, order_uv, "order_uv"),
        click_to_paid=ratio(paid_uv, click_uv, "click_uv"),
        view_to_paid=ratio(paid_uv, uv, "uv"),
        gpm=ratio(gmv, pv, "pv", per=1000),
        opm=ratio(paid_orders, pv, "pv", per=1000),
        uv_value=ratio(gmv, uv, "uv"),
        aov_per_order=ratio(gmv, paid_orders, "paid_orders"),
        aov_per_buyer=ratio(gmv, paid_uv, "paid_uv"),
    )
