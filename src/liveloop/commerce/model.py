"""Order and flash-sale rules (pure): the order state machine and a sale's effective state."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from liveloop.commerce.errors import IllegalOrderTransition


class OrderState(StrEnum):
    CREATED = "created"
    PAID = "paid"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUNDED = "refunded"


class OrderAction(StrEnum):
    PAY = "pay"
    CANCEL = "cancel"
    EXPIRE = "expire"
    REFUND = "refund"


TRANSITIONS: Mapping[tuple[OrderState, OrderAction], OrderState] = MappingProxyType(
    {
        (OrderState.CREATED, OrderAction.PAY): OrderState.PAID,
        (OrderState.CREATED, OrderAction.CANCEL): OrderState.CANCELLED,
        (OrderState.CREATED, OrderAction.EXPIRE): OrderState.EXPIRED,
        (OrderState.PAID, OrderAction.REFUND): OrderState.REFUNDED,
    }
)

#: States whose units count against the stock (and the buyer's limit): the rebuild formula's filter.
HOLDING_STATES = frozenset({OrderState.CREATED, OrderState.PAID})


def source_state(action: OrderAction) -> OrderState:
    """The one state ``action`` leaves from."""
    return next(state for (state, act) in TRANSITIONS if act is action)


def next_order_state(state: OrderState, action: OrderAction) -> OrderState:
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalOrderTransition(f"cannot {action.value} an order that is {state.value}") from None


class CancelReason(StrEnum):
    BUYER = "buyer"
    PAYMENT_FAILED = "payment_failed"


class SaleState(StrEnum):
    SCHEDULED = "scheduled"
    ACTIVE = "active"
    ENDED = "ended"


def effective_sale_state(
    stored: SaleState, *, starts_at: datetime, ends_at: datetime, now: datetime
) -> SaleState:
    """A sale runs from ``starts_at`` (a countdown) to ``ends_at`` unless ended by hand first."""
    if stored is SaleState.ENDED or now >= ends_at:
        return SaleState.ENDED
    if stored is SaleState.ACTIVE or now >= starts_at:
        return SaleState.ACTIVE
    return SaleState.SCHEDULED
