"""Order events (schemas, the envelope) and the pure rules: the order state machine, a sale's state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from liveloop.commerce import (
    EVENT_TYPES,
    IllegalOrderTransition,
    OrderCancelled,
    OrderCreated,
    OrderEventData,
    OrderExpired,
    OrderInfo,
    OrderPaid,
    OrderRefunded,
    OrderState,
    SaleState,
)
from liveloop.commerce.events import order_event
from liveloop.commerce.model import OrderAction, effective_sale_state, next_order_state
from liveloop.core.events import Event

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ORDER = OrderInfo(
    id=7,
    shop_id=1,
    show_id=3,
    product_id=11,
    flash_sale_id=5,
    buyer_id="u:alice",
    quantity=2,
    unit_price_cents=990,
    amount_cents=1980,
    state=OrderState.CREATED,
    reserved_until=NOW + timedelta(minutes=15),
    created_at=NOW,
)
SAMPLES: list[tuple[type[OrderEventData], dict[str, str]]] = [
    (OrderCreated, {}),
    (OrderPaid, {"provider": "simulated"}),
    (OrderCancelled, {"reason": "buyer"}),
    (OrderExpired, {}),
    (OrderRefunded, {}),
]


def test_every_order_event_is_registered() -> None:
    assert set(EVENT_TYPES) == {
        "order.created",
        "order.paid",
        "order.cancelled",
        "order.expired",
        "order.refunded",
    }
    assert {kind.TYPE for kind, _ in SAMPLES} == set(EVENT_TYPES)


@pytest.mark.parametrize(("kind", "extra"), SAMPLES, ids=lambda s: getattr(s, "TYPE", ""))
def test_round_trip_through_the_envelope(kind: type[OrderEventData], extra: dict[str, str]) -> None:
    event = order_event(kind, ORDER, **extra)
    assert (event.type, event.shop_id, event.show_id, event.actor) == (kind.TYPE, 1, 3, "u:alice")
    wire = Event.model_validate_json(event.model_dump_json())
    payload = EVENT_TYPES[wire.type].model_validate(wire.data)
    assert payload.model_dump() == {
        "order_id": 7,
        "buyer": "u:alice",
        "product_id": 11,
        "flash_sale_id": 5,
        "show_id": 3,
        "quantity": 2,
        "unit_price_cents": 990,
        "amount_cents": 1980,
        "discount_cents": 0,
        **extra,
    }


def test_a_staff_refund_names_the_staff_member() -> None:
    assert order_event(OrderRefunded, ORDER, actor="staff:4").actor == "staff:4"


def test_schemas_refuse_bad_payloads() -> None:
    good = order_event(OrderPaid, ORDER, provider="x").data
    with pytest.raises(ValidationError):
        OrderPaid.model_validate(good | {"amount_cents": -1})
    with pytest.raises(ValidationError):
        OrderPaid.model_validate(good | {"quantity": 0})
    with pytest.raises(ValidationError):
        OrderPaid.model_validate({k: v for k, v in good.items() if k != "provider"})
    with pytest.raises(ValidationError):
        OrderCreated.model_validate(order_event(OrderCreated, ORDER).data | {"extra": 1})


def test_the_order_state_machine() -> None:
    allowed = {
        (OrderState.CREATED, OrderAction.PAY): OrderState.PAID,
        (OrderState.CREATED, OrderAction.CANCEL): OrderState.CANCELLED,
        (OrderState.CREATED, OrderAction.EXPIRE): OrderState.EXPIRED,
        (OrderState.PAID, OrderAction.REFUND): OrderState.REFUNDED,
    }
    for state in OrderState:
        for action in OrderAction:
            if (state, action) in allowed:
                assert next_order_state(state, action) is allowed[(state, action)]
            else:
                with pytest.raises(IllegalOrderTransition):
                    next_order_state(state, action)


def test_a_sales_effective_state() -> None:
    starts, ends = NOW, NOW + timedelta(minutes=10)

    def at(stored: SaleState, now: datetime) -> SaleState:
        return effective_sale_state(stored, starts_at=starts, ends_at=ends, now=now)

    assert at(SaleState.SCHEDULED, NOW - timedelta(seconds=1)) is SaleState.SCHEDULED
    assert at(SaleState.SCHEDULED, NOW) is SaleState.ACTIVE  # the countdown ran out
    assert at(SaleState.ACTIVE, NOW - timedelta(hours=1)) is SaleState.ACTIVE  # started by hand
    assert at(SaleState.ACTIVE, ends) is SaleState.ENDED
    assert at(SaleState.ENDED, NOW + timedelta(minutes=1)) is SaleState.ENDED
