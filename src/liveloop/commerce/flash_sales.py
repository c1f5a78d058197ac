"""Flash sales (秒杀): one product at a special price, its own stock, a per-buyer limit, a time window.

A sale runs from ``starts_at`` (set in the future for a countdown) to ``ends_at``; staff may start it
early or end it early. Its stock is its own pool, apart from the product's regular stock.

Permissions: creating a sale is catalog work (``CATALOG_WRITE``: owner, operator); starting and ending
one is show control (``SHOWS_CONTROL``: owner, operator, host), so the host can open it on air; reading
is ``CATALOG_READ`` (every staff role).

Events (after commit): ``flash_sale.started`` when a sale is created (its window, maybe a countdown)
and again when staff open it early; ``flash_sale.ended`` when staff end it or, through
:func:`do_end_due_sales` (the order sweeper), when its ``ends_at`` passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from liveloop.commerce.contracts import FlashSaleInfo
from liveloop.commerce.errors import (
    IllegalSaleTransition,
    InvalidSale,
    ProductNotFound,
    SaleEnded,
    SaleNotActive,
    SaleNotFound,
    ShowNotFound,
)
from liveloop.commerce.events import FlashSaleEnded, FlashSaleStarted
from liveloop.commerce.model import SaleState, effective_sale_state
from liveloop.commerce.stock import StockTarget, load_target
from liveloop.commerce.storage import FlashSaleRow, ProductRow, show_room_id, show_shop_id
from liveloop.core.counters import Counters
from liveloop.core.db import Database, utcnow
from liveloop.core.events import Event, EventBus, make_event
from liveloop.core.pagination import PageParams
from liveloop.shops import Permission, Principal, check_permission

MAX_DURATION = timedelta(days=7)


class SaleAction(StrEnum):
    START = "start"
    END = "end"


@dataclass(frozen=True, slots=True)
class SaleFilter:
    state: SaleState | None = None
    show_id: int | None = None
    product_id: int | None = None


def sale_state(row: FlashSaleRow, now: datetime) -> SaleState:
    return effective_sale_state(SaleState(row.state), starts_at=row.starts_at, ends_at=row.ends_at, now=now)


def to_sale_info(row: FlashSaleRow, now: datetime) -> FlashSaleInfo:
    return FlashSaleInfo(
        id=row.id,
        shop_id=row.shop_id,
        product_id=row.product_id,
        show_id=row.show_id,
        price_cents=row.price_cents,
        stock=row.stock,
        per_user_limit=row.per_user_limit,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        state=sale_state(row, now),
    )


def check_sale_running(sale: FlashSaleRow, now: datetime) -> None:
    state = sale_state(sale, now)
    if state is SaleState.ENDED:
        raise SaleEnded(f"flash sale {sale.id} has ended")
    if state is SaleState.SCHEDULED:
        raise SaleNotActive(f"flash sale {sale.id} starts at {sale.starts_at.isoformat()}")


async def check_show(session: AsyncSession, shop_id: int, show_id: int) -> None:
    if await show_shop_id(session, show_id) != shop_id:
        raise ShowNotFound(f"show {show_id} not found")


def check_window(
    *,
    now: datetime,
    starts_at: datetime | None,
    starts_in_seconds: int | None,
    ends_at: datetime | None,
    duration_seconds: int | None,
) -> tuple[datetime, datetime]:
    """The sale's (start, end): start at a time or after a countdown (default now), end at a time or
    after a duration; exactly one way to say each."""
    if starts_at is not None and starts_in_seconds is not None:
        raise InvalidSale("give starts_at or starts_in_seconds, not both")
    if (ends_at is None) == (duration_seconds is None):
        raise InvalidSale("give exactly one of ends_at and duration_seconds")
    start = starts_at or now + timedelta(seconds=starts_in_seconds or 0)
    end = ends_at or start + timedelta(seconds=duration_seconds or 0)
    if end <= start:
        raise InvalidSale("the sale must end after it starts")
    if end <= now:
        raise InvalidSale("the sale would already be over")
    if end - start > MAX_DURATION:
        raise InvalidSale(f"a flash sale lasts at most {MAX_DURATION.days} days")
    return start, end


async def _sale_event(
    session: AsyncSession, row: FlashSaleRow, *, ended: bool, actor: str | None = None
) -> Event:
    """The sale's started (or ended) event, addressed to its show's room."""
    payload: FlashSaleStarted | FlashSaleEnded
    if ended:
        payload = FlashSaleEnded(sale_id=row.id, product_id=row.product_id, sold=row.quantity_allocated)
    else:
        payload = FlashSaleStarted(
            sale_id=row.id,
            product_id=row.product_id,
            price_cents=row.price_cents,
            stock=row.stock,
            per_user_limit=row.per_user_limit,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
        )
    room_id = None if row.show_id is None else await show_room_id(session, row.show_id)
    return make_event(payload, shop_id=row.shop_id, room_id=room_id, show_id=row.show_id, actor=actor)


async def _sale_in_shop(session: AsyncSession, principal: Principal, sale_id: int) -> FlashSaleRow:
    row = await session.get(FlashSaleRow, sale_id, populate_existing=True)
    if row is None or row.shop_id != principal.shop_id:
        raise SaleNotFound(f"flash sale {sale_id} not found")
    return row


async def do_create_flash_sale(
    db: Database,
    counters: Counters,
    principal: Principal,
    *,
    product_id: int,
    show_id: int | None,
    price_cents: int,
    stock: int,
    per_user_limit: int,
    starts_at: datetime | None = None,
    starts_in_seconds: int | None = None,
    ends_at: datetime | None = None,
    duration_seconds: int | None = None,
    events: EventBus | None = None,
) -> FlashSaleRow:
    """Create the sale (see :func:`check_window`) and load its counters, so the first grab finds them
    warm; emits ``flash_sale.started``."""
    check_permission(principal, Permission.CATALOG_WRITE)
    start, end = check_window(
        now=utcnow(),
        starts_at=starts_at,
        starts_in_seconds=starts_in_seconds,
        ends_at=ends_at,
        duration_seconds=duration_seconds,
    )
    async with db.transaction() as session:
        product = await session.get(ProductRow, product_id)
        if product is None or product.shop_id != principal.shop_id or product.archived:
            raise ProductNotFound(f"product {product_id} not found")
        if show_id is not None:
            await check_show(session, principal.shop_id, show_id)
        row = FlashSaleRow(
            shop_id=principal.shop_id,
            product_id=product_id,
            show_id=show_id,
            price_cents=price_cents,
            stock=stock,
            per_user_limit=per_user_limit,
            starts_at=start,
            ends_at=end,
            state=SaleState.SCHEDULED.value,
            quantity_allocated=0,
        )
        session.add(row)
        await session.flush()
        started = await _sale_event(session, row, ended=False, actor=f"staff:{principal.staff_id}")
    await load_target(db, counters, StockTarget(product_id, flash_sale_id=row.id), replace=True)
    if events is not None:
        events.emit(started)
    return row


def _state_filter(state: SaleState, now: datetime) -> ColumnElement[bool]:
    ended = or_(FlashSaleRow.state == SaleState.ENDED.value, FlashSaleRow.ends_at <= now)
    if state is SaleState.ENDED:
        return ended
    started = or_(FlashSaleRow.state == SaleState.ACTIVE.value, FlashSaleRow.starts_at <= now)
    return and_(~ended, started if state is SaleState.ACTIVE else ~started)


async def get_flash_sales(
    db: Database, principal: Principal, page: PageParams, where: SaleFilter
) -> list[FlashSaleRow]:
    check_permission(principal, Permission.CATALOG_READ)
    stmt = select(FlashSaleRow).where(
        FlashSaleRow.shop_id == principal.shop_id, FlashSaleRow.id > page.after_id
    )
    if where.state is not None:
        stmt = stmt.where(_state_filter(where.state, utcnow()))
    if where.show_id is not None:
        stmt = stmt.where(FlashSaleRow.show_id == where.show_id)
    if where.product_id is not None:
        stmt = stmt.where(FlashSaleRow.product_id == where.product_id)
    async with db.read() as session:
        return list(await session.scalars(stmt.order_by(FlashSaleRow.id).limit(page.limit + 1)))


@dataclass(frozen=True, slots=True)
class RoomFlashSale:
    """A flash sale as a room shows it to a viewer who just came in."""

    sale: FlashSaleInfo
    name: str  # the product's title
    stock_left: int  # units not held by created or paid orders (the SQL truth)


async def get_room_flash_sales(db: Database, *, shop_id: int, show_id: int) -> list[RoomFlashSale]:
    """The sales of the shop's show ``show_id`` that have not ended, oldest first: running ones and
    ones announced with a countdown (``sale.state`` tells which). No principal: what the room shows."""
    now = utcnow()
    stmt = (
        select(FlashSaleRow, ProductRow.title)
        .join(ProductRow, ProductRow.id == FlashSaleRow.product_id)
        .where(
            FlashSaleRow.shop_id == shop_id,
            FlashSaleRow.show_id == show_id,
            ~_state_filter(SaleState.ENDED, now),
        )
        .order_by(FlashSaleRow.id)
    )
    async with db.read() as session:
        rows = (await session.execute(stmt)).all()
    return [
        RoomFlashSale(
            sale=to_sale_info(row, now), name=title, stock_left=max(0, row.stock - row.quantity_allocated)
        )
        for row, title in rows
    ]


async def get_flash_sale(db: Database, principal: Principal, sale_id: int) -> FlashSaleRow:
    check_permission(principal, Permission.CATALOG_READ)
    async with db.read() as session:
        return await _sale_in_shop(session, principal, sale_id)


async def do_transition_sale(
    db: Database, principal: Principal, sale_id: int, action: SaleAction, *, events: EventBus | None = None
) -> FlashSaleRow:
    """Start a scheduled sale now (skipping its countdown), or end a scheduled or running one now;
    emits ``flash_sale.started`` or ``flash_sale.ended``.

    Orders already placed keep their units; unpaid ones still expire as usual.
    """
    check_permission(principal, Permission.SHOWS_CONTROL)
    now = utcnow()
    mine = (FlashSaleRow.id == sale_id, FlashSaleRow.shop_id == principal.shop_id, FlashSaleRow.ends_at > now)
    if action is SaleAction.START:
        stmt = update(FlashSaleRow).where(
            *mine, FlashSaleRow.state == SaleState.SCHEDULED.value, FlashSaleRow.starts_at > now
        )
        stmt = stmt.values(state=SaleState.ACTIVE.value, starts_at=now, updated_at=now)
    else:
        stmt = update(FlashSaleRow).where(*mine, FlashSaleRow.state != SaleState.ENDED.value)
        stmt = stmt.values(state=SaleState.ENDED.value, ends_at=now, updated_at=now)
    async with db.transaction() as session:
        moved = await session.execute(stmt.execution_options(synchronize_session=False))
        row = await _sale_in_shop(session, principal, sale_id)
        if getattr(moved, "rowcount", 0) != 1:
            raise IllegalSaleTransition(
                f"cannot {action.value} a flash sale that is {sale_state(row, now).value}"
            )
        event = await _sale_event(
            session, row, ended=action is SaleAction.END, actor=f"staff:{principal.staff_id}"
        )
    if events is not None:
        events.emit(event)
    return row


async def do_end_due_sales(
    db: Database, *, now: datetime, events: EventBus | None = None
) -> list[FlashSaleRow]:
    """Mark the sales whose ``ends_at`` passed as ended (they already behave as ended) and emit
    ``flash_sale.ended`` for each; a compare-and-set, so every sale ends once whatever runs it."""
    async with db.transaction() as session:
        ended = list(
            await session.scalars(
                update(FlashSaleRow)
                .where(FlashSaleRow.state != SaleState.ENDED.value, FlashSaleRow.ends_at <= now)
                .values(state=SaleState.ENDED.value, updated_at=now)
                .returning(FlashSaleRow)
                .execution_options(synchronize_session=False, populate_existing=True)
            )
        )
        emitted = [await _sale_event(session, row, ended=True) for row in ended]
    if events is not None:
        events.emit_many(emitted)
    return ended
