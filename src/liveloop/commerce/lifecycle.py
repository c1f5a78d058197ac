"""An order after placement: paid, cancelled, expired, refunded, each move a compare-and-set.

A move is one transaction whose first statement is ``UPDATE orders SET state = <to> WHERE id = ? AND
state = <from>``: it takes the order's row lock (and SQLite's write lock before any read), and only the
transaction whose UPDATE matched moves the order. So a provider's repeated notice, the sweeper and a
buyer's cancel racing each other resolve to exactly one transition. Leaving a holding state (cancel,
expire, refund) gives the units back: ``quantity_allocated`` in the same transaction (the order row,
then its sale or product row: the one lock order), the counters after commit. Events go out after
commit. An order's coupon (``commerce.coupon_redeem``) moves in the same transaction, locked last:
released (usable again) when the order is cancelled or expires, redeemed when it is paid; a refund
keeps it redeemed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

import structlog
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from liveloop.commerce.context import CommerceContext
from liveloop.commerce.coupon_redeem import redeem_coupon, release_coupon
from liveloop.commerce.errors import (
    IllegalOrderTransition,
    OrderNotFound,
    PaymentAmountMismatch,
)
from liveloop.commerce.events import OrderCancelled, OrderExpired, OrderPaid, OrderRefunded, order_event
from liveloop.commerce.model import CancelReason, OrderAction, OrderState, next_order_state, source_state
from liveloop.commerce.order_views import latest_payment, to_info
from liveloop.commerce.orders import check_buyer
from liveloop.commerce.payments import PaymentNotice, PaymentOutcome, PaymentState
from liveloop.commerce.stock import release_order_units
from liveloop.commerce.storage import FlashSaleRow, OrderRow, PaymentRow, ProductRow
from liveloop.core.counters import Counters
from liveloop.core.db import Database, utcnow
from liveloop.core.events import EventBus
from liveloop.shops import Permission, Principal, Viewer, check_permission

log = structlog.get_logger(__name__)

_STAMP = {
    OrderState.PAID: "paid_at",
    OrderState.CANCELLED: "cancelled_at",
    OrderState.EXPIRED: "expired_at",
    OrderState.REFUNDED: "refunded_at",
}


@dataclass(frozen=True, slots=True)
class NoticeResult:
    order: OrderRow
    applied: bool  # False: a repeated notice, nothing changed


async def _move(
    session: AsyncSession,
    order_id: int,
    action: OrderAction,
    *,
    now: datetime,
    where: tuple[ColumnElement[bool], ...] = (),
    **values: Any,
) -> OrderRow | None:
    """Move the order along ``action`` if it is in the action's source state; None if it was not."""
    to = next_order_state(source_state(action), action)
    moved = await session.scalars(
        update(OrderRow)
        .where(OrderRow.id == order_id, OrderRow.state == source_state(action).value, *where)
        .values(state=to.value, **{_STAMP[to]: now}, **values)
        .returning(OrderRow)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return moved.one_or_none()


async def _why_not(
    session: AsyncSession, order_id: int, action: OrderAction, *, shop_id: int, buyer: str | None = None
) -> NoReturn:
    """After a move did not match: raise the error that explains it."""
    row = await session.get(OrderRow, order_id, populate_existing=True)
    if row is None or row.shop_id != shop_id or (buyer is not None and row.buyer_id != buyer):
        raise OrderNotFound(f"order {order_id} not found")
    next_order_state(OrderState(row.state), action)  # raises IllegalOrderTransition
    raise IllegalOrderTransition(f"order {order_id} changed meanwhile; read it again")


async def _unallocate(session: AsyncSession, order: OrderRow) -> None:
    if order.flash_sale_id is not None:
        stmt = (
            update(FlashSaleRow)
            .where(FlashSaleRow.id == order.flash_sale_id)
            .values(quantity_allocated=FlashSaleRow.quantity_allocated - order.quantity)
        )
    else:
        stmt = (
            update(ProductRow)
            .where(ProductRow.id == order.product_id)
            .values(quantity_allocated=ProductRow.quantity_allocated - order.quantity)
        )
    await session.execute(stmt.execution_options(synchronize_session=False))


async def do_cancel_order(ctx: CommerceContext, viewer: Viewer, order_id: int) -> OrderRow:
    """The buyer gives up an unpaid order; its units go back on sale at once."""
    buyer = check_buyer(viewer)
    mine = (OrderRow.shop_id == viewer.shop_id, OrderRow.buyer_id == buyer)
    async with ctx.db.transaction() as session:
        row = await _move(
            session, order_id, OrderAction.CANCEL, now=utcnow(), where=mine, cancel_reason=CancelReason.BUYER
        )
        if row is None:
            await _why_not(session, order_id, OrderAction.CANCEL, shop_id=viewer.shop_id, buyer=buyer)
        await _unallocate(session, row)
        await release_coupon(session, row)
    info = to_info(row)
    await release_order_units(ctx.counters, info)
    ctx.events.emit(order_event(OrderCancelled, info, reason=CancelReason.BUYER.value))
    return row


async def do_refund_order(ctx: CommerceContext, principal: Principal, order_id: int) -> OrderRow:
    """Refund a paid order (owner, operator): its units go back on sale, the provider pays back."""
    check_permission(principal, Permission.CATALOG_WRITE)
    async with ctx.db.transaction() as session:
        row = await _move(
            session,
            order_id,
            OrderAction.REFUND,
            now=utcnow(),
            where=(OrderRow.shop_id == principal.shop_id,),
        )
        if row is None:
            await _why_not(session, order_id, OrderAction.REFUND, shop_id=principal.shop_id)
        await _unallocate(session, row)
        payment = await latest_payment(session, row.id)
        if payment is not None and payment.state == PaymentState.SUCCEEDED.value:
            payment.state = PaymentState.REFUNDED.value
    info = to_info(row)
    await release_order_units(ctx.counters, info)
    ctx.events.emit(order_event(OrderRefunded, info, actor=f"staff:{principal.staff_id}"))
    if payment is not None:
        try:
            await ctx.payments.refund_payment(info, provider_ref=payment.provider_ref)
        except Exception:
            log.exception("provider refund failed; retry it with the provider", order_id=row.id)
    return row


async def _record_notice(session: AsyncSession, order: OrderRow, notice: PaymentNotice) -> None:
    state = PaymentState.SUCCEEDED if notice.outcome is PaymentOutcome.SUCCEEDED else PaymentState.FAILED
    payment = await session.scalar(
        select(PaymentRow).where(
            PaymentRow.provider == notice.provider, PaymentRow.provider_ref == notice.provider_ref
        )
    )
    if payment is None:
        payment = PaymentRow(
            shop_id=order.shop_id,
            order_id=order.id,
            provider=notice.provider,
            provider_ref=notice.provider_ref,
            amount_cents=notice.amount_cents,
        )
        session.add(payment)
    elif payment.order_id != order.id:
        raise IllegalOrderTransition("this payment reference belongs to another order")
    payment.state, payment.raw_notification = state.value, notice.raw
    await session.flush()


async def _is_repeat(session: AsyncSession, notice: PaymentNotice) -> OrderRow:
    """The order, if ``notice`` was applied to it before; else the error that refuses it."""
    row = await session.get(OrderRow, notice.order_id, populate_existing=True)
    if row is None or row.shop_id != notice.shop_id:
        raise OrderNotFound(f"order {notice.order_id} not found")
    if row.amount_cents != notice.amount_cents:
        raise PaymentAmountMismatch(f"order {row.id} is {row.amount_cents} cents, not {notice.amount_cents}")
    succeeded = notice.outcome is PaymentOutcome.SUCCEEDED
    payment = await session.scalar(
        select(PaymentRow).where(
            PaymentRow.provider == notice.provider, PaymentRow.provider_ref == notice.provider_ref
        )
    )
    expected = PaymentState.SUCCEEDED if succeeded else PaymentState.FAILED
    if payment is not None and payment.order_id == row.id and payment.state == expected.value:
        return row
    action = OrderAction.PAY if succeeded else OrderAction.CANCEL
    next_order_state(OrderState(row.state), action)
    raise IllegalOrderTransition(f"order {row.id} changed meanwhile")


async def do_apply_payment_notice(ctx: CommerceContext, notice: PaymentNotice) -> NoticeResult:
    """Pay (or, on a failed payment, cancel) the order; a repeated notice changes nothing.

    The amount must match the order's. A success for an order that expired or was cancelled meanwhile
    is refused (IllegalOrderTransition): its units may be sold again, so the provider must refund it.
    """
    for attempt in range(2):
        try:
            return await _apply_notice(ctx, notice)
        except IntegrityError:  # the payment row was being written by create_payment's recorder
            if attempt:
                raise
    raise AssertionError("unreachable")


async def _apply_notice(ctx: CommerceContext, notice: PaymentNotice) -> NoticeResult:
    succeeded = notice.outcome is PaymentOutcome.SUCCEEDED
    matches = (OrderRow.shop_id == notice.shop_id, OrderRow.amount_cents == notice.amount_cents)
    extra = {} if succeeded else {"cancel_reason": CancelReason.PAYMENT_FAILED}
    action = OrderAction.PAY if succeeded else OrderAction.CANCEL
    now, redeemed = utcnow(), None
    async with ctx.db.transaction() as session:
        row = await _move(session, notice.order_id, action, now=now, where=matches, **extra)
        if row is None:
            return NoticeResult(await _is_repeat(session, notice), applied=False)
        if succeeded:
            redeemed = await redeem_coupon(session, row, now=now)
        else:
            await _unallocate(session, row)
            await release_coupon(session, row)
        await _record_notice(session, row, notice)
    info = to_info(row)
    if succeeded:
        ctx.events.emit(order_event(OrderPaid, info, provider=notice.provider))
        if redeemed is not None:
            ctx.events.emit(redeemed)
    else:
        await release_order_units(ctx.counters, info)
        ctx.events.emit(order_event(OrderCancelled, info, reason=CancelReason.PAYMENT_FAILED.value))
    return NoticeResult(row, applied=True)


async def do_expire_orders(
    db: Database, counters: Counters, *, now: datetime, events: EventBus | None = None, limit: int = 500
) -> list[OrderRow]:
    """Expire up to ``limit`` created orders whose ``reserved_until`` has passed; release their units.

    One short transaction per order, so a sweep never holds many locks and a paying buyer racing it
    either pays first (and keeps the order) or finds it expired.
    """
    async with db.read() as session:
        due = list(
            await session.scalars(
                select(OrderRow.id)
                .where(OrderRow.state == OrderState.CREATED.value, OrderRow.reserved_until <= now)
                .order_by(OrderRow.reserved_until)
                .limit(limit)
            )
        )
    expired: list[OrderRow] = []
    for order_id in due:
        async with db.transaction() as session:
            row = await _move(
                session, order_id, OrderAction.EXPIRE, now=now, where=(OrderRow.reserved_until <= now,)
            )
            if row is None:
                continue
            await _unallocate(session, row)
            await release_coupon(session, row)
        info = to_info(row)
        await release_order_units(counters, info)
        if events is not None:
            events.emit(order_event(OrderExpired, info))
        expired.append(row)
    return expired
