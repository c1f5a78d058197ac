"""The live metrics schema as API models (the contract shared with the console and the review).

Definitions: METRICS.md. Every rate is a :class:`Ratio` that carries its numerator, denominator and
the name of its base; ``value`` is null when the denominator is 0.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["MinuteMetrics", "ProductMetrics", "Ratio", "ShowMetrics", "Totals"]

Number = int | float


class Ratio(BaseModel):
    value: float | None = Field(description="numerator / denominator (x 1000 for GPM, OPM); null when 0/0.")
    numerator: Number
    denominator: Number
    base: str = Field(description='What the denominator counts: "uv", "pv", "exposure_uv", "sessions", ...')


class Totals(BaseModel):
    uv: int = Field(description="观看人数: distinct viewers who entered.")
    pv: int = Field(description="观看人次: entries, re-entries counted.")
    ccu: int = Field(description="在线人数 now (0 once the show is over).")
    pcu: int = Field(description="峰值在线: the highest CCU seen.")
    acu: Ratio = Field(description="平均在线: watch seconds / show duration seconds.")
    watch_seconds: float = Field(
        description="Each viewer's watch time in the show, capped at the show length."
    )
    avg_watch_seconds: Ratio = Field(description="人均观看时长: watch seconds / UV.")
    effective_views: int = Field(description="有效观看: sessions of at least 10 s.")
    sessions: int = Field(description="Viewing sessions that have ended.")
    quick_exit_rate: Ratio = Field(description="秒跳出率: sessions under 10 s / sessions.")
    sources: dict[str, int] = Field(description="流量来源: UV per entry source.")
    comments: int
    likes: int
    shares: int
    follows: int
    votes: int
    questions: int
    commenting_uv: int
    liking_uv: int
    sharing_uv: int
    interacting_uv: int = Field(description="UV who commented, liked, shared, voted, asked or followed.")
    comment_rate: Ratio
    like_rate: Ratio
    share_rate: Ratio
    follow_rate: Ratio = Field(description="转粉率: new follows / UV.")
    comments_per_viewer: Ratio
    interaction_rate: Ratio = Field(description="互动率: interacting UV / UV.")
    exposure_uv: int
    click_uv: int
    order_uv: int
    paid_uv: int
    orders: int
    paid_orders: int
    gmv_cents: int = Field(description="Paid order amounts in the show, refunds not subtracted.")
    refund_cents: int
    net_gmv_cents: int
    coupon_cost_cents: int
    exposure_rate: Ratio
    ctr: Ratio = Field(description="商品点击率: click UV / exposure UV.")
    click_to_order: Ratio
    order_to_paid: Ratio
    click_to_paid: Ratio
    view_to_paid: Ratio
    gpm: Ratio = Field(description="千次观看成交金额: GMV cents / PV x 1000.")
    opm: Ratio
    uv_value: Ratio
    aov_per_order: Ratio
    aov_per_buyer: Ratio


class ProductMetrics(BaseModel):
    product_id: int
    exposure_uv: int
    click_uv: int
    order_uv: int
    paid_uv: int
    paid_orders: int
    gmv_cents: int
    ctr: Ratio
    click_to_paid: Ratio
    explaining: bool = Field(description="讲解中 now.")
    explained_seconds: float
    explained_pv: int = Field(description="Entries while the product was explained.")
    product_gpm: Ratio = Field(description="GMV cents / explained PV x 1000.")


class MinuteMetrics(BaseModel):
    minute: datetime = Field(description="The calendar minute's start (UTC).")
    index: int = Field(description="0 = the minute the show started in.")
    ccu: int = Field(description="CCU at the minute's end (now, for the current minute).")
    max_ccu: int
    entries: int
    leaves: int
    comments: int
    likes: int
    shares: int
    votes: int
    follows: int
    intensity: float | None = Field(
        description="(comments + shares + votes + likes / 10) / CCU; null at 0 CCU."
    )
    exposure_uv: int
    click_uv: int
    orders: int
    paid_orders: int
    gmv_cents: int
    explaining_product_id: int | None = Field(description="The product explained longest in the minute.")


class ShowMetrics(BaseModel):
    show_id: int
    status: Literal["scheduled", "live", "ended", "cancelled"]
    as_of: datetime
    started_at: datetime | None
    ended_at: datetime | None
    duration_seconds: float
    totals: Totals
    explaining_product_id: int | None
    products: list[ProductMetrics] = Field(description="Products with any activity, by GMV (highest first).")
    minutes: list[MinuteMetrics] = Field(description="Empty when asked with minutes=false.")
