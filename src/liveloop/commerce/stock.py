"""Live stock in Counters: the crowd's fast gate, a cache of the SQL truth.

Each flash sale has a stock counter and a per-buyer map (``Counters.reserve``); each product a stock
counter. Their values are always recomputed from the orders, never trusted across a restart:

    stock left = stock - sum(quantity of the orders in created or paid state)
    a buyer's units = sum(quantity of their orders in created or paid state)

They are loaded on startup (:func:`do_rebuild_counters`), and lazily by the first grab that finds
them absent (after a Redis flush, an expiry, or a process restart before the rebuild ran). A cache
that runs ahead of the truth only costs a refused SQL write (the truth guards itself), and one that
lags is reloaded (:meth:`StockCache.invalidate`), so neither can sell a unit twice.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from liveloop.commerce.contracts import OrderInfo
from liveloop.commerce.model import HOLDING_STATES, SaleState
from liveloop.commerce.storage import FlashSaleRow, OrderRow, ProductRow
from liveloop.core.counters import Counters, ReserveResult, ReserveStatus
from liveloop.core.db import Database, utcnow

log = structlog.get_logger(__name__)

#: Product counters are reloaded from SQL this often (so a staff edit of stock shows up).
PRODUCT_TTL_SECONDS = 600.0
#: Sale counters outlive the sale's end by this much (late releases still find them).
SALE_GRACE = timedelta(hours=1)
#: Flash sales whose facts a process remembers for the fast refusal (then it starts over).
MAX_KNOWN_SALES = 10_000
_HOLDING = [state.value for state in HOLDING_STATES]
_UNLOADED = ReserveStatus.UNLOADED


@dataclass(frozen=True, slots=True)
class StockTarget:
    """Where an order's units come from: a flash sale (per-buyer limit) or a product's own stock.

    Its Counters keys are computed once, here, not by every grab that asks for them."""

    product_id: int
    flash_sale_id: int | None = None
    limit: int | None = None
    stock_key: str = field(init=False, repr=False, compare=False)
    taken_key: str | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.flash_sale_id is not None:
            stock_key = f"commerce:sale:{{fs{self.flash_sale_id}}}:stock"
            taken_key: str | None = f"commerce:sale:{{fs{self.flash_sale_id}}}:taken"
        else:
            stock_key, taken_key = f"commerce:product:{{p{self.product_id}}}:stock", None
        object.__setattr__(self, "stock_key", stock_key)  # frozen: set once, as dataclasses do
        object.__setattr__(self, "taken_key", taken_key)


def target_of(order: OrderInfo, *, limit: int | None = None) -> StockTarget:
    return StockTarget(product_id=order.product_id, flash_sale_id=order.flash_sale_id, limit=limit)


def _sale_ttl(ends_at: datetime, now: datetime) -> float:
    return max(60.0, (ends_at + SALE_GRACE - now).total_seconds())


async def _sale_truth(session: AsyncSession, sale: FlashSaleRow) -> tuple[int, dict[str, int]]:
    rows = await session.execute(
        select(OrderRow.buyer_id, func.sum(OrderRow.quantity))
        .where(OrderRow.flash_sale_id == sale.id, OrderRow.state.in_(_HOLDING))
        .group_by(OrderRow.buyer_id)
    )
    taken = {buyer: int(units) for buyer, units in rows}
    if sum(taken.values()) != sale.quantity_allocated:
        log.warning(
            "flash sale allocation differs from its orders",
            flash_sale_id=sale.id,
            allocated=sale.quantity_allocated,
            orders=sum(taken.values()),
        )
    return sale.stock - sum(taken.values()), taken


async def _product_truth(session: AsyncSession, product: ProductRow) -> int:
    held = await session.scalar(
        select(func.coalesce(func.sum(OrderRow.quantity), 0)).where(
            OrderRow.product_id == product.id,
            OrderRow.flash_sale_id.is_(None),
            OrderRow.state.in_(_HOLDING),
        )
    )
    return product.stock - int(held or 0)


async def load_target(db: Database, counters: Counters, target: StockTarget, *, replace: bool) -> bool:
    """Write ``target``'s counters from SQL; without ``replace`` only if they are absent."""
    now = utcnow()
    async with db.read() as session:
        if target.flash_sale_id is not None:
            sale = await session.get(FlashSaleRow, target.flash_sale_id)
            if sale is None:
                return False
            stock, taken = await _sale_truth(session, sale)
            ttl = _sale_ttl(sale.ends_at, now)
        else:
            product = await session.get(ProductRow, target.product_id)
            if product is None:
                return False
            stock, taken, ttl = await _product_truth(session, product), {}, PRODUCT_TTL_SECONDS
    return await counters.load_stock(
        target.stock_key, target.taken_key, stock=max(stock, 0), taken=taken, replace=replace, ttl_seconds=ttl
    )


