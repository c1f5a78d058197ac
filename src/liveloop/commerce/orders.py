"""Placing orders: the grab path of flash sales and regular product orders.

The grab, in order: a retried idempotency key returns its order; the offer is checked (the sale is
running, the product exists), both read in one snapshot by ``Database.run_read`` (on SQLite one
hand-off to a reader thread: the crowd holds the async pool's connections, and a request behind
them waited 1-8 s for each read); the key is claimed in Counters so concurrent retries wait for one
outcome; ``Counters.reserve`` refuses the crowd fast; then the order is written in ``created`` state
with ``reserved_until``, in a SAVEPOINT of the process's group commit (``commerce.group_commit``: the
concurrent winners share one transaction). If that write fails, the reservation is given back.

The SQL store guards itself: the transaction's first statement is a conditional UPDATE of the sale's
(or product's) ``quantity_allocated`` that cannot pass ``stock``, and the buyer's units are summed
under that row lock. So a cache that ran ahead of the truth (a rebuild racing other nodes) costs a
refused write, never an oversold unit. Lock order, as in saleor: a new order locks only its sale or
product row; every later transition (``commerce.lifecycle``) locks the order row, then that row.

The fast refusal: once a flash sale is sold out, the crowd still asking is answered ``sold out``
before any SQL read, when this process already read the sale (its shop, product and limit never
change) and ``Counters.peek_reserve`` says sold out to a buyer who holds none of its units. Such a
buyer has no order of this sale in ``created`` or ``paid`` state, so the answer is the one the full
path would give, with documented differences, all refusals that change nothing: a retried key whose
order of this sale was since cancelled, expired or refunded gets ``sold out`` instead of that order
(replayed); a sale that also ended gets ``sold out`` instead of ``sale not running``; and ``sold
out`` comes before the checks of the request's ``show_id`` and ``coupon_id``.
The counters only refuse here; a grab they allow is still checked against the SQL truth.

A coupon (``coupon_id``) is checked before the grab and again in that transaction, where the new
order holds it (``commerce.coupon_redeem``, locked after the stock row): ``amount_cents`` is what the
buyer pays, the price less the coupon's ``discount_cents``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from liveloop.commerce.allocation import allocate_product, allocate_sale
from liveloop.commerce.context import CommerceContext
from liveloop.commerce.coupon_redeem import check_coupon, hold_coupon
from liveloop.commerce.errors import (
    BuyerRequired,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InvalidOrder,
    OverLimit,
    ProductNotFound,
    SaleNotFound,
    SoldOut,
)
from liveloop.commerce.events import OrderCreated, order_event
from liveloop.commerce.flash_sales import check_sale_running, check_show
from liveloop.commerce.model import HOLDING_STATES, OrderState
from liveloop.commerce.order_batch import SaleWin
from liveloop.commerce.order_payment import do_start_payment
from liveloop.commerce.order_views import OrderView, get_payment_view, to_info
from liveloop.commerce.stock import StockTarget
from liveloop.commerce.storage import FlashSaleRow, OrderRow, ProductRow
from liveloop.core.counters import ReserveStatus
from liveloop.core.db import Database, utcnow
from liveloop.shops import Viewer

CLAIM_TTL_SECONDS = 30.0
_HOLDING = [state.value for state in HOLDING_STATES]
_ALLOWED, _OVER_LIMIT = ReserveStatus.ALLOWED, ReserveStatus.OVER_LIMIT


@dataclass(frozen=True, slots=True)
class OrderRequest:
    idempotency_key: str
    quantity: int = 1
    product_id: int | None = None
    flash_sale_id: int | None = None
    show_id: int | None = None
    coupon_id: int | None = None


@dataclass(frozen=True, slots=True)
class _Offer:
    target: StockTarget
    show_id: int | None


def check_buyer(viewer: Viewer) -> str:
    """The buyer id of a signed-in shop user; guests and staff tokens do not buy."""
    if viewer.user_id is None or viewer.staff_role is not None:
        raise BuyerRequired("sign in as a shop user (a viewer token) to buy")
    return viewer.viewer_id


def check_request(request: OrderRequest) -> None:
    if (request.product_id is None) == (request.flash_sale_id is None):
        raise InvalidOrder("name exactly one of product_id and flash_sale_id")
    if request.quantity < 1:
        raise InvalidOrder("quantity must be at least 1")


@dataclass(frozen=True, slots=True)
class _Found:
    """What a grab reads first, in one snapshot: the key's order, else the offer's row."""

    existing: OrderRow | None = None
    sale: FlashSaleRow | None = None
    product: ProductRow | None = None


def _order_by_key(session: Session, *, shop_id: int, buyer: str, key: str) -> OrderRow | None:
    return session.scalar(
        select(OrderRow).where(
            OrderRow.shop_id == shop_id, OrderRow.buyer_id == buyer, OrderRow.idempotency_key == key
        )
    )


def _find(session: Session, *, shop_id: int, buyer: str, request: OrderRequest) -> _Found:
    existing = _order_by_key(session, shop_id=shop_id, buyer=buyer, key=request.idempotency_key)
    if existing is not None:
        return _Found(existing=existing)
    if request.flash_sale_id is not None:
        return _Found(sale=session.get(FlashSaleRow, request.flash_sale_id))
    return _Found(product=session.get(ProductRow, request.product_id))


async def _lookup(db: Database, *, shop_id: int, buyer: str, request: OrderRequest) -> _Found:
    """One read, ``Database.run_read``: on SQLite one hand-off to the reader thread, not the async
    pool, whose connections the crowd holds across turns of its busy loop (the over-limit regression)."""
    return await db.run_read(partial(_find, shop_id=shop_id, buyer=buyer, request=request))


async def _by_key(db: Database, *, shop_id: int, buyer: str, key: str) -> OrderRow | None:
    return await db.run_read(partial(_order_by_key, shop_id=shop_id, buyer=buyer, key=key))


async def _offer(
    db: Database, found: _Found, request: OrderRequest, now: datetime, *, shop_id: int, buyer: str
) -> _Offer:
    show_id = request.show_id
    if request.flash_sale_id is not None:
        sale = found.sale
        if sale is None or sale.shop_id != shop_id:
            raise SaleNotFound(f"flash sale {request.flash_sale_id} not found")
        check_sale_running(sale, now)
        if request.quantity > sale.per_user_limit:
            raise OverLimit(f"at most {sale.per_user_limit} per buyer in this sale")
        target = StockTarget(sale.product_id, flash_sale_id=sale.id, limit=sale.per_user_limit)
        price = sale.price_cents
        if sale.show_id is not None:  # the sale's own show: nothing of the buyer's word to check
            offer = _Offer(target=target, show_id=sale.show_id)
            return await _with_coupon(db, offer, request, price, now, shop_id=shop_id, buyer=buyer)
    else:
        product = found.product
        if product is None or product.shop_id != shop_id or product.archived:
            raise ProductNotFound(f"product {request.product_id} not found")
        target = StockTarget(product.id)
        price = product.price_cents
    if show_id is not None:  # the buyer's word: check it
        async with db.read() as session:
            await check_show(session, shop_id, show_id)
    offer = _Offer(target=target, show_id=show_id)
    return await _with_coupon(db, offer, request, price, now, shop_id=shop_id, buyer=buyer)


async def _with_coupon(
    db: Database, offer: _Offer, request: OrderRequest, price: int, now: datetime, *, shop_id: int, buyer: str
) -> _Offer:
    """``offer``, once the coupon named (if any) is checked: a bad coupon is refused before the grab
    takes a unit."""
    if request.coupon_id is not None:
        async with db.read() as session:
            await check_coupon(
                session,
                request.coupon_id,
                shop_id=shop_id,
                buyer=buyer,
                product_id=offer.target.product_id,
                amount_cents=price * request.quantity,
                now=now,
            )
    return offer


def _check_same_request(row: OrderRow, request: OrderRequest) -> None:
    asked = (request.product_id, request.flash_sale_id, request.quantity, request.coupon_id)
    if request.flash_sale_id is not None:
        placed: tuple[int | None, ...] = (None, row.flash_sale_id, row.quantity, row.coupon_id)
    else:
        placed = (row.product_id, row.flash_sale_id, row.quantity, row.coupon_id)
    if asked != placed:
        raise IdempotencyKeyReused("this idempotency key already placed a different order")


async def _insert(
    session: AsyncSession,
    offer: _Offer,
    *,
    shop_id: int,
    buyer: str,
    request: OrderRequest,
    hold: timedelta,
) -> OrderRow:
    """The truth's guard and the order, in one transaction whose first statement takes the lock."""
    target, quantity, now = offer.target, request.quantity, utcnow()
    if target.flash_sale_id is not None:
        price = await allocate_sale(
            session, target.flash_sale_id, shop_id=shop_id, buyer=buyer, quantity=quantity, now=now
        )
    else:
        price = await allocate_product(session, target.product_id, shop_id=shop_id, quantity=quantity)
    discount = 0
    if request.coupon_id is not None:  # checked again under the lock: the price may have changed
        discount = await check_coupon(
            session,
            request.coupon_id,
            shop_id=shop_id,
            buyer=buyer,
            product_id=target.product_id,
            amount_cents=price * quantity,
            now=now,
        )
    order = OrderRow(
        shop_id=shop_id,
        show_id=offer.show_id,
        product_id=target.product_id,
        flash_sale_id=target.flash_sale_id,
        buyer_id=buyer,
        quantity=quantity,
        unit_price_cents=price,
        amount_cents=price * quantity - discount,
        discount_cents=discount,
        coupon_id=request.coupon_id,
        state=OrderState.CREATED.value,
        idempotency_key=request.idempotency_key,
        reserved_until=now + hold,
        created_at=now,
    )
    session.add(order)
    await session.flush()
    if request.coupon_id is not None:
        await hold_coupon(session, request.coupon_id, order_id=order.id, discount=discount, now=now)
    return order


