"""The SQL store is the truth: expiry releases units, counters rebuild from orders, a wrong cache
never oversells."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from liveloop.commerce import (
    CommerceContext,
    OrderRequest,
    OrderSweeper,
    SimulatedPayments,
    do_expire_orders,
    do_place_order,
    do_rebuild_counters,
)
from liveloop.commerce.stock import StockTarget
from liveloop.core.container import Container
from liveloop.core.counters import ReserveStatus
from liveloop.core.errors import LiveloopError
from liveloop.shops import Viewer
from tests.commerce.conftest import (
    TEST_POLICY,
    EventLog,
    bearer,
    buy,
    commerce_of,
    error_code,
    make_product,
    make_sale,
    viewer_token,
)
from tests.conftest import ShopKeys, created, run_in_app


def sale_target(sale: dict[str, Any]) -> StockTarget:
    return StockTarget(sale["product_id"], flash_sale_id=sale["id"], limit=sale["per_user_limit"])


def sale_now(client: TestClient, shop: ShopKeys, sale: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/v1/flash-sales/{sale['id']}", headers=shop.headers()).json()
    return body


def test_expiry_releases_the_units(client: TestClient, shop: ShopKeys, event_log: EventLog) -> None:
    sale = make_sale(client, shop, stock=1)
    alice, bob = viewer_token(client, shop, "alice"), viewer_token(client, shop, "bob")
    order = created(buy(client, alice, flash_sale_id=sale["id"]))
    reserved_until = datetime.fromisoformat(order["reserved_until"])
    created_at = datetime.fromisoformat(order["created_at"])
    assert reserved_until - created_at == timedelta(minutes=15)
    assert error_code(buy(client, bob, flash_sale_id=sale["id"])) == "commerce.sold_out"

    def sweep(at: datetime) -> list[Any]:
        return run_in_app(client, lambda c: do_expire_orders(c.db, c.counters, now=at, events=c.events))

    assert sweep(reserved_until - timedelta(seconds=1)) == []
    assert [row.id for row in sweep(reserved_until)] == [order["id"]]
    assert sweep(reserved_until + timedelta(hours=1)) == []  # never twice
    detail = client.get(f"/api/v1/buyer/orders/{order['id']}", headers=bearer(alice)).json()
    assert (detail["state"], detail["expired_at"] is not None) == ("expired", True)
    assert sale_now(client, shop, sale)["quantity_allocated"] == 0
    # Paying or cancelling an expired order is refused; its unit went to someone else.
    cancel = client.post(f"/api/v1/buyer/orders/{order['id']}/cancel", headers=bearer(alice))
    assert error_code(cancel) == "commerce.illegal_order_transition"
    assert created(buy(client, bob, flash_sale_id=sale["id"]))["buyer_id"] == "u:bob"
    expired = event_log.wait(lambda evs: any(e.type == "order.expired" for e in evs))
    event = next(e for e in expired if e.type == "order.expired")
    assert event.data["flash_sale_id"] == sale["id"]
    assert event.data["quantity"] == 1


def test_the_sweeper_expires_unpaid_orders_on_its_own(
    client: TestClient, shop: ShopKeys, event_log: EventLog
) -> None:
    product = make_product(client, shop, stock=2)
    ctx = replace(commerce_of(client), policy=replace(TEST_POLICY, reservation_seconds=0.1))
    viewer = Viewer(shop_id=shop.shop_id, viewer_id="u:slow", nickname="slow", user_id="slow")

    async def run(_c: Container) -> None:
        await do_place_order(
            ctx, viewer, OrderRequest(idempotency_key="k", product_id=product["id"], quantity=2)
        )
        sweeper = OrderSweeper(ctx, interval=0.05)
        sweeper.start()
        try:
            for _ in range(100):
                if await ctx.counters.get(StockTarget(product["id"]).stock_key) == 2:
                    break
                await asyncio.sleep(0.02)
        finally:
            await sweeper.stop()

    run_in_app(client, run)
    event_log.wait(lambda evs: any(e.type == "order.expired" for e in evs))
    listed = client.get("/api/v1/orders?state=expired", headers=shop.headers()).json()["items"]
    assert [o["buyer_id"] for o in listed] == ["u:slow"]


def test_counters_rebuild_from_the_orders(client: TestClient, shop: ShopKeys) -> None:
    sale = make_sale(client, shop, stock=5, per_user_limit=2)
    product = make_product(client, shop, stock=4)
    alice, bob = viewer_token(client, shop, "alice"), viewer_token(client, shop, "bob")
    created(buy(client, alice, flash_sale_id=sale["id"], quantity=2))
    created(buy(client, bob, flash_sale_id=sale["id"]))
    gone = created(buy(client, bob, product_id=product["id"], quantity=3))
    client.post(f"/api/v1/buyer/orders/{gone['id']}/cancel", headers=bearer(bob))
    created(buy(client, bob, product_id=product["id"]))
    target, product_target = sale_target(sale), StockTarget(product["id"])

    async def crash_and_rebuild(c: Container) -> tuple[list[int], list[int]]:
        await c.counters.delete(target.stock_key, str(target.taken_key), product_target.stock_key)
        await c.counters.load_stock(target.stock_key, target.taken_key, stock=0, taken={"u:alice": 7})
        report = await do_rebuild_counters(c.db, c.counters)
        assert report.flash_sales >= 1
        assert report.products >= 1
        stocks = await c.counters.get_many([target.stock_key, product_target.stock_key])
        probe = await c.counters.reserve(target.stock_key, target.taken_key, "u:alice", quantity=1, limit=2)
        assert probe.status is ReserveStatus.OVER_LIMIT
        return stocks, [probe.taken]

    stocks, taken = run_in_app(client, crash_and_rebuild)
    assert stocks == [2, 3]  # 5 - (2 + 1); 4 - 1 (the cancelled 3 came back)
    assert taken == [2]
    assert error_code(buy(client, alice, flash_sale_id=sale["id"])) == "commerce.over_limit"
    assert created(buy(client, bob, flash_sale_id=sale["id"]))["quantity"] == 1


def test_lost_counters_load_lazily_on_the_next_grab(client: TestClient, shop: ShopKeys) -> None:
    sale = make_sale(client, shop, stock=3, per_user_limit=1)
    alice = viewer_token(client, shop, "alice")
    created(buy(client, alice, flash_sale_id=sale["id"]))
    target = sale_target(sale)
    run_in_app(client, lambda c: c.counters.delete(target.stock_key, str(target.taken_key)))
    assert error_code(buy(client, alice, flash_sale_id=sale["id"])) == "commerce.over_limit"
    created(buy(client, viewer_token(client, shop, "bob"), flash_sale_id=sale["id"]))
    assert run_in_app(client, lambda c: c.counters.get(target.stock_key)) == 1


def test_a_cache_ahead_of_the_truth_never_oversells(client: TestClient, shop: ShopKeys) -> None:
    """Counters that claim more stock (a rebuild racing another node) only cost refused SQL writes."""
    sale = make_sale(client, shop, stock=3, per_user_limit=1)
    target = sale_target(sale)
    run_in_app(
        client, lambda c: c.counters.load_stock(target.stock_key, target.taken_key, stock=100, taken={})
    )

    async def crowd(_c: Container) -> list[str]:
        ctx: CommerceContext = commerce_of(client)

        async def grab(n: int) -> str:
            viewer = Viewer(shop_id=shop.shop_id, viewer_id=f"u:{n}", nickname="n", user_id=str(n))
            try:
                await do_place_order(ctx, viewer, OrderRequest(idempotency_key="k", flash_sale_id=sale["id"]))
            except LiveloopError as exc:
                return exc.code
            return "ok"

        return list(await asyncio.gather(*(grab(n) for n in range(40))))

    results = run_in_app(client, crowd)
    assert results.count("ok") == 3
    assert set(results) == {"ok", "commerce.sold_out"}
    assert sale_now(client, shop, sale)["quantity_allocated"] == 3
    # The disagreement dropped the cache; the next grab reloads it from the truth.
    assert error_code(buy(client, viewer_token(client, shop, "late"), flash_sale_id=sale["id"])) == (
        "commerce.sold_out"
    )
    assert run_in_app(client, lambda c: c.counters.get(target.stock_key)) == 0


def test_a_cache_behind_the_truth_is_repaired_by_a_rebuild(client: TestClient, shop: ShopKeys) -> None:
    """A crash between reserve and insert leaks units from the counters, never from the truth."""
    sale = make_sale(client, shop, stock=2)
    target = sale_target(sale)
    run_in_app(client, lambda c: c.counters.load_stock(target.stock_key, target.taken_key, stock=0, taken={}))
    alice = viewer_token(client, shop, "alice")
    assert error_code(buy(client, alice, flash_sale_id=sale["id"])) == "commerce.sold_out"
    run_in_app(client, lambda c: do_rebuild_counters(c.db, c.counters))
    created(buy(client, alice, flash_sale_id=sale["id"]))


def test_unpaid_simulated_orders_stay_created(client: TestClient, shop: ShopKeys) -> None:
    """The test policy's simulator never answers: what a buyer who does not pay looks like."""
    assert isinstance(commerce_of(client).payments, SimulatedPayments)
    order = created(
        buy(client, viewer_token(client, shop, "alice"), product_id=make_product(client, shop)["id"])
    )
    run_in_app(client, lambda _c: asyncio.sleep(0.05))
    assert client.get(f"/api/v1/orders/{order['id']}", headers=shop.headers()).json()["state"] == "created"
