"""Rule-based suggestions for the next show, each with the figures that triggered it.

Rules are plain functions over the finished review; each returns zero or more suggestions. The
thresholds are named constants (defaults from common practice in live commerce reviews); the
English message is for the API, the HTML review localises by ``code`` with the same figures.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence

from liveloop.analytics.review_models import Review, Suggestion
from liveloop.analytics.review_queries import Segment

MIN_EXPOSURE_UV = 50  # a product's CTR is judged from this many exposed viewers on
LOW_CTR_FACTOR = 0.5  # ... and is low below this share of the show's median product CTR
MAX_LOW_CTR = 3
QUICK_EXIT_HIGH = 0.4
MIN_SESSIONS = 20
LOW_INTERACTION = 0.15
MIN_UV = 50
UNPAID_HIGH = 0.7  # order-to-paid below this: too many unpaid orders
MIN_ORDER_UV = 10
PEAK_SHARE = 0.8  # a flash sale started below this share of the peak CCU missed the peak
LOW_COUPON_ROI = 3.0
FEW_RETURNING = 0.2
MIN_UV_RETURNING = 100


def _s(code: str, message: str, **figures: float | int | str | None) -> Suggestion:
    return Suggestion(code=f"review.{code}", message=message, figures=figures)


def low_ctr_products(review: Review, _: Sequence[Segment]) -> list[Suggestion]:
    judged = [p for p in review.products if p.exposure_uv >= MIN_EXPOSURE_UV and p.ctr.value is not None]
    if len(judged) < 2:
        return []
    median = statistics.median(p.ctr.value for p in judged if p.ctr.value is not None)
    low = sorted(
        (p for p in judged if p.ctr.value is not None and p.ctr.value < LOW_CTR_FACTOR * median),
        key=lambda p: (p.ctr.value, p.product_id),
    )
    return [
        _s(
            "low_ctr_product",
            f"Product {p.product_id}: CTR {p.ctr.value:.1%} against the show's median {median:.1%} "
            f"({p.click_uv} of {p.exposure_uv} exposed viewers clicked): rework its pitch "
            "(selling point, price anchor, live demo).",
            product_id=p.product_id,
            ctr=p.ctr.value,
            median_ctr=median,
            exposure_uv=p.exposure_uv,
            click_uv=p.click_uv,
        )
        for p in low[:MAX_LOW_CTR]
    ]


def quick_exits(review: Review, _: Sequence[Segment]) -> list[Suggestion]:
    rate = review.totals.quick_exit_rate
    if rate.value is None or rate.denominator < MIN_SESSIONS or rate.value < QUICK_EXIT_HIGH:
        return []
    return [
        _s(
            "quick_exit_high",
            f"{rate.value:.0%} of sessions ended within 10 s: open stronger (state the deal and the "
            "giveaway in the first seconds, keep the best product on screen).",
            quick_exit_rate=rate.value,
            quick_exits=int(rate.numerator),
            sessions=int(rate.denominator),
        )
    ]


def lineup(review: Review, segments: Sequence[Segment]) -> list[Suggestion]:
    gpm, median = review.totals.gpm.value, review.history.gpm.median
    if gpm is None or median is None:
        return []
    order: list[int] = []
    for s in segments:
        if s.product_id is not None and s.product_id not in order:
            order.append(s.product_id)
    sequence = " > ".join(map(str, order)) or "-"
    if gpm > median:
        return [
            _s(
                "repeat_lineup",
                f"GPM {gpm / 100:.2f} yuan is above the shop's median {median / 100:.2f} over "
                f"{review.history.compared_shows} earlier shows: repeat this line-up order ({sequence}).",
                gpm=gpm,
                median_gpm=median,
                compared_shows=review.history.compared_shows,
                lineup=sequence,
            )
        ]
    best = review.rankings.by_gpm[0] if review.rankings.by_gpm else None
    return [
        _s(
            "rework_lineup",
            f"GPM {gpm / 100:.2f} yuan is at or below the shop's median {median / 100:.2f}: reorder the "
            f"line-up and open with the best product by product GPM ({best}).",
            gpm=gpm,
            median_gpm=median,
            compared_shows=review.history.compared_shows,
            best_product_id=best,
        )
    ]


def flash_sale_timing(review: Review, _: Sequence[Segment]) -> list[Suggestion]:
    if not review.minutes or review.totals.pcu == 0:
        return []
    peak = max(review.minutes, key=lambda m: (m.max_ccu, -m.index))
    out = []
    for sale in review.activities.flash_sales:
        if sale.started_minute is None or sale.started_minute >= len(review.minutes):
            continue
        online = review.minutes[sale.started_minute].max_ccu
        if online >= PEAK_SHARE * peak.max_ccu:
            continue
        out.append(
            _s(
                "flash_sale_at_peak",
                f"Flash sale {sale.sale_id} started in minute {sale.started_minute} with {online} online; "
                f"the peak was minute {peak.index} with {peak.max_ccu}: put the flash sale in the peak.",
                sale_id=sale.sale_id,
                sale_minute=sale.started_minute,
                sale_ccu=online,
                peak_minute=peak.index,
                peak_ccu=peak.max_ccu,
            )
        )
    return out


def low_interaction(review: Review, _: Sequence[Segment]) -> list[Suggestion]:
    rate = review.totals.interaction_rate
    if rate.value is None or review.totals.uv < MIN_UV or rate.value >= LOW_INTERACTION:
        return []
    return [
        _s(
            "low_interaction",
            f"Only {rate.value:.1%} of viewers interacted: run a poll or a comment lottery early and "
            "ask questions viewers can answer in one word.",
            interaction_rate=rate.value,
            interacting_uv=int(rate.numerator),
            uv=int(rate.denominator),
        )
    ]


def unpaid_orders(review: Review, _: Sequence[Segment]) -> list[Suggestion]:
    rate = review.totals.order_to_paid
    if rate.value is None or rate.denominator < MIN_ORDER_UV or rate.value >= UNPAID_HIGH:
        return []
    return [
        _s(
            "unpaid_orders",
            f"Only {rate.value:.0%} of buyers who ordered paid: remind the room to pay before stock is "
            "released, and check the payment step.",
            order_to_paid=rate.value,
            paid_uv=int(rate.numerator),
            order_uv=int(rate.denominator),
        )
    ]


def best_segment(review: Review, _: Sequence[Segment]) -> list[Suggestion]:
    hot = [m for m in review.minutes if m.high_interaction and m.explaining_product_id is not None]
    if not hot:
        return []
    counts: dict[int, int] = {}
    for m in hot:
        assert m.explaining_product_id is not None
        counts[m.explaining_product_id] = counts.get(m.explaining_product_id, 0) + 1
    product = max(counts, key=lambda p: (counts[p], -p))
    indexes = [m.index for m in hot if m.explaining_product_id == product]
    return [
        _s(
            "reuse_hot_segment",
            f"{len(indexes)} of the high-interaction minutes came while explaining product {product} "
            f"(minutes {', '.join(map(str, indexes[:5]))}): reuse that segment's script and props.",
            product_id=product,
            minutes=len(indexes),
            first_minute=indexes[0],
        )
    ]


def coupon_roi(review: Review, _: Sequence[Segment]) -> list[Suggestion]:
    return [
        _s(
            "coupon_low_roi",
            f"Coupon '{c.name}' returned {c.roi:.1f}x its cost ({c.redeemed_gmv_cents / 100:.2f} yuan of "
            f"GMV for {c.cost_cents / 100:.2f} yuan): raise its threshold or lower its amount.",
            template_id=c.template_id,
            roi=c.roi,
            cost_cents=c.cost_cents,
            redeemed_gmv_cents=c.redeemed_gmv_cents,
        )
        for c in review.activities.coupons
        if c.roi is not None and c.roi < LOW_COUPON_ROI
    ]


def returning_viewers(review: Review, _: Sequence[Segment]) -> list[Suggestion]:
    share = review.audience.returning_share
    if share.value is None or share.denominator < MIN_UV_RETURNING or share.value >= FEW_RETURNING:
        return []
    return [
        _s(
            "few_returning",
            f"Only {share.value:.0%} of viewers had watched an earlier show: send a warm-up push to "
            "followers and private groups before the next one.",
            returning_share=share.value,
            returning_uv=int(share.numerator),
            uv=int(share.denominator),
        )
    ]


RULES: tuple[Callable[[Review, Sequence[Segment]], list[Suggestion]], ...] = (
    quick_exits,
    low_interaction,
    low_ctr_products,
    unpaid_orders,
    flash_sale_timing,
    best_segment,
    lineup,
    coupon_roi,
    returning_viewers,
)


def suggest(review: Review, segments: Sequence[Segment]) -> list[Suggestion]:
    return [s for rule in RULES for s in rule(review, segments)]
