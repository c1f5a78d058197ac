"""Events of coupons: dropped into a room, claimed by a viewer, redeemed by a paid order.

``Event.room_id`` and ``Event.show_id`` are the drop's room and the show live there at the drop
(``coupon.redeemed``: the paid order's show, else the drop's). ``Event.actor`` is ``staff:<id>`` for
a drop and the viewer (``u:<user>``) otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import ClassVar

from pydantic import Field

from liveloop.commerce.coupon_rules import CouponKind
from liveloop.core.events import EventData


class CouponDropped(EventData):
    TYPE: ClassVar[str] = "coupon.dropped"

    drop_id: int
    template_id: int
    name: str
    kind: CouponKind
    quantity: int = Field(ge=1, description="The first `quantity` claimers get one each.")
    expires_at: datetime = Field(description="Claims close then.")
    # The terms, so a room can show "满 200 减 30" without another request.
    amount_off_cents: int | None = None
    percent: int | None = None
    max_discount_cents: int | None = None
    threshold_cents: int | None = None
    product_id: int | None = Field(default=None, description="Only this product; None: the whole shop.")


class CouponClaimed(EventData):
    TYPE: ClassVar[str] = "coupon.claimed"

    drop_id: int | None
    template_id: int
    coupon_id: int


class CouponRedeemed(EventData):
    TYPE: ClassVar[str] = "coupon.redeemed"

    coupon_id: int
    template_id: int
    order_id: int
    discount_cents: int = Field(ge=0, description="What the coupon took off: its cost, for ROI.")


COUPON_EVENT_TYPES: Mapping[str, type[EventData]] = MappingProxyType(
    {cls.TYPE: cls for cls in (CouponDropped, CouponClaimed, CouponRedeemed)}
)
