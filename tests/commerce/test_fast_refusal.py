"""The fast refusal of a sold-out flash sale: no SQL for the crowd, the full path for everyone else.

Statements are counted on every engine of the process (``before_cursor_execute``), on SQLite and
PostgreSQL, over memory and Redis counters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event
from starlette.testclient import TestClient

from liveloop.commerce import (
    CommerceContext,
    OrderRequest,
    OverLimit,
    SaleNotFound,
    SoldOut,
    do_place_order,
)
from liveloop.commerce.lifecycle import do_cancel_order
from liveloop.core.container import Container
from liveloop.shops import Viewer
from tests.commerce.conftest import make_sale
from tests.commerce.test_concurrency import COUNTERS, buyer, commerce_on
from tests.conftest import ShopKeys, make_shop, run_in_app

_COMMERCE_TABLES = re.compile(
    r"\b(orders|flash_sales|products|coupons|coupon_drops|coupon_templates|payments)\b"
)


@contextmanager
def counted() -> Iterator[list[str]]:
    """Every SQL statement on the commerce tables any engine of the process runs meanwhile: the
    app's, and on SQLite those of the store's reader and writer threads (``Database.run_read``,
    ``Database.run_write``). Left out: the app's own background loops, which run whatever the test
    does (the live tools' housekeeping each second, on other tables; the order sweeper every 5 s,
    which looks for orders by ``reserved_until``)."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        where = statement.partition("WHERE")[2]
        if _COMMERCE_TABLES.search(statement) and "reserved_until" not in where:
            statements.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def order(sale_id: int, key: str, **fields: Any) -> OrderRequest:
    return OrderRequest(idempotency_key=key, flash_sale_id=sale_id, **fields)


async def sell_out(ctx: CommerceContext, shop_id: int, sale_id: int, units: int) -> list[int]:
    views = [await do_place_order(ctx, buyer(shop_id, n), order(sale_id, f"win-{n}")) for n in range(units)]
    return [view.order.id for view in views]


@pytest.mark.parametrize("counters", COUNTERS)
def test_the_crowd_after_the_last_unit_costs_no_sql(
    client: TestClient, shop: ShopKeys, counters: str
) -> None:
    sale = make_sale(client, shop, stock=2, per_user_limit=1)

    async def run(container: Container) -> None:
        async with commerce_on(container, counters) as ctx:
            await sell_out(ctx, shop.shop_id, sale["id"], 2)
            with counted() as statements:
                for n in range(100, 120):
                    with pytest.raises(SoldOut):
                        await do_place_order(ctx, buyer(shop.shop_id, n), order(sale["id"], f"late-{n}"))
            assert statements == []

    run_in_app(client, run)


@pytest.mark.parametrize("counters", COUNTERS)
def test_a_winner_retrying_its_key_still_gets_its_order(
    client: TestClient, shop: ShopKeys, counters: str
) -> None:
    sale = make_sale(client, shop, stock=2, per_user_limit=1)

    async def run(container: Container) -> None:
        async with commerce_on(container, counters) as ctx:
            ids = await sell_out(ctx, shop.shop_id, sale["id"], 2)
            with counted() as statements:
                view = await do_place_order(ctx, buyer(shop.shop_id, 0), order(sale["id"], "win-0"))
            assert (view.replayed, view.order.id) == (True, ids[0])
            assert statements  # the full path: the replay comes from SQL
            with pytest.raises(OverLimit):  # the same winner's new key: the full path's answer
                await do_place_order(ctx, buyer(shop.shop_id, 0), order(sale["id"], "again"))

    run_in_app(client, run)


def test_until_the_process_has_read_the_sale_the_full_path_answers(
    client: TestClient, shop: ShopKeys
) -> None:
    """The sale's facts come from SQL once per process: a new context (a restarted node) asks SQL."""
    sale = make_sale(client, shop, stock=1, per_user_limit=1)

    async def run(container: Container) -> None:
        async with commerce_on(container, "memory") as first:
            await sell_out(first, shop.shop_id, sale["id"], 1)
        async with commerce_on(container, "memory") as fresh:
            fresh.counters = first.counters  # shared counters, a process that never read the sale
            fresh.stock.counters = first.counters
            with counted() as statements, pytest.raises(SoldOut):
                await do_place_order(fresh, buyer(shop.shop_id, 7), order(sale["id"], "k7"))
            assert statements
            with counted() as statements, pytest.raises(SoldOut):
                await do_place_order(fresh, buyer(shop.shop_id, 8), order(sale["id"], "k8"))
            assert statements == []

    run_in_app(client, run)


def test_another_shops_buyer_learns_nothing_of_a_foreign_sale(client: TestClient, shop: ShopKeys) -> None:
    sale = make_sale(client, shop, stock=1, per_user_limit=1)
    other = make_shop(client, "Other Shop")

    async def run(container: Container) -> None:
        async with commerce_on(container, "memory") as ctx:
            await sell_out(ctx, shop.shop_id, sale["id"], 1)
            stranger = Viewer(shop_id=other.shop_id, viewer_id="u:x", nickname="x", user_id="x")
            with pytest.raises(SaleNotFound):
                await do_place_order(ctx, stranger, order(sale["id"], "k"))

    run_in_app(client, run)


def test_a_freed_unit_is_sold_again_and_the_refusal_lifts(client: TestClient, shop: ShopKeys) -> None:
    """A cancelled order gives its unit back: the next buyer gets it (the counters never refuse a
    unit the truth has), then the crowd is refused without SQL again."""
    sale = make_sale(client, shop, stock=1, per_user_limit=1)

    async def run(container: Container) -> None:
        async with commerce_on(container, "memory") as ctx:
            (first_id,) = await sell_out(ctx, shop.shop_id, sale["id"], 1)
            with pytest.raises(SoldOut):
                await do_place_order(ctx, buyer(shop.shop_id, 5), order(sale["id"], "k5"))
            await do_cancel_order(ctx, buyer(shop.shop_id, 0), first_id)
            view = await do_place_order(ctx, buyer(shop.shop_id, 5), order(sale["id"], "k5-again"))
            assert not view.replayed
            with counted() as statements, pytest.raises(SoldOut):
                await do_place_order(ctx, buyer(shop.shop_id, 6), order(sale["id"], "k6"))
            assert statements == []

    run_in_app(client, run)