def _claim_key(shop_id: int, buyer: str, key: str) -> str:
    return f"commerce:order-key:{shop_id}:{buyer}:{key}"


async def _claim_or_replay(
    ctx: CommerceContext, *, shop_id: int, buyer: str, request: OrderRequest
) -> OrderRow | None:
    """Claim the key (None), or the order a concurrent request with the same key placed meanwhile."""
    claim = _claim_key(shop_id, buyer, request.idempotency_key)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.policy.idempotency_wait_seconds
    pause = 0.02
    while await ctx.counters.incr(claim, ttl_seconds=CLAIM_TTL_SECONDS) != 1:
        existing = await _by_key(ctx.db, shop_id=shop_id, buyer=buyer, key=request.idempotency_key)
        if existing is not None:
            return existing
        if loop.time() > deadline:
            raise IdempotencyKeyInUse("a request with this idempotency key is still running; retry")
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.2)
    return None


async def do_place_order(ctx: CommerceContext, viewer: Viewer, request: OrderRequest) -> OrderView:
    """Place (or, for a known idempotency key, return) the buyer's order; emits ``order.created``.

    A flash sale's crowd arrives at once (10,000 room sockets tap "buy" in the same second): its
    orders take the full path a bounded number at a time (``ctx.sale_turns``), and each asks the
    stock again when its turn comes. Once the units are gone, the rest are refused without SQL
    instead of queueing thousands of reads behind the few that win.
    """
    buyer = check_buyer(viewer)
    check_request(request)
    if request.flash_sale_id is None:
        return await _place(ctx, viewer, request, buyer)
    if await _sold_out(ctx, viewer, request, buyer):
        raise SoldOut("sold out")  # the crowd after the last unit: no SQL read, no wait
    async with ctx.sale_turns:
        if await _sold_out(ctx, viewer, request, buyer):
            raise SoldOut("sold out")  # the last unit went while this order waited its turn
        return await _place(ctx, viewer, request, buyer)


