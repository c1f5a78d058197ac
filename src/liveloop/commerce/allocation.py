"""The SQL truth's guard of a new order: the conditional UPDATE that holds its units (the statement
that takes the sale's or product's row lock, first in its transaction) and the per-buyer limit
summed under that lock. See :mod:`liveloop.commerce.orders`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningUpdate

from liveloop.commerce.errors import OverLimit, SoldOut
from liveloop.commerce.flash_sales import check_sale_running
from liveloop.commerce.model import HOLDING_STATES, SaleState
from liveloop.commerce.storage import FlashSaleRow, OrderRow, ProductRow

__all__ = ["allocate_product", "allocate_sale", "sale_allocation"]

_HOLDING = [state.value for state in HOLDING_STATES]


def sale_allocation(sale_id: int, *, shop_id: int, quantity: int, now: datetime) -> ReturningUpdate[int, int]:
    """The statement that holds ``quantity`` units of a running sale, if it has them: it takes the
    sale row's lock and returns its price and per-user limit (no row: not running, or sold out)."""
    return (
        update(FlashSaleRow)
        .where(
            FlashSaleRow.id == sale_id,
            FlashSaleRow.shop_id == shop_id,
            FlashSaleRow.state != SaleState.ENDED.value,
            FlashSaleRow.starts_at <= now,
            FlashSaleRow.ends_at > now,
            FlashSaleRow.quantity_allocated + quantity <= FlashSaleRow.stock,
        )
        .values(quantity_allocated=FlashSaleRow.quantity_allocated + quantity)
        .returning(FlashSaleRow.price_cents, FlashSaleRow.per_user_limit)
        .execution_options(synchronize_session=False)
    )


async def allocate_sale(
    session: AsyncSession, sale_id: int, *, shop_id: int, buyer: str, quantity: int, now: datetime
) -> int:
    """Hold ``quantity`` units of the sale for ``buyer`` in SQL, or raise; returns the unit price."""
    allocated = await session.execute(sale_allocation(sale_id, shop_id=shop_id, quantity=quantity, now=now))
    row = allocated.first()
    if row is None:
        sale = await session.get_one(FlashSaleRow, sale_id)
        check_sale_running(sale, now)
        raise SoldOut(f"flash sale {sale_id} is sold out")
    price, limit = row
    held = await session.scalar(
        select(func.coalesce(func.sum(OrderRow.quantity), 0)).where(
            OrderRow.flash_sale_id == sale_id, OrderRow.buyer_id == buyer, OrderRow.state.in_(_HOLDING)
        )
    )
    if int(held or 0) + quantity > limit:
        raise OverLimit(f"at most {limit} per buyer in this sale")
    return int(price)


async def allocate_product(session: AsyncSession, product_id: int, *, shop_id: int, quantity: int) -> int:
    """Hold ``quantity`` units of the product in SQL, or raise SoldOut; returns the unit price."""
    allocated = await session.execute(
        update(ProductRow)
        .where(
            ProductRow.id == product_id,
            ProductRow.shop_id == shop_id,
            ProductRow.archived.is_(False),
            ProductRow.quantity_allocated + quantity <= ProductRow.stock,
        )
        .values(quantity_allocated=ProductRow.quantity_allocated + quantity)
        .returning(ProductRow.price_cents)
        .execution_options(synchronize_session=False)
    )
    price = allocated.scalar()
    if price is None:
        raise SoldOut(f"product {product_id} is sold out")
    return int(price)
