"""Frozen values the commerce domain hands to other domains (and to its ports)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from liveloop.commerce.model import OrderState, SaleState


@dataclass(frozen=True, slots=True)
class ProductInfo:
    id: int
    shop_id: int
    sku: str
    title: str
    price_cents: int
    list_price_cents: int | None
    stock: int
    image_url: str | None
    archived: bool


@dataclass(frozen=True, slots=True)
class OrderInfo:
    """An order as the data loop and the payment port see it. Money in integer cents."""

    id: int
    shop_id: int
    show_id: int | None
    product_id: int
    flash_sale_id: int | None
    buyer_id: str  # the viewer id, "u:<user>"
    quantity: int
    unit_price_cents: int
    amount_cents: int
    state: OrderState
    reserved_until: datetime
    created_at: datetime
    discount_cents: int = 0  # what a coupon took off; amount_cents is what the buyer pays
    coupon_id: int | None = None


@dataclass(frozen=True, slots=True)
class FlashSaleInfo:
    id: int
    shop_id: int
    product_id: int
    show_id: int | None
    price_cents: int
    stock: int
    per_user_limit: int
    starts_at: datetime
    ends_at: datetime
    state: SaleState  # effective at the time it was read
