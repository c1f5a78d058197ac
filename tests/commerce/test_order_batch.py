"""Winning grabs of one sale written set-based, and the one-by-one fallback when one would be refused.

Grabs go through the product's own grab (``commerce.orders._grab``: reserve, then the group commit)
with the counters made to run ahead of the SQL truth where a test needs the truth to refuse.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from starlette.testclient import TestClient

from liveloop.commerce import CommerceContext, OrderRequest, OverLimit, SoldOut, do_place_order
from liveloop.commerce.orders import _grab, _Offer
from liveloop.commerce.stock import StockTarget
from liveloop.commerce.storage import FlashSaleRow, OrderRow
from liveloop.core.container import Container
from liveloop.core.db import Database
from tests.commerce.conftest import make_sale
from tests.commerce.test_concurrency import buyer, commerce_on
from tests.conftest import ShopKeys, run_in_app


def inserts_of(db: Database) -> list[str]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO ORDERS"):
            seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    return seen


async def truth(db: Database, sale_id: int) -> tuple[int, Counter[str]]:
    async with db.read() as session:
        sale = await session.get_one(FlashSaleRow, sale_id, populate_existing=True)
        rows = await session.execute(
            select(OrderRow.buyer_id, func.sum(OrderRow.quantity))
            .where(OrderRow.flash_sale_id == sale_id)
            .group_by(OrderRow.buyer_id)
        )
        return sale.quantity_allocated, Counter({str(b): int(q) for b, q in rows})


async def grab(ctx: CommerceContext, sale: dict[str, Any], shop_id: int, who: str, key: str) -> Any:
    target = StockTarget(sale["product_id"], flash_sale_id=sale["id"], limit=sale["per_user_limit"])
    request = OrderRequest(idempotency_key=key, flash_sale_id=sale["id"])
    try:
        return await _grab(
            ctx, _Offer(target=target, show_id=None), shop_id=shop_id, buyer=who, request=request
        )
    except (SoldOut, OverLimit, IntegrityError) as exc:
        return exc


def test_concurrent_winners_are_written_together_each_getting_its_own_order(
    client: TestClient, shop: ShopKeys
) -> None:
    sale = make_sale(client, shop, stock=200, per_user_limit=1)

    async def run(container: Container) -> None:
        async with commerce_on(container, "memory") as ctx:
            inserts = inserts_of(container.db)
            views = await asyncio.gather(
                *(
                    do_place_order(
                        ctx, buyer(shop.shop_id, n), OrderRequest(f"key-{n}", flash_sale_id=sale["id"])
                    )
                    for n in range(150)
                )
            )
            assert [(v.order.buyer_id, v.order.idempotency_key) for v in views] == [
                (f"u:b{n}", f"key-{n}") for n in range(150)
            ]
            assert len({v.order.id for v in views}) == 150
            assert all(v.order.amount_cents == sale["price_cents"] for v in views)
            assert len(inserts) < 20  # a few batches, not one INSERT per order
            allocated, per_buyer = await truth(container.db, sale["id"])
            assert allocated == sum(per_buyer.values()) == 150

    run_in_app(client, run)


def test_counters_ahead_of_the_truth_fall_back_to_one_by_one(client: TestClient, shop: ShopKeys) -> None:
    """The counters promise 12 units of a 5-unit sale: the set-based UPDATE cannot take them all,
    so each winner is tried alone: exactly 5 orders, 7 refusals, and the counters are reloaded."""
    sale = make_sale(client, shop, stock=5, per_user_limit=1)
    target = StockTarget(sale["product_id"], flash_sale_id=sale["id"], limit=1)

    async def run(container: Container) -> None:
        async with commerce_on(container, "memory") as ctx:
            await ctx.counters.load_stock(target.stock_key, target.taken_key, stock=12, taken={})
            results = await asyncio.gather(
                *(grab(ctx, sale, shop.shop_id, f"u:{n}", f"k{n}") for n in range(12))
            )
            kinds = Counter(type(r).__name__ for r in results)
            assert kinds == {"OrderRow": 5, "SoldOut": 7}
            allocated, per_buyer = await truth(container.db, sale["id"])
            assert allocated == sum(per_buyer.values()) == 5
            # The refusals dropped the counters; the next grab reloads them from the truth.
            assert isinstance(await grab(ctx, sale, shop.shop_id, "u:late", "k-late"), SoldOut)
            assert await ctx.counters.get(target.stock_key) == 0

    run_in_app(client, run)


def test_a_buyer_over_the_limit_in_sql_is_refused_alone(client: TestClient, shop: ShopKeys) -> None:
    sale = make_sale(client, shop, stock=20, per_user_limit=1)
    target = StockTarget(sale["product_id"], flash_sale_id=sale["id"], limit=1)

    async def run(container: Container) -> None:
        async with commerce_on(container, "memory") as ctx:
            first = await grab(ctx, sale, shop.shop_id, "u:greedy", "k-first")
            assert isinstance(first, OrderRow)
            # The counters forget the greedy buyer's unit (a cache that lags): it passes them again.
            await ctx.counters.load_stock(target.stock_key, target.taken_key, stock=19, taken={})
            results = await asyncio.gather(
                grab(ctx, sale, shop.shop_id, "u:greedy", "k-second"),
                *(grab(ctx, sale, shop.shop_id, f"u:{n}", f"k{n}") for n in range(6)),
            )
            assert isinstance(results[0], OverLimit)
            assert all(isinstance(r, OrderRow) for r in results[1:])
            allocated, per_buyer = await truth(container.db, sale["id"])
            assert allocated == 7
            assert per_buyer["u:greedy"] == 1

    run_in_app(client, run)


def test_a_twin_idempotency_key_is_refused_alone(client: TestClient, shop: ShopKeys) -> None:
    """Two grabs with one buyer's key past the key's claim: the unique index refuses one of them."""
    sale = make_sale(client, shop, stock=20, per_user_limit=2)

    async def run(container: Container) -> None:
        async with commerce_on(container, "memory") as ctx:
            results = await asyncio.gather(
                grab(ctx, sale, shop.shop_id, "u:twin", "same-key"),
                grab(ctx, sale, shop.shop_id, "u:twin", "same-key"),
                *(grab(ctx, sale, shop.shop_id, f"u:{n}", f"k{n}") for n in range(4)),
            )
            kinds = Counter(type(r).__name__ for r in results)
            assert kinds == {"OrderRow": 5, "IntegrityError": 1}
            allocated, per_buyer = await truth(container.db, sale["id"])
            assert allocated == 5
            assert per_buyer["u:twin"] == 1
            target = StockTarget(sale["product_id"], flash_sale_id=sale["id"], limit=2)
            assert await ctx.counters.get(target.stock_key) == 15  # the refused twin's unit came back

    run_in_app(client, run)


def test_set_based_orders_are_what_a_load_of_their_rows_gives(client: TestClient, shop: ShopKeys) -> None:
    """The winners' orders the set-based writer hands back must each equal the row the store now
    holds (every column, timestamps as stored and read back), be a detached ``OrderRow`` with its
    identity, and be found by the sweeper at its own ``reserved_until``."""
    sale = make_sale(client, shop, stock=50, per_user_limit=1)

    async def run(container: Container) -> None:
        async with commerce_on(container, "memory") as ctx:
            inserts = inserts_of(container.db)
            orders = await asyncio.gather(
                *(grab(ctx, sale, shop.shop_id, f"u:{n}", f"k{n}") for n in range(30))
            )
            assert len(inserts) < 30  # written set-based, not one by one
            assert all(isinstance(order, OrderRow) for order in orders)
            async with container.db.read() as session:
                stored = {
                    row.id: row
                    for row in await session.scalars(
                        select(OrderRow).where(OrderRow.flash_sale_id == sale["id"])
                    )
                }
            columns = [attr.key for attr in sa_inspect(OrderRow).column_attrs]
            assert sorted(stored) == sorted(order.id for order in orders)
            for order in orders:
                state = sa_inspect(order)
                assert state.detached
                assert state.identity == (order.id,)
                row = stored[order.id]
                assert {c: getattr(order, c) for c in columns} == {c: getattr(row, c) for c in columns}
                assert (order.state, order.buyer_id) == ("created", f"u:{order.idempotency_key[1:]}")
                assert order.reserved_until.tzinfo is not None
            first = orders[0]
            async with container.db.read() as session:
                due = await session.scalars(
                    select(OrderRow.id).where(
                        OrderRow.id == first.id, OrderRow.reserved_until <= first.reserved_until
                    )
                )
                assert list(due) == [first.id]  # stored as every other timestamp is (comparable)

    run_in_app(client, run)
