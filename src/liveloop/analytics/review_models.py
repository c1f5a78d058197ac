"""The post-live review as typed values: the metrics schema of the contracts plus what a review adds.

``Totals``, ``Ratio`` are the live metrics' own models and ``MinuteRow``/``ProductRow`` extend theirs
(:mod:`liveloop.analytics.live_schema`, ``GET /api/v1/shows/{id}/metrics``), so a review can be
compared with the live metrics field by field; the review only *adds* fields (``high_interaction``
on a minute, ``title`` on a product) and sections (audience, retention, funnel, activities, ranking,
suggestions).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from liveloop.analytics.live_schema import MinuteMetrics, ProductMetrics, Ratio, Totals

RatioBase = Literal[
    "uv",
    "pv",
    "exposure_uv",
    "click_uv",
    "order_uv",
    "sessions",
    "duration_seconds",
    "paid_orders",
    "paid_uv",
    "explained_pv",
]
ShowStatus = Literal["scheduled", "live", "ended", "cancelled"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


def ratio(numerator: float, denominator: float, base: RatioBase, *, per: float = 1.0) -> Ratio:
    """numerator / denominator (x ``per``), null when the denominator is 0."""
    value = numerator / denominator * per if denominator else None
    return Ratio(value=value, numerator=numerator, denominator=denominator, base=base)


class ProductRow(ProductMetrics):
    title: str | None = Field(default=None, description="From the catalog (review only; null if unknown).")


class MinuteRow(MinuteMetrics):
    high_interaction: bool = Field(description="Intensity in the show's top decile (review only).")


class Rankings(_Out):
    by_gmv: list[int] = Field(description="Product ids, highest GMV first.")
    by_gpm: list[int] = Field(description="Product ids, highest product GPM first (unexplained last).")


class SourceRow(_Out):
    source: str
    uv: int
    share: Ratio


class AudienceSegment(_Out):
    uv: int
    paid_uv: int
    gmv_cents: int
    view_to_paid: Ratio


class Audience(_Out):
    """New = no ``viewer.entered`` in an earlier show of the shop; returning = at least one."""

    new: AudienceSegment
    returning: AudienceSegment
    returning_share: Ratio


class RetentionPoint(_Out):
    minute: int = Field(description="k: minutes of watching.")
    viewers: int = Field(description="Viewers who watched at least k minutes in all (capped).")
    share: Ratio


class FunnelStep(_Out):
    stage: Literal["uv", "exposure_uv", "click_uv", "order_uv", "paid_uv"]
    viewers: int
    from_previous: Ratio | None
    from_uv: Ratio


class HistoryFigure(_Out):
    value: float | None
    percentile: float | None = Field(description="Percentile rank among earlier shows (0-100).")
    median: float | None = Field(description="Median of the earlier shows.")


class HistoryRanking(_Out):
    compared_shows: int = Field(description="Earlier ended shows of the shop that had viewers.")
    gmv_cents: HistoryFigure
    uv: HistoryFigure
    gpm: HistoryFigure
    avg_watch_seconds: HistoryFigure


class AfterShow(_Out):
    """Orders paid after the show ended, within the attribution window (not in the totals)."""

    window_hours: int
    paid_orders: int
    gmv_cents: int


class Suggestion(_Out):
    code: str = Field(description="Stable rule id, e.g. review.low_ctr_product.")
    message: str = Field(description="The advice in English (the HTML review localises by code).")
    figures: dict[str, float | int | str | None] = Field(description="The figures that triggered it.")


class ShowSummary(_Out):
    show_id: int
    shop_id: int
    room_id: int
    title: str


class PollOption(_Out):
    text: str
    product_id: int | None
    votes: int


class PollOutcome(_Out):
    poll_id: int
    question: str
    kind: str
    options: list[PollOption]
    votes: int
    voters: int
    winner: int | None = Field(description="Index of the most voted option (ties: lowest); null: none.")
    closed: bool


class LotteryWinner(_Out):
    viewer_id: str
    nickname: str


class LotteryOutcome(_Out):
    lottery_id: int
    prize: str
    winners_count: int
    entries: int
    entrants: int
    status: Literal["open", "drawn", "cancelled"]
    winners: list[LotteryWinner]


class RedPacketOutcome(_Out):
    packet_id: int
    total_cents: int
    count: int
    grabbed_count: int
    grabbed_cents: int
    grabbers: int
    status: str = Field(description="open, emptied or expired.")


class FlashSaleOutcome(_Out):
    sale_id: int
    product_id: int
    price_cents: int
    stock: int
    started_minute: int | None = Field(description="Show minute the sale started in.")
    sold: int | None = Field(description="Units sold when it ended (flash_sale.ended); null: not ended.")
    paid_orders: int
    paid_units: int
    gmv_cents: int
    sell_through: float | None = Field(description="sold / stock.")


class CouponOutcome(_Out):
    template_id: int
    name: str
    kind: str
    drops: int
    dropped: int = Field(description="Coupons offered (sum of the drops' quantities).")
    claimed: int
    redeemed: int
    cost_cents: int = Field(description="Sum of discount_cents of the redemptions.")
    redeemed_gmv_cents: int = Field(description="GMV of the paid orders that used them.")
    roi: float | None = Field(description="redeemed GMV / cost.")


class Activities(_Out):
    polls: list[PollOutcome]
    lotteries: list[LotteryOutcome]
    red_packets: list[RedPacketOutcome]
    flash_sales: list[FlashSaleOutcome]
    coupons: list[CouponOutcome]


class Review(_Out):
    """One show's post-live review (``partial``: the show is still live, figures as of ``as_of``)."""

    # -- the metrics schema ------------------------------------------------------------------
    show_id: int
    status: ShowStatus
    as_of: datetime
    started_at: datetime | None
    ended_at: datetime | None
    duration_seconds: float
    totals: Totals
    explaining_product_id: int | None
    products: list[ProductRow] = Field(description="Highest GMV first, then product id.")
    minutes: list[MinuteRow]
    # -- what the review adds ----------------------------------------------------------------
    show: ShowSummary
    partial: bool
    high_interaction_minutes: list[int] = Field(description="Indexes of the top-decile minutes.")
    rankings: Rankings
    sources: list[SourceRow]
    audience: Audience
    retention: list[RetentionPoint]
    funnel: list[FunnelStep]
    activities: Activities
    history: HistoryRanking
    after_show: AfterShow | None
    suggestions: list[Suggestion]
