"""A coupon on an order: checked and held when the order is placed, released when it is cancelled or
expires, redeemed when it is paid.

Each step runs inside the order's own transaction (``commerce.orders``, ``commerce.lifecycle``), after
that transaction's first statement took its lock, so the coupon and the order never disagree: the
hold is a conditional UPDATE (``used_order_id IS NULL``) that a concurrent order with the same coupon
cannot pass too. Lock order: the order's stock row (or the order row), then the coupon row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from liveloop.commerce.coupon_events import CouponRedeemed
from liveloop.commerce.coupon_rules import discount_cents, qualifies
from liveloop.commerce.coupons import terms_of
from liveloop.commerce.errors import (
    CouponAlreadyUsed,
    CouponExpired,
    CouponNotApplicable,
    CouponNotFound,
)
from liveloop.commerce.storage import CouponRow, CouponTemplateRow, OrderRow
from liveloop.core.events import Event, make_event


async def check_coupon(
    session: AsyncSession,
    coupon_id: int,
    *,
    shop_id: int,
    buyer: str,
    product_id: int,
    amount_cents: int,
    now: datetime,
) -> int:
    """What the buyer's coupon takes off an order of ``amount_cents`` for ``product_id``, or the error
    that refuses it (not theirs, used, expired, not valid yet, another product, below the threshold)."""
    coupon = await session.get(CouponRow, coupon_id, populate_existing=True)
    if coupon is None or coupon.shop_id != shop_id or coupon.owner_id != buyer:
        raise CouponNotFound(f"coupon {coupon_id} not found")
    if coupon.used_order_id is not None or coupon.redeemed_at is not None:
        raise CouponAlreadyUsed(f"coupon {coupon_id} is already used")
    if now >= coupon.valid_until:
        raise CouponExpired(f"coupon {coupon_id} expired at {coupon.valid_until.isoformat()}")
    if now < coupon.valid_from:
        raise CouponNotApplicable(f"coupon {coupon_id} is valid from {coupon.valid_from.isoformat()}")
    template = await session.get_one(CouponTemplateRow, coupon.template_id)
    if template.product_id is not None and template.product_id != product_id:
        raise CouponNotApplicable(f"coupon {coupon_id} is for product {template.product_id} only")
    terms = terms_of(template)
    if not qualifies(terms, amount_cents):
        raise CouponNotApplicable(
            f"coupon {coupon_id} needs an order of at least {terms.threshold_cents} cents"
        )
    return discount_cents(terms, amount_cents)


async def hold_coupon(
    session: AsyncSession, coupon_id: int, *, order_id: int, discount: int, now: datetime
) -> None:
    """Mark the coupon used by ``order_id``; CouponAlreadyUsed if another order took it meanwhile."""
    held = await session.execute(
        update(CouponRow)
        .where(CouponRow.id == coupon_id, CouponRow.used_order_id.is_(None), CouponRow.redeemed_at.is_(None))
        .values(used_order_id=order_id, used_at=now, discount_cents=discount)
        .execution_options(synchronize_session=False)
    )
    if getattr(held, "rowcount", 0) != 1:
        raise CouponAlreadyUsed(f"coupon {coupon_id} is already used")


async def release_coupon(session: AsyncSession, order: OrderRow) -> None:
    """Make the order's coupon usable again (its order was cancelled or expired unpaid)."""
    if order.coupon_id is None:
        return
    await session.execute(
        update(CouponRow)
        .where(
            CouponRow.id == order.coupon_id,
            CouponRow.used_order_id == order.id,
            CouponRow.redeemed_at.is_(None),
        )
        .values(used_order_id=None, used_at=None, discount_cents=0)
        .execution_options(synchronize_session=False)
    )


async def redeem_coupon(session: AsyncSession, order: OrderRow, *, now: datetime) -> Event | None:
    """Mark the paid order's coupon redeemed; the ``coupon.redeemed`` event to emit after commit."""
    if order.coupon_id is None:
        return None
    coupon = await session.scalar(
        update(CouponRow)
        .where(
            CouponRow.id == order.coupon_id,
            CouponRow.used_order_id == order.id,
            CouponRow.redeemed_at.is_(None),
        )
        .values(redeemed_at=now)
        .returning(CouponRow)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    if coupon is None:
        return None
    payload = CouponRedeemed(
        coupon_id=coupon.id,
        template_id=coupon.template_id,
        order_id=order.id,
        discount_cents=coupon.discount_cents,
    )
    show_id = order.show_id if order.show_id is not None else coupon.show_id
    return make_event(
        payload, shop_id=order.shop_id, room_id=coupon.room_id, show_id=show_id, actor=order.buyer_id
    )
