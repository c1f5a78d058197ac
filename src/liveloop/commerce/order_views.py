"""Reading orders: staff lists and details, a buyer's own orders, and the payment shown with them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liveloop.commerce.contracts import OrderInfo
from liveloop.commerce.errors import OrderNotFound
from liveloop.commerce.model import OrderState
from liveloop.commerce.payments import SIMULATED_LABEL, PaymentIntent, PaymentState, SimulatedPayments
from liveloop.commerce.storage import OrderRow, PaymentRow
from liveloop.core.db import Database
from liveloop.core.pagination import PageParams
from liveloop.shops import Permission, Principal, Viewer, check_permission


@dataclass(frozen=True, slots=True)
class PaymentView:
    provider: str
    provider_ref: str
    state: PaymentState
    amount_cents: int
    simulated: bool
    notice: str | None  # "SIMULATED — no money moves" for the embedded provider


@dataclass(frozen=True, slots=True)
class OrderView:
    order: OrderRow
    payment: PaymentView | None
    replayed: bool = False  # an idempotent retry answered with the order placed before


@dataclass(frozen=True, slots=True)
class OrderFilter:
    state: OrderState | None = None
    show_id: int | None = None
    flash_sale_id: int | None = None
    product_id: int | None = None
    buyer_id: str | None = None


def to_info(row: OrderRow) -> OrderInfo:
    return OrderInfo(
        id=row.id,
        shop_id=row.shop_id,
        show_id=row.show_id,
        product_id=row.product_id,
        flash_sale_id=row.flash_sale_id,
        buyer_id=row.buyer_id,
        quantity=row.quantity,
        unit_price_cents=row.unit_price_cents,
        amount_cents=row.amount_cents,
        state=OrderState(row.state),
        reserved_until=row.reserved_until,
        created_at=row.created_at,
        discount_cents=row.discount_cents,
        coupon_id=row.coupon_id,
    )


def intent_view(intent: PaymentIntent) -> PaymentView:
    return PaymentView(
        provider=intent.provider,
        provider_ref=intent.provider_ref,
        state=PaymentState.PENDING,
        amount_cents=intent.amount_cents,
        simulated=intent.simulated,
        notice=intent.label or None,
    )


def payment_view(row: PaymentRow) -> PaymentView:
    simulated = row.provider == SimulatedPayments.name
    return PaymentView(
        provider=row.provider,
        provider_ref=row.provider_ref,
        state=PaymentState(row.state),
        amount_cents=row.amount_cents,
        simulated=simulated,
        notice=SIMULATED_LABEL if simulated else None,
    )


async def latest_payment(session: AsyncSession, order_id: int) -> PaymentRow | None:
    return await session.scalar(
        select(PaymentRow).where(PaymentRow.order_id == order_id).order_by(PaymentRow.id.desc()).limit(1)
    )


async def get_payment_view(db: Database, order_id: int) -> PaymentView | None:
    """The order's latest payment attempt, if any."""
    async with db.read() as session:
        row = await latest_payment(session, order_id)
    return None if row is None else payment_view(row)


async def _view(session: AsyncSession, row: OrderRow) -> OrderView:
    payment = await latest_payment(session, row.id)
    return OrderView(row, None if payment is None else payment_view(payment))


async def get_orders(
    db: Database, principal: Principal, page: PageParams, where: OrderFilter
) -> list[OrderRow]:
    """The shop's orders, oldest first (reading orders is catalog reading: every staff role)."""
    check_permission(principal, Permission.CATALOG_READ)
    stmt = select(OrderRow).where(OrderRow.shop_id == principal.shop_id, OrderRow.id > page.after_id)
    if where.state is not None:
        stmt = stmt.where(OrderRow.state == where.state.value)
    if where.show_id is not None:
        stmt = stmt.where(OrderRow.show_id == where.show_id)
    if where.flash_sale_id is not None:
        stmt = stmt.where(OrderRow.flash_sale_id == where.flash_sale_id)
    if where.product_id is not None:
        stmt = stmt.where(OrderRow.product_id == where.product_id)
    if where.buyer_id is not None:
        stmt = stmt.where(OrderRow.buyer_id == where.buyer_id)
    async with db.read() as session:
        return list(await session.scalars(stmt.order_by(OrderRow.id).limit(page.limit + 1)))


async def get_order(db: Database, principal: Principal, order_id: int) -> OrderView:
    check_permission(principal, Permission.CATALOG_READ)
    async with db.read() as session:
        row = await session.get(OrderRow, order_id)
        if row is None or row.shop_id != principal.shop_id:
            raise OrderNotFound(f"order {order_id} not found")
        return await _view(session, row)


async def get_buyer_order(db: Database, viewer: Viewer, order_id: int) -> OrderView:
    """One of the viewer's own orders (anyone else's is not found)."""
    async with db.read() as session:
        row = await session.get(OrderRow, order_id)
        if row is None or row.shop_id != viewer.shop_id or row.buyer_id != viewer.viewer_id:
            raise OrderNotFound(f"order {order_id} not found")
        return await _view(session, row)