@dataclass(eq=False)
class StockCache:
    """Reserve and release units in Counters, loading absent counters once per process at a time.

    It also remembers, per flash sale, what never changes once the sale exists (its shop, product and
    per-user limit), so :meth:`sold_out_for` can refuse the crowd of a sold-out sale with one
    Counters read and no SQL.
    """

    db: Database
    counters: Counters
    _loading: dict[str, asyncio.Future[bool]] = field(default_factory=dict, repr=False)
    _sales: dict[int, tuple[int, StockTarget]] = field(default_factory=dict, repr=False)

    def remember_sale(self, shop_id: int, target: StockTarget) -> None:
        """Note a flash sale's immutable facts (read from SQL by a grab) for :meth:`sold_out_for`."""
        if target.flash_sale_id is None:
            return
        if len(self._sales) >= MAX_KNOWN_SALES and target.flash_sale_id not in self._sales:
            self._sales.clear()  # bounded; the next grab of each live sale notes it again
        self._sales[target.flash_sale_id] = (shop_id, target)

    async def sold_out_for(self, sale_id: int, *, shop_id: int, buyer: str, quantity: int) -> bool:
        """True iff the sale is known here, is the shop's, and its counters say sold out to a buyer
        who holds none of its units: then no grab could win and no order of this buyer in this sale
        is held, so "sold out" is the answer without SQL. False means "ask the full path"."""
        known = self._sales.get(sale_id)
        if known is None or known[0] != shop_id or quantity > (known[1].limit or quantity):
            return False
        target = known[1]
        peeked = await self.counters.peek_reserve(
            target.stock_key, target.taken_key, buyer, quantity=quantity, limit=target.limit
        )
        return peeked.status is ReserveStatus.SOLD_OUT and peeked.taken == 0

    async def reserve(self, target: StockTarget, buyer: str, quantity: int) -> ReserveResult:
        result = await self.counters.reserve(
            target.stock_key, target.taken_key, buyer, quantity=quantity, limit=target.limit
        )
        if result.status is not _UNLOADED:  # the crowd's path: one Counters call, nothing else
            return result
        for _ in range(2):
            await self._load_once(target)
            result = await self.counters.reserve(
                target.stock_key, target.taken_key, buyer, quantity=quantity, limit=target.limit
            )
            if result.status is not _UNLOADED:
                return result
        return result  # still unloaded: the sale or product is gone

    async def release(self, target: StockTarget, buyer: str, quantity: int) -> None:
        await self.counters.release(target.stock_key, target.taken_key, buyer, quantity=quantity)

    async def invalidate(self, target: StockTarget) -> None:
        """Drop the counters so the next grab reloads them (the cache disagreed with the truth)."""
        keys = [target.stock_key] + ([target.taken_key] if target.taken_key else [])
        await self.counters.delete(*keys)

    async def _load_once(self, target: StockTarget) -> None:
        key = target.stock_key
        pending = self._loading.get(key)
        if pending is not None:  # a crowd after a restart makes one SQL read, not one each
            await asyncio.shield(pending)
            return
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            future.set_result(await load_target(self.db, self.counters, target, replace=False))
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs "never retrieved"
            raise
        finally:
            del self._loading[key]


async def release_order_units(counters: Counters, order: OrderInfo) -> None:
    """Give an order's units back to the counters (after its expiry, cancel or refund committed)."""
    target = target_of(order)
    await counters.release(target.stock_key, target.taken_key, order.buyer_id, quantity=order.quantity)


@dataclass(frozen=True, slots=True)
class RebuildReport:
    flash_sales: int
    products: int


async def do_rebuild_counters(db: Database, counters: Counters) -> RebuildReport:
    """Overwrite the counters of every running or upcoming flash sale and every product from SQL.

    Call on startup (the app lifespan) before serving: a crash may have left counters that ran ahead
    of the truth (a grab reserved, then the process died before its order committed).
    """
    now = utcnow()
    async with db.read() as session:
        sale_ids = list(
            await session.scalars(
                select(FlashSaleRow.id).where(
                    FlashSaleRow.state != SaleState.ENDED.value, FlashSaleRow.ends_at > now
                )
            )
        )
        product_ids = list(await session.scalars(select(ProductRow.id).where(ProductRow.archived.is_(False))))
    for sale_id in sale_ids:
        await load_target(db, counters, StockTarget(product_id=0, flash_sale_id=sale_id), replace=True)
    for product_id in product_ids:
        await load_target(db, counters, StockTarget(product_id=product_id), replace=True)
    log.info("stock counters rebuilt", flash_sales=len(sale_ids), products=len(product_ids))
    return RebuildReport(flash_sales=len(sale_ids), products=len(product_ids))
