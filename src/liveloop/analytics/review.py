"""The post-live review of one show, computed in batch from the event store (never the live counters).

Definitions (METRICS.md, the metrics schema of the contracts; the live metrics must agree):

- **Scope**: events with the show's ``show_id`` and ``started_at <= at <= end``, where ``end`` is
  ``ended_at``, or ``as_of`` while the show is live (then the review is ``partial``). Orders paid
  after the end, within 24 h, are reported apart (``after_show``), not in the totals.
- **Viewers** are ``viewer_id`` (the event's actor unless staff). ``uv`` = distinct viewers with a
  ``viewer.entered``; ``pv`` = ``viewer.entered`` events; ``sessions`` = ended sessions
  (``viewer.left`` events); ``effective_views`` = sessions of >= 10 s; quick exits = the others.
- **Watch seconds**: per viewer, the sum of ``viewer.left.watch_seconds`` capped at the show
  length (``duration_seconds``); ``watch_seconds`` is their sum (open sessions count when they end).
- **CCU** after every entry and leave: a viewer is present from an entry to the next leave;
  ``pcu`` is its maximum, ``ccu`` its value at the end; per minute ``ccu`` is the value after the
  minute's last change (carried over quiet minutes) and ``max_ccu`` the minute's highest, counting the
  value it started with.
- **Interactions**: ``comments`` = ``comment.posted``, ``likes`` = sum of ``like.batched.count``,
  ``shares``, ``follows``, ``votes`` (``poll.voted``), ``questions`` (``question.asked``); the
  ``*_uv`` are distinct actors; ``interacting_uv`` over all six types.
- **Commerce**: ``exposure_uv``/``click_uv`` from ``product.exposed``/``product.clicked``;
  ``order_uv``/``orders`` from ``order.created``; ``paid_uv``/``paid_orders``/``gmv_cents`` from
  ``order.paid``; ``refund_cents`` from ``order.refunded``; ``coupon_cost_cents`` = sum of
  ``coupon.redeemed.discount_cents``.
- **Explain segments**: each ``showcase.explaining`` starts one (``product_id`` null: nothing
  explained) that lasts until the next, the last one until the end.
- **Intensity** of a minute = (comments + shares + votes + likes / 10) / its ``ccu`` (null at 0);
  high-interaction minutes have an intensity at or above the show's top-decile cut (and above 0).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from liveloop.analytics import review_rules
from liveloop.analytics.live_state import epoch_ms
from liveloop.analytics.review_activities import get_activities
from liveloop.analytics.review_history import get_history
from liveloop.analytics.review_models import (
    AfterShow,
    Audience,
    AudienceSegment,
    FunnelStep,
    MinuteRow,
    ProductRow,
    Rankings,
    RetentionPoint,
    Review,
    ShowSummary,
    SourceRow,
    ratio,
)
from liveloop.analytics.review_queries import CcuMinute, ReviewQueries, Segment, ShowSpan, Tally, ViewerBucket
from liveloop.analytics.review_totals import build_totals
from liveloop.core.eventstore import EventStore
from liveloop.rooms import ShowState, ShowWindow

QUICK_EXIT_SECONDS = 10.0  # a session shorter than this is a quick exit; longer ones are effective views
GRACE = timedelta(seconds=2)  # the live aggregate's GRACE_MS: clocks and the moment nodes learn the state
AFTER_SHOW_HOURS = 24
TOP_SHARE = 0.1  # high-interaction minutes: the top decile


async def compute_review(
    store: EventStore,
    show: ShowWindow,
    *,
    as_of: datetime,
    earlier: Sequence[ShowWindow] = (),
    titles: Mapping[int, str] | None = None,
) -> Review:
    """The review of ``show`` (which must have started) as of ``as_of`` (used while it is live)."""
    if show.started_at is None:
        raise ValueError(f"show {show.show_id} has not started")
    as_of = as_of.astimezone(UTC)
    start = show.started_at.astimezone(UTC)
    ended = show.state is ShowState.ENDED and show.ended_at is not None
    end = show.ended_at.astimezone(UTC) if show.ended_at is not None else max(as_of, start)
    # Whole milliseconds at each end, as the live path keeps them, so ACU agrees to the last digit.
    duration = (epoch_ms(end) - epoch_ms(start)) / 1000
    queries = ReviewQueries(store, show_id=show.show_id, start=start, end=end, grace=GRACE)
    span = ShowSpan(show.show_id, start, end, max(as_of, end + GRACE) if ended else end)

    # Every statement at once, the heaviest first (both engines run a few side by side: see
    # ReviewQueries.PARALLEL); the explained PV needs the segments. Two gathers keep the types.
    (
        ((minute_viewers, by_product), viewers, buckets, by_minute, activities, ccu),
        (audience, sources, paid, (segments, explained_pv), history),
    ) = await asyncio.gather(
        asyncio.gather(
            queries.product_viewers(),
            queries.type_viewers(),
            queries.sessions([span], quick_seconds=QUICK_EXIT_SECONDS),
            queries.minute_counts(),
            get_activities(queries),
            queries.ccu(),
        ),
        asyncio.gather(
            queries.audience(shop_id=show.shop_id),
            queries.sources(),
            queries.product_sales(),
            _segments(queries),
            get_history(queries, show=show, as_of=as_of, quick_seconds=QUICK_EXIT_SECONDS, earlier=earlier),
        ),
    )
    totals = build_totals(buckets, sources, ccu, by_minute, viewers, duration, ended=ended)
    early = sum(b.early for b in buckets)
    minutes = _minutes(queries, by_minute, minute_viewers, ccu, early, segments)
    # Ending a show stops the explaining (rooms closes the open segment), so nothing is on air after.
    explaining_now = segments[-1].product_id if segments and not ended else None
    products = _products(by_product, paid, segments, explained_pv, explaining_now, titles or {})
    after = None
    if ended:
        late_orders, late_gmv = await queries.after_show(hours=AFTER_SHOW_HOURS)
        after = AfterShow(window_hours=AFTER_SHOW_HOURS, paid_orders=late_orders, gmv_cents=late_gmv)
    review = Review(
        show_id=show.show_id,
        status=show.state.value,
        as_of=as_of,
        started_at=start,
        ended_at=show.ended_at,
        duration_seconds=duration,
        totals=totals,
        explaining_product_id=explaining_now,
        products=products,
        minutes=minutes,
        show=ShowSummary(show_id=show.show_id, shop_id=show.shop_id, room_id=show.room_id, title=show.title),
        partial=not ended,
        high_interaction_minutes=[m.index for m in minutes if m.high_interaction],
        rankings=_rankings(products),
        sources=[SourceRow(source=s, uv=n, share=ratio(n, totals.uv, "uv")) for s, n in sources.items()],
        audience=_audience(audience),
        retention=_retention(buckets, totals.uv, duration),
        funnel=_funnel(totals.uv, totals.exposure_uv, totals.click_uv, totals.order_uv, totals.paid_uv),
        activities=activities,
        history=history.rank(totals),
        after_show=after,
        suggestions=[],
    )
    return review.model_copy(update={"suggestions": review_rules.suggest(review, segments)})


async def _segments(queries: ReviewQueries) -> tuple[list[Segment], dict[int, int]]:
    segments = await queries.segments()
    return segments, await queries.explained_pv(segments)


def _minutes(
    queries: ReviewQueries,
    by_minute: Mapping[int, Mapping[str, Tally]],
    minute_viewers: Mapping[int, Mapping[str, int]],
    ccu: Sequence[CcuMinute],
    early: int,
    segments: Sequence[Segment],
) -> list[MinuteRow]:
    samples = {c.index: c for c in ccu}
    none = Tally()
    rows: list[MinuteRow] = []
    current = 0
    for i in range(queries.last_index + 1):
        sample = samples.get(i)
        top = max(current, sample.max_ccu) if sample else current
        current = sample.last_ccu if sample else current
        tally = by_minute.get(i, {})
        viewers = minute_viewers.get(i, {})
        comments = tally.get("comment.posted", none).events
        likes = tally.get("like.batched", none).quantity
        shares = tally.get("share.made", none).events
        votes = tally.get("poll.voted", none).events
        begin = queries.start_minute + timedelta(minutes=i)
        rows.append(
            MinuteRow(
                minute=begin,
                index=i,
                ccu=current,
                max_ccu=top,
                entries=(sample.entries if sample else 0) + (early if i == 0 else 0),
                leaves=sample.leaves if sample else 0,
                comments=comments,
                likes=likes,
                shares=shares,
                votes=votes,
                follows=tally.get("follow.made", none).events,
                intensity=(comments + shares + votes + likes / 10) / current if current else None,
                exposure_uv=viewers.get("product.exposed", 0),
                click_uv=viewers.get("product.clicked", 0),
                orders=tally.get("order.created", none).events,
                paid_orders=tally.get("order.paid", none).events,
                gmv_cents=tally.get("order.paid", none).cents,
                explaining_product_id=_explained_longest(segments, begin, begin + timedelta(minutes=1)),
                high_interaction=False,
            )
        )
    cut = top_decile_cut([r.intensity for r in rows])
    if cut is None:
        return rows
    return [
        r.model_copy(update={"high_interaction": True})
        if r.intensity is not None and r.intensity >= cut
        else r
        for r in rows
    ]


def top_decile_cut(values: Sequence[float | None]) -> float | None:
    """The smallest intensity in the top decile (at least one minute), or None when all are 0/null."""
    ranked = sorted((v for v in values if v is not None and v > 0), reverse=True)
    if not ranked:
        return None
    return ranked[max(1, math.ceil(len(ranked) * TOP_SHARE)) - 1]


def _explained_longest(segments: Sequence[Segment], begin: datetime, end: datetime) -> int | None:
    """The product explained longest between ``begin`` and ``end`` (ties: the later one), if any."""
    seconds: dict[int, float] = {}
    for segment in segments:
        if segment.product_id is None or segment.end <= begin or segment.start >= end:
            continue
        overlap = (min(segment.end, end) - max(segment.start, begin)).total_seconds()
        seconds[segment.product_id] = seconds.get(segment.product_id, 0.0) + overlap
    best = None
    for product_id, length in seconds.items():
        if best is None or length >= seconds[best]:
            best = product_id
    return best


def _products(
    by_product: Mapping[int, Mapping[str, int]],
    paid: Mapping[int, Tally],
    segments: Sequence[Segment],
    explained_pv: Mapping[int, int],
    explaining_now: int | None,
    titles: Mapping[int, str],
) -> list[ProductRow]:
    seconds: dict[int, float] = {}
    for s in segments:
        if s.product_id is not None:
            seconds[s.product_id] = seconds.get(s.product_id, 0.0) + (s.end - s.start).total_seconds()
    rows = []
    for pid in set(by_product) | set(seconds) | set(paid):
        viewers = by_product.get(pid, {})
        exposure_uv = viewers.get("product.exposed", 0)
        click_uv = viewers.get("product.clicked", 0)
        paid_uv = viewers.get("order.paid", 0)
        sold = paid.get(pid, Tally())
        pv = explained_pv.get(pid, 0)
        rows.append(
            ProductRow(
                product_id=pid,
                title=titles.get(pid),
                exposure_uv=exposure_uv,
                click_uv=click_uv,
                order_uv=viewers.get("order.created", 0),
                paid_uv=paid_uv,
                paid_orders=sold.events,
                gmv_cents=sold.cents,
                ctr=ratio(click_uv, exposure_uv, "exposure_uv"),
                click_to_paid=ratio(paid_uv, click_uv, "click_uv"),
                explaining=pid == explaining_now,
                explained_seconds=seconds.get(pid, 0.0),
                explained_pv=pv,
                product_gpm=ratio(sold.cents, pv, "explained_pv", per=1000),
            )
        )
    return sorted(rows, key=lambda p: (-p.gmv_cents, p.product_id))


def _rankings(products: Sequence[ProductRow]) -> Rankings:
    by_gpm = sorted(
        products,
        key=lambda p: (p.product_gpm.value is None, -(p.product_gpm.value or 0.0), p.product_id),
    )
    return Rankings(by_gmv=[p.product_id for p in products], by_gpm=[p.product_id for p in by_gpm])


def _audience(rows: dict[bool, tuple[int, int, int]]) -> Audience:
    def segment(returning: bool) -> AudienceSegment:
        uv, paid, gmv = rows.get(returning, (0, 0, 0))
        return AudienceSegment(uv=uv, paid_uv=paid, gmv_cents=gmv, view_to_paid=ratio(paid, uv, "uv"))

    new, returning = segment(False), segment(True)
    return Audience(
        new=new, returning=returning, returning_share=ratio(returning.uv, new.uv + returning.uv, "uv")
    )


def _retention(buckets: Sequence[ViewerBucket], uv: int, duration: float) -> list[RetentionPoint]:
    viewers_by_minute: dict[int, int] = {}
    for b in buckets:
        viewers_by_minute[b.minute] = viewers_by_minute.get(b.minute, 0) + b.uv
    last = max(0, math.ceil(duration / 60))
    points = []
    still = uv
    for k in range(last + 1):
        points.append(RetentionPoint(minute=k, viewers=still, share=ratio(still, uv, "uv")))
        still -= viewers_by_minute.get(k, 0)
    return points


FunnelStage = Literal["uv", "exposure_uv", "click_uv", "order_uv", "paid_uv"]


def _funnel(uv: int, exposure_uv: int, click_uv: int, order_uv: int, paid_uv: int) -> list[FunnelStep]:
    stages: list[tuple[FunnelStage, int]] = [
        ("uv", uv),
        ("exposure_uv", exposure_uv),
        ("click_uv", click_uv),
        ("order_uv", order_uv),
        ("paid_uv", paid_uv),
    ]
    steps = []
    previous: tuple[FunnelStage, int] | None = None
    for stage, n in stages:
        steps.append(
            FunnelStep(
                stage=stage,
                viewers=n,
                from_previous=ratio(n, previous[1], previous[0]) if previous else None,
                from_uv=ratio(n, uv, "uv"),
            )
        )
        previous = (stage, n)
    return steps
