"""Events of orders and flash sales: what the data loop (live GMV, review, segments) learns.

Orders: ``Event.actor`` is the buyer (``u:<user>``), or ``staff:<id>`` for a refund; ``Event.show_id``
is the show the order was placed in, when known. Flash sales: ``Event.show_id`` is the sale's show
and ``Event.room_id`` that show's room (None for a sale tied to no show: it reaches no room).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import ClassVar

from pydantic import Field

from liveloop.commerce.contracts import OrderInfo
from liveloop.core.events import Event, EventData, make_event


class OrderEventData(EventData):
    order_id: int
    buyer: str = Field(description='The buyer\'s viewer id, "u:<user>".')
    product_id: int
    flash_sale_id: int | None
    show_id: int | None
    quantity: int = Field(ge=1)
    unit_price_cents: int = Field(ge=0)
    amount_cents: int = Field(ge=0, description="What the buyer pays, integer cents.")
    discount_cents: int = Field(default=0, ge=0, description="What a coupon took off the price.")


class OrderCreated(OrderEventData):
    TYPE: ClassVar[str] = "order.created"


class OrderPaid(OrderEventData):
    TYPE: ClassVar[str] = "order.paid"

    provider: str


class OrderCancelled(OrderEventData):
    TYPE: ClassVar[str] = "order.cancelled"

    reason: str


class OrderExpired(OrderEventData):
    TYPE: ClassVar[str] = "order.expired"


class OrderRefunded(OrderEventData):
    TYPE: ClassVar[str] = "order.refunded"


EVENT_TYPES: Mapping[str, type[OrderEventData]] = MappingProxyType(
    {cls.TYPE: cls for cls in (OrderCreated, OrderPaid, OrderCancelled, OrderExpired, OrderRefunded)}
)


def order_event(
    kind: type[OrderEventData], order: OrderInfo, *, actor: str | None = None, **extra: str
) -> Event:
    payload = kind(
        order_id=order.id,
        buyer=order.buyer_id,
        product_id=order.product_id,
        flash_sale_id=order.flash_sale_id,
        show_id=order.show_id,
        quantity=order.quantity,
        unit_price_cents=order.unit_price_cents,
        amount_cents=order.amount_cents,
        discount_cents=order.discount_cents,
        **extra,
    )
    return make_event(payload, shop_id=order.shop_id, show_id=order.show_id, actor=actor or order.buyer_id)


class FlashSaleStarted(EventData):
    """A sale was announced or opened: it runs from ``starts_at`` (maybe a countdown) to ``ends_at``.

    Emitted when the sale is created and again when staff open it early (then ``starts_at`` is now);
    the latest one for a sale is its window."""

    TYPE: ClassVar[str] = "flash_sale.started"

    sale_id: int
    product_id: int
    price_cents: int = Field(ge=0)
    stock: int = Field(ge=0)
    per_user_limit: int = Field(ge=1)
    starts_at: datetime
    ends_at: datetime


class FlashSaleEnded(EventData):
    """A sale ended, by hand or because its ``ends_at`` passed."""

    TYPE: ClassVar[str] = "flash_sale.ended"

    sale_id: int
    product_id: int
    sold: int = Field(ge=0, description="Units held by created or paid orders when it ended.")


SALE_EVENT_TYPES: Mapping[str, type[EventData]] = MappingProxyType(
    {cls.TYPE: cls for cls in (FlashSaleStarted, FlashSaleEnded)}
)
