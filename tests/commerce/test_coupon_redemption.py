"""Coupons on orders: the discount, the hold in the order's transaction, release on cancel, expiry and
failed payment, redemption on payment (``coupon.redeemed``), and every refusal leaving stock untouched."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from liveloop.commerce import OrderRequest, do_expire_orders, do_place_order
from liveloop.core.container import Container
from liveloop.core.db import utcnow
from liveloop.core.errors import LiveloopError
from liveloop.shops import Viewer
from tests.commerce.conftest import EventLog, bearer, buy, error_code, make_product, make_sale, viewer_token
from tests.commerce.coupons_support import coupon_for, coupon_of, set_coupon_window
from tests.commerce.test_concurrency import COUNTERS, commerce_on
from tests.commerce.test_payments_api import notify, set_secret
from tests.conftest import ShopKeys, created, run_in_app


def product_allocated(client: TestClient, shop: ShopKeys, product_id: int) -> int:
    orders = client.get(f"/api/v1/orders?product_id={product_id}", headers=shop.headers()).json()["items"]
    return sum(o["quantity"] for o in orders if o["state"] in ("created", "paid"))


def test_an_order_with_a_coupon_pays_less_and_redeems_it_when_paid(
    client: TestClient, shop: ShopKeys, event_log: EventLog
) -> None:
    secret = set_secret(client, shop)
    alice = viewer_token(client, shop, "alice")
    coupon = coupon_for(client, shop, alice)  # 立减 5 元
    product = make_product(client, shop, price_cents=8900)
    order = created(buy(client, alice, product_id=product["id"], quantity=2, coupon_id=coupon["id"]))
    assert (order["amount_cents"], order["discount_cents"], order["coupon_id"]) == (17300, 500, coupon["id"])
    assert (order["unit_price_cents"], order["payment"]["amount_cents"]) == (8900, 17300)
    held = coupon_of(client, alice, coupon["id"])
    assert (held["state"], held["used_order_id"], held["discount_cents"]) == ("in_use", order["id"], 500)
    assert my_state(client, alice, "in_use") == [coupon["id"]]

    paid = notify(client, shop, secret, order)
    assert paid.json()["state"] == "paid"
    redeemed = coupon_of(client, alice, coupon["id"])
    assert (redeemed["state"], redeemed["redeemed_at"] is not None) == ("redeemed", True)
    events = event_log.wait(lambda evs: any(e.type == "coupon.redeemed" for e in evs))
    created_event = next(e for e in events if e.type == "order.created")
    assert (created_event.data["amount_cents"], created_event.data["discount_cents"]) == (17300, 500)
    redeemed_event = next(e for e in events if e.type == "coupon.redeemed")
    assert redeemed_event.data == {
        "coupon_id": coupon["id"],
        "template_id": coupon["template_id"],
        "order_id": order["id"],
        "discount_cents": 500,
    }
    assert (redeemed_event.actor, redeemed_event.shop_id) == ("u:alice", shop.shop_id)
    assert notify(client, shop, secret, order).json()["result"] == "duplicate"
    assert len([e for e in event_log.events if e.type == "coupon.redeemed"]) == 1

    refunded = client.post(f"/api/v1/orders/{order['id']}/refund", headers=shop.headers())
    assert refunded.json()["state"] == "refunded"
    assert coupon_of(client, alice, coupon["id"])["state"] == "redeemed"  # a refund keeps its cost


def my_state(client: TestClient, token: str, state: str) -> list[int]:
    listed = client.get(f"/api/v1/buyer/coupons?state={state}", headers=bearer(token)).json()["items"]
    return [c["id"] for c in listed]


def test_a_percent_coupon_is_capped_on_a_flash_sale(client: TestClient, shop: ShopKeys) -> None:
    alice = viewer_token(client, shop, "alice")
    coupon = coupon_for(
        client, shop, alice, kind="percent_off", amount_off_cents=None, percent=50, max_discount_cents=300
    )
    sale = make_sale(client, shop, price_cents=1990, per_user_limit=1)
    order = created(buy(client, alice, flash_sale_id=sale["id"], coupon_id=coupon["id"]))
    assert (order["amount_cents"], order["discount_cents"]) == (1690, 300)


@pytest.mark.parametrize("how", ["cancel", "expire", "payment_failed"])
def test_a_coupon_is_released_when_its_order_does_not_complete(
    client: TestClient, shop: ShopKeys, how: str
) -> None:
    alice = viewer_token(client, shop, "alice")
    coupon = coupon_for(client, shop, alice)
    product = make_product(client, shop)
    order = created(buy(client, alice, product_id=product["id"], coupon_id=coupon["id"]))
    again = buy(client, alice, product_id=product["id"], coupon_id=coupon["id"])
    assert (again.status_code, error_code(again)) == (409, "coupon.already_used")
    if how == "cancel":
        cancelled = client.post(f"/api/v1/buyer/orders/{order['id']}/cancel", headers=bearer(alice))
        assert cancelled.json()["state"] == "cancelled"
    elif how == "expire":
        at = datetime.fromisoformat(order["reserved_until"])
        expired = run_in_app(client, lambda c: do_expire_orders(c.db, c.counters, now=at, events=c.events))
        assert [row.id for row in expired] == [order["id"]]
    else:
        failed = notify(client, shop, set_secret(client, shop), order, status="failed")
        assert failed.json()["state"] == "cancelled"
    released = coupon_of(client, alice, coupon["id"])
    assert (released["state"], released["used_order_id"], released["discount_cents"]) == (
        "available",
        None,
        0,
    )
    kept = client.get(f"/api/v1/orders/{order['id']}", headers=shop.headers()).json()
    assert (kept["coupon_id"], kept["discount_cents"]) == (coupon["id"], 500)  # the order keeps its history
    second = created(buy(client, alice, product_id=product["id"], coupon_id=coupon["id"]))
    assert (second["discount_cents"], coupon_of(client, alice, coupon["id"])["used_order_id"]) == (
        500,
        second["id"],
    )


def test_refused_coupons_change_nothing(client: TestClient, shop: ShopKeys) -> None:
    alice, bob = viewer_token(client, shop, "alice"), viewer_token(client, shop, "bob")
    product = make_product(client, shop, price_cents=8900, stock=1)
    other = make_product(client, shop, price_cents=8900)
    threshold = coupon_for(
        client, shop, alice, kind="threshold", threshold_cents=20000, amount_off_cents=3000
    )
    scoped = coupon_for(client, shop, alice, product_id=other["id"])
    stale = coupon_for(client, shop, alice)
    now = utcnow()
    set_coupon_window(
        client, stale["id"], valid_from=now - timedelta(days=2), valid_until=now - timedelta(days=1)
    )
    early = coupon_for(client, shop, alice)
    set_coupon_window(
        client, early["id"], valid_from=now + timedelta(days=1), valid_until=now + timedelta(days=2)
    )
    bobs = coupon_for(client, shop, bob)
    cases: list[tuple[int, int, str]] = [
        (threshold["id"], 409, "coupon.not_applicable"),  # 8900 < 20000
        (scoped["id"], 409, "coupon.not_applicable"),  # for another product
        (stale["id"], 409, "coupon.expired"),
        (early["id"], 409, "coupon.not_applicable"),  # not valid yet
        (bobs["id"], 404, "coupon.not_found"),  # someone else's
        (2**52, 404, "coupon.not_found"),
    ]
    for coupon_id, status, code in cases:
        refused = buy(client, alice, product_id=product["id"], coupon_id=coupon_id)
        assert (refused.status_code, error_code(refused)) == (status, code), coupon_id
    assert product_allocated(client, shop, product["id"]) == 0
    assert [
        c["state"] for c in client.get("/api/v1/buyer/coupons", headers=bearer(alice)).json()["items"]
    ] == [
        "available",
        "available",
        "expired",
        "available",
    ]
    # The one unit is still on sale: every refusal gave back what the grab had reserved.
    assert created(buy(client, alice, product_id=product["id"]))["amount_cents"] == 8900
    # The threshold coupon does apply to an order above its threshold.
    big = created(buy(client, alice, product_id=other["id"], quantity=3, coupon_id=threshold["id"]))
    assert (big["amount_cents"], big["discount_cents"]) == (26700 - 3000, 3000)


def test_a_retried_key_must_name_the_same_coupon(client: TestClient, shop: ShopKeys) -> None:
    alice = viewer_token(client, shop, "alice")
    first, second = coupon_for(client, shop, alice), coupon_for(client, shop, alice)
    product = make_product(client, shop)
    order = created(buy(client, alice, "k1", product_id=product["id"], coupon_id=first["id"]))
    replay = buy(client, alice, "k1", product_id=product["id"], coupon_id=first["id"])
    assert (replay.status_code, replay.json()["id"]) == (200, order["id"])
    other = buy(client, alice, "k1", product_id=product["id"], coupon_id=second["id"])
    assert error_code(other) == "commerce.idempotency_key_reused"
    assert error_code(buy(client, alice, "k1", product_id=product["id"])) == "commerce.idempotency_key_reused"


@pytest.mark.parametrize("counters", COUNTERS)
def test_one_coupon_sent_with_20_orders_at_once_is_used_once(
    client: TestClient, shop: ShopKeys, counters: str
) -> None:
    """20 orders for 20 products, all with the buyer's one coupon, at once: one takes it, the rest are
    refused and hold no stock."""
    alice = viewer_token(client, shop, "alice")
    coupon = coupon_for(client, shop, alice)
    products = [make_product(client, shop, stock=1)["id"] for _ in range(20)]
    buyer = Viewer(shop_id=shop.shop_id, viewer_id="u:alice", nickname="alice", user_id="alice")

    async def run(container: Container) -> list[str]:
        async with commerce_on(container, counters) as ctx:

            async def order(product_id: int) -> str:
                request = OrderRequest(
                    idempotency_key=uuid.uuid4().hex, product_id=product_id, coupon_id=coupon["id"]
                )
                try:
                    await do_place_order(ctx, buyer, request)
                except LiveloopError as exc:
                    return exc.code
                return "ok"

            return await asyncio.gather(*(order(p) for p in products))

    outcomes = Counter(run_in_app(client, run))
    assert outcomes == {"ok": 1, "coupon.already_used": 19}
    orders: list[dict[str, Any]] = client.get("/api/v1/orders", headers=shop.headers()).json()["items"]
    assert [(o["coupon_id"], o["discount_cents"]) for o in orders] == [(coupon["id"], 500)]
    held = coupon_of(client, alice, coupon["id"])
    assert (held["state"], held["used_order_id"]) == ("in_use", orders[0]["id"])
    assert sum(product_allocated(client, shop, p) for p in products) == 1