async def _sold_out(ctx: CommerceContext, viewer: Viewer, request: OrderRequest, buyer: str) -> bool:
    assert request.flash_sale_id is not None
    return await ctx.stock.sold_out_for(
        request.flash_sale_id, shop_id=viewer.shop_id, buyer=buyer, quantity=request.quantity
    )


async def _place(ctx: CommerceContext, viewer: Viewer, request: OrderRequest, buyer: str) -> OrderView:
    shop_id, key = viewer.shop_id, request.idempotency_key
    found = await _lookup(ctx.db, shop_id=shop_id, buyer=buyer, request=request)
    existing = found.existing
    if existing is None:
        offer = await _offer(ctx.db, found, request, utcnow(), shop_id=shop_id, buyer=buyer)
        ctx.stock.remember_sale(shop_id, offer.target)
        existing = await _claim_or_replay(ctx, shop_id=shop_id, buyer=buyer, request=request)
    if existing is not None:
        _check_same_request(existing, request)
        return OrderView(existing, await get_payment_view(ctx.db, existing.id), replayed=True)
    try:
        order = await _grab(ctx, offer, shop_id=shop_id, buyer=buyer, request=request)
    except IntegrityError:  # the key's claim had lapsed and a twin request won the unique index
        existing = await _by_key(ctx.db, shop_id=shop_id, buyer=buyer, key=key)
        if existing is None:
            raise
        _check_same_request(existing, request)
        return OrderView(existing, await get_payment_view(ctx.db, existing.id), replayed=True)
    except BaseException:
        await ctx.counters.delete(_claim_key(shop_id, buyer, key))
        raise
    info = to_info(order)
    ctx.events.emit(order_event(OrderCreated, info))
    return OrderView(order, await do_start_payment(ctx, info))


