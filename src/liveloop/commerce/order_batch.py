"""Set-based writers of the group commit: a flash sale's winners, and the payments they start.

**Winners** (:func:`write_sale_wins`): three statements for a whole batch.

Used by the group commit (``commerce.group_commit``) for the queued winners of one sale that carry no
coupon. Synchronous: on SQLite the whole batch runs as one hand-off to a writer thread
(``Database.run_write``). It applies exactly the guards of the one-order path (``commerce.orders``), for all
of them at once:

1. one conditional UPDATE of the sale adds every unit, or matches nothing (sold out, ended, not the
   shop's): the truth's guard against overselling, and the sale row's lock;
2. one SELECT sums, under that lock, the units each of these buyers already holds;
3. one INSERT ... RETURNING writes every order.

When any of them would be refused (the sale cannot take them all, a buyer would pass the limit,
an idempotency key is taken), it returns None, or the INSERT raises, and the group commit rolls
this back to its savepoint and writes the winners one by one instead, each in its own savepoint,
where each gets its own answer. So the set-based path only ever writes what the one-by-one path
would have written, in fewer round trips.

**Payments** (:func:`write_payments`): the payment rows of orders just placed, in one INSERT; a
payment the provider's notice recorded first (the same provider reference) is left as it is, as
the one-by-one path does when the unique index refuses it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, insert, select, tuple_
from sqlalchemy.orm import Session

from liveloop.commerce.allocation import sale_allocation
from liveloop.commerce.model import HOLDING_STATES, OrderState
from liveloop.commerce.storage import OrderRow, PaymentRow
from liveloop.core.db import utcnow

__all__ = ["NewPayment", "SaleWin", "write_payments", "write_sale_wins"]

_HOLDING = [state.value for state in HOLDING_STATES]


@dataclass(frozen=True, slots=True)
class SaleWin:
    """One winning grab of a flash sale, as ``commerce.orders`` would write it (no coupon)."""

    sale_id: int
    shop_id: int
    product_id: int
    show_id: int | None
    buyer: str
    quantity: int
    idempotency_key: str
    hold: timedelta


def write_sale_wins(session: Session, wins: Sequence[SaleWin]) -> list[OrderRow] | None:
    """The orders of ``wins`` (one sale, one shop), in order; None when the batch cannot be written
    whole (the caller rolls back what this did and writes the winners one by one)."""
    first = wins[0]
    if any(w.sale_id != first.sale_id or w.shop_id != first.shop_id for w in wins):
        return None
    now = utcnow()
    total = sum(w.quantity for w in wins)
    held_units = sale_allocation(first.sale_id, shop_id=first.shop_id, quantity=total, now=now)
    row = session.execute(held_units).first()
    if row is None:
        return None
    price, limit = int(row[0]), int(row[1])
    wanted: Counter[str] = Counter()
    for win in wins:
        wanted[win.buyer] += win.quantity
    held_rows = session.execute(
        select(OrderRow.buyer_id, func.sum(OrderRow.quantity))
        .where(
            OrderRow.flash_sale_id == first.sale_id,
            OrderRow.buyer_id.in_(list(wanted)),
            OrderRow.state.in_(_HOLDING),
        )
        .group_by(OrderRow.buyer_id)
    )
    held = {str(buyer): int(units or 0) for buyer, units in held_rows}
    if any(held.get(buyer, 0) + units > limit for buyer, units in wanted.items()):
        return None
    values = [
        {
            "shop_id": win.shop_id,
            "show_id": win.show_id,
            "product_id": win.product_id,
            "flash_sale_id": win.sale_id,
            "buyer_id": win.buyer,
            "quantity": win.quantity,
            "unit_price_cents": price,
            "amount_cents": price * win.quantity,
            "discount_cents": 0,
            "coupon_id": None,
            "state": OrderState.CREATED.value,
            "idempotency_key": win.idempotency_key,
            "reserved_until": now + win.hold,
            "created_at": now,
        }
        for win in wins
    ]
    # Matched back by (buyer, key), unique in the batch (the unique index refuses twins): asking the
    # database to keep the parameters' order makes SQLite insert row by row.
    inserted = session.scalars(insert(OrderRow).returning(OrderRow), values)
    by_key = {(order.buyer_id, order.idempotency_key): order for order in inserted}
    return [by_key[(win.buyer, win.idempotency_key)] for win in wins]


@dataclass(frozen=True, slots=True)
class NewPayment:
    """A payment the provider started for an order just placed: the row ``commerce.orders`` records."""

    shop_id: int
    order_id: int
    provider: str
    provider_ref: str
    amount_cents: int


def write_payments(session: Session, payments: Sequence[NewPayment]) -> list[bool]:
    """Record ``payments``; True for each row written, False where one was already recorded."""
    refs = {(p.provider, p.provider_ref) for p in payments}
    if len(refs) != len(payments):
        raise ValueError("one provider reference twice in a batch")  # the one-by-one path decides
    found = session.execute(
        select(PaymentRow.provider, PaymentRow.provider_ref).where(
            tuple_(PaymentRow.provider, PaymentRow.provider_ref).in_(list(refs))
        )
    )
    recorded = {(str(provider), str(ref)) for provider, ref in found}
    new = [p for p in payments if (p.provider, p.provider_ref) not in recorded]
    if new:
        session.execute(
            insert(PaymentRow),
            [
                {
                    "shop_id": p.shop_id,
                    "order_id": p.order_id,
                    "provider": p.provider,
                    "provider_ref": p.provider_ref,
                    "amount_cents": p.amount_cents,
                }
                for p in new
            ],
        )
    return [(p.provider, p.provider_ref) not in recorded for p in payments]
