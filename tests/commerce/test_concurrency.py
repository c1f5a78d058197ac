"""Grabs that really run at once: no oversell, nobody over the limit, one order per idempotency key.

Through the service on the app's loop (over memory and Redis counters) and through HTTP (an async
client on the in-process app), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from liveloop.adapters.redis import RedisCounters, make_redis
from liveloop.commerce import CommerceContext, OrderRequest, do_place_order
from liveloop.commerce.stock import StockTarget
from liveloop.commerce.storage import FlashSaleRow, OrderRow
from liveloop.core.container import Container
from liveloop.core.counters import Counters
from liveloop.core.errors import LiveloopError
from liveloop.shops import Viewer
from liveloop.shops.credentials import sign_viewer_token
from liveloop.shops.storage import ShopRow
from tests.backends import REDIS_ENV, backend_url
from tests.commerce.conftest import commerce_over, make_sale
from tests.conftest import ShopKeys, run_in_app

COUNTERS = ["memory", pytest.param("redis", marks=pytest.mark.redis)]


def buyer(shop_id: int, n: int) -> Viewer:
    return Viewer(shop_id=shop_id, viewer_id=f"u:b{n}", nickname=f"b{n}", user_id=f"b{n}")


@asynccontextmanager
async def commerce_on(container: Container, kind: str) -> AsyncIterator[CommerceContext]:
    """A commerce context on the app's database and bus, over memory or Redis counters."""
    counters: Counters = container.counters
    redis = None
    if kind == "redis":
        redis = make_redis(backend_url(REDIS_ENV))
        counters = RedisCounters(redis, namespace=f"test:{uuid.uuid4().hex}")
    ctx = commerce_over(container, counters)
    try:
        yield ctx
    finally:
        if redis is not None:
            keys = [key async for key in redis.scan_iter(match=f"{counters._prefix}*")]  # type: ignore[attr-defined]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()


async def sale_truth(container: Container, sale_id: int) -> tuple[int, Counter[str]]:
    async with container.db.read() as session:
        sale = await session.get_one(FlashSaleRow, sale_id)
        rows = await session.execute(
            select(OrderRow.buyer_id, func.sum(OrderRow.quantity))
            .where(OrderRow.flash_sale_id == sale_id)
            .group_by(OrderRow.buyer_id)
        )
        return sale.quantity_allocated, Counter({b: int(q) for b, q in rows})


@pytest.mark.parametrize("counters", COUNTERS)
def test_500_buyers_through_the_service(client: TestClient, shop: ShopKeys, counters: str) -> None:
    """500 buyers (100 of them twice) grab a 50-unit sale with a limit of 1, all at once."""
    sale = make_sale(client, shop, stock=50, per_user_limit=1)
    grabs = [(n, uuid.uuid4().hex) for n in range(500)] + [(n, uuid.uuid4().hex) for n in range(0, 500, 5)]

    async def run(container: Container) -> Counter[str]:
        async with commerce_on(container, counters) as ctx:

            async def grab(n: int, key: str) -> str:
                request = OrderRequest(idempotency_key=key, flash_sale_id=sale["id"])
                try:
                    await do_place_order(ctx, buyer(shop.shop_id, n), request)
                except LiveloopError as exc:
                    return exc.code
                return "ok"

            results = await asyncio.gather(*(grab(n, key) for n, key in grabs))
            target = StockTarget(sale["product_id"], flash_sale_id=sale["id"])
            assert await ctx.counters.get(target.stock_key) == 0
            return Counter(results)

    outcomes = run_in_app(client, run)
    allocated, per_buyer = run_in_app(client, lambda c: sale_truth(c, sale["id"]))
    assert outcomes["ok"] == 50
    assert set(outcomes) <= {"ok", "commerce.sold_out", "commerce.over_limit"}
    assert allocated == sum(per_buyer.values()) == 50
    assert max(per_buyer.values()) == 1


