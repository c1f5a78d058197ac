"""Events of orders: what the data loop (live GMV, review, segments) learns about each order.

``Event.actor`` is the buyer (``u:<user>``), or ``staff:<id>`` for a refund; ``Event.show_id`` is the
show the order was placed in, when known.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    amount_cents: int = Field(ge=0, description="Integer cents.")


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
        **extra,
    )
    return make_event(payload, shop_id=order.shop_id, show_id=order.show_id, actor=actor or order.buyer_id)
