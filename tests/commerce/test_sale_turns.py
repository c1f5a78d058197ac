"""A flash sale's whole crowd at once: the full path a bounded number at a time, the rest refused
without SQL once the units are gone (10,000 room sockets tap "buy" in the same second)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from starlette.testclient import TestClient

from liveloop.commerce import OverLimit, SoldOut, do_place_order
from liveloop.core.container import Container
from tests.commerce.conftest import make_sale
from tests.commerce.test_concurrency import COUNTERS, buyer, commerce_on
from tests.commerce.test_fast_refusal import counted, order
from tests.conftest import ShopKeys, run_in_app

CROWD, UNITS, TURNS = 600, 10, 8


@pytest.mark.parametrize("counters", COUNTERS)
def test_a_crowd_at_once_reads_sql_for_few_and_sells_exactly_the_units(
    client: TestClient, shop: ShopKeys, counters: str
) -> None:
    sale = make_sale(client, shop, stock=UNITS, per_user_limit=1)

    async def run(container: Container) -> None:
        async with commerce_on(container, counters) as ctx:
            ctx.policy = replace(ctx.policy, max_sale_orders_in_flight=TURNS)
            ctx.sale_turns = asyncio.Semaphore(TURNS)
            in_flight = peak = 0
            place = ctx.orders.run

            async def watched(*args: object, **kwargs: object) -> object:
                nonlocal in_flight, peak
                in_flight += 1
                peak = max(peak, in_flight)
                try:
                    return await place(*args, **kwargs)  # type: ignore[arg-type]
                finally:
                    in_flight -= 1

            ctx.orders.run = watched  # type: ignore[method-assign,assignment]

            async def one(n: int) -> str:
                try:
                    await do_place_order(ctx, buyer(shop.shop_id, n), order(sale["id"], f"k{n}"))
                except SoldOut:
                    return "sold_out"
                except OverLimit:
                    return "over_limit"
                return "created"

            with counted() as statements:
                outcomes = await asyncio.gather(*(one(n) for n in range(CROWD)))
            assert outcomes.count("created") == UNITS
            assert outcomes.count("sold_out") == CROWD - UNITS
            assert peak <= TURNS  # never more than its turns on the full path at once
            by_key = [s for s in statements if "idempotency_key" in s.partition("WHERE")[2]]
            # Each order on the full path looks its key up once: the winners, the turns that were
            # running when the last unit went, and those that had just passed the check. Without
            # the turns every one of the crowd did (600).
            assert len(by_key) <= UNITS + 3 * TURNS, len(by_key)

    run_in_app(client, run)