def test_500_buyers_over_http(client: TestClient, shop: ShopKeys) -> None:
    """The same crowd through the real ASGI app and the HTTP stack, concurrently on its loop."""
    sale = make_sale(client, shop, stock=50, per_user_limit=1)
    key = run_in_app(client, lambda c: viewer_key(c, shop.shop_id))
    tokens = [
        sign_viewer_token(
            shop_id=shop.shop_id, key=key, user_id=f"h{n}", nickname="h", ttl=timedelta(hours=1)
        )[0]
        for n in range(500)
    ]

    async def run(_container: Container) -> list[tuple[int, dict[str, Any]]]:
        transport = httpx2.ASGITransport(app=client.app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://shop.test") as http:

            async def grab(token: str) -> tuple[int, dict[str, Any]]:
                response = await http.post(
                    "/api/v1/buyer/orders",
                    json={"flash_sale_id": sale["id"]},
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
                )
                return response.status_code, response.json()

            return await asyncio.gather(*(grab(t) for t in tokens))

    responses = run_in_app(client, run)
    statuses = Counter(status for status, _ in responses)
    assert statuses == {201: 50, 409: 450}
    assert {body["error"]["code"] for status, body in responses if status == 409} == {"commerce.sold_out"}
    allocated, per_buyer = run_in_app(client, lambda c: sale_truth(c, sale["id"]))
    assert allocated == 50
    assert len(per_buyer) == 50
    assert max(per_buyer.values()) == 1
    listed = client.get(f"/api/v1/flash-sales/{sale['id']}", headers=shop.headers()).json()
    assert (listed["quantity_allocated"], listed["remaining"]) == (50, 0)


async def viewer_key(container: Container, shop_id: int) -> str:
    async with container.db.read() as session:
        return (await session.get_one(ShopRow, shop_id)).viewer_key


@pytest.mark.parametrize("counters", COUNTERS)
def test_one_key_sent_20_times_at_once_is_one_order(
    client: TestClient, shop: ShopKeys, counters: str
) -> None:
    sale = make_sale(client, shop, stock=50, per_user_limit=3)

    async def run(container: Container) -> list[int]:
        async with commerce_on(container, counters) as ctx:
            request = OrderRequest(idempotency_key="tap-tap-tap", flash_sale_id=sale["id"])
            views = await asyncio.gather(
                *(do_place_order(ctx, buyer(shop.shop_id, 1), request) for _ in range(20))
            )
            assert sum(not v.replayed for v in views) == 1
            return [v.order.id for v in views]

    ids = run_in_app(client, run)
    assert len(set(ids)) == 1
    allocated, per_buyer = run_in_app(client, lambda c: sale_truth(c, sale["id"]))
    assert (allocated, dict(per_buyer)) == (1, {"u:b1": 1})


def test_one_key_sent_20_times_over_http(client: TestClient, shop: ShopKeys) -> None:
    sale = make_sale(client, shop, stock=5, per_user_limit=1)
    key = run_in_app(client, lambda c: viewer_key(c, shop.shop_id))
    token, _ = sign_viewer_token(
        shop_id=shop.shop_id, key=key, user_id="tapper", nickname="t", ttl=timedelta(hours=1)
    )

    async def run(_container: Container) -> list[tuple[int, int]]:
        transport = httpx2.ASGITransport(app=client.app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://shop.test") as http:

            async def grab() -> tuple[int, int]:
                response = await http.post(
                    "/api/v1/buyer/orders",
                    json={"flash_sale_id": sale["id"], "idempotency_key": "same"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                return response.status_code, response.json()["id"]

            return await asyncio.gather(*(grab() for _ in range(20)))

    responses = run_in_app(client, run)
    assert Counter(status for status, _ in responses) == {201: 1, 200: 19}
    assert len({order_id for _, order_id in responses}) == 1
    assert run_in_app(client, lambda c: sale_truth(c, sale["id"]))[0] == 1