async def _grab(
    ctx: CommerceContext, offer: _Offer, *, shop_id: int, buyer: str, request: OrderRequest
) -> OrderRow:
    target, quantity = offer.target, request.quantity
    status = (await ctx.stock.reserve(target, buyer, quantity)).status
    if status is not _ALLOWED:  # the crowd after the last unit: nothing else to do
        if status is _OVER_LIMIT:
            raise OverLimit(f"at most {target.limit} per buyer in this sale")
        raise SoldOut("sold out")
    hold = timedelta(seconds=ctx.policy.reservation_seconds)

    async def write(session: AsyncSession) -> OrderRow:
        return await _insert(session, offer, shop_id=shop_id, buyer=buyer, request=request, hold=hold)

    async def undo(error: BaseException) -> None:  # run by the writer, whether or not we still wait
        if isinstance(error, (SoldOut, OverLimit)):
            await ctx.stock.invalidate(target)  # the cache ran ahead of the truth: reload it
        else:
            await ctx.stock.release(target, buyer, quantity)

    lock_key = (target.flash_sale_id or 0, target.product_id)  # a sale row, else a product row
    if target.flash_sale_id is None or request.coupon_id is not None:
        return await ctx.orders.run(write, lock_key=lock_key, undo=undo)
    win = SaleWin(  # with other winners of this sale, written set-based (commerce.order_batch)
        sale_id=target.flash_sale_id,
        shop_id=shop_id,
        product_id=target.product_id,
        show_id=offer.show_id,
        buyer=buyer,
        quantity=quantity,
        idempotency_key=request.idempotency_key,
        hold=hold,
    )
    group = ("sale", target.flash_sale_id)
    return await ctx.orders.run(write, lock_key=lock_key, undo=undo, group=group, payload=win)
