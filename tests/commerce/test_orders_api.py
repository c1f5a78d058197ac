"""Buyer and staff order routes: placing, idempotent retries, reading, cancelling, refunding, filters."""

from __future__ import annotations

import uuid

from starlette.testclient import TestClient

from liveloop.shops import Role
from tests.commerce.conftest import (
    EventLog,
    bearer,
    buy,
    error_code,
    make_product,
    make_sale,
    viewer_token,
)
from tests.conftest import ShopKeys, created


def test_a_buyer_orders_a_product_and_the_units_are_held(client: TestClient, shop: ShopKeys) -> None:
    product = make_product(client, shop, price_cents=8900, stock=3)
    alice = viewer_token(client, shop, "alice")
    order = created(buy(client, alice, product_id=product["id"], quantity=2))
    assert (order["state"], order["quantity"], order["unit_price_cents"], order["amount_cents"]) == (
        "created",
        2,
        8900,
        17800,
    )
    assert order["buyer_id"] == "u:alice"
    assert order["flash_sale_id"] is None
    assert order["payment"]["simulated"] is True
    assert order["payment"]["notice"] == "SIMULATED — no money moves"
    assert order["payment"]["state"] == "pending"
    again = buy(client, viewer_token(client, shop, "bob"), product_id=product["id"], quantity=2)
    assert again.status_code == 409
    assert error_code(again) == "commerce.sold_out"
    assert created(buy(client, alice, product_id=product["id"]))["quantity"] == 1
    assert error_code(buy(client, alice, product_id=product["id"])) == "commerce.sold_out"


def test_a_retried_key_returns_the_same_order(
    client: TestClient, shop: ShopKeys, event_log: EventLog
) -> None:
    product = make_product(client, shop)
    alice = viewer_token(client, shop, "alice")
    first = buy(client, alice, "key-1", product_id=product["id"])
    assert first.status_code == 201
    retry = buy(client, alice, "key-1", product_id=product["id"])
    assert retry.status_code == 200
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == first.json()["id"]
    by_header = client.post(
        "/api/v1/buyer/orders",
        json={"product_id": product["id"]},
        headers=bearer(alice) | {"Idempotency-Key": "key-1"},
    )
    assert by_header.status_code == 200
    assert by_header.json()["id"] == first.json()["id"]
    other = buy(client, alice, "key-1", product_id=product["id"], quantity=3)
    assert (other.status_code, error_code(other)) == (409, "commerce.idempotency_key_reused")
    # The same key is another buyer's own key: a new order.
    assert (
        buy(client, viewer_token(client, shop, "bob"), "key-1", product_id=product["id"]).status_code == 201
    )
    staff = client.get(f"/api/v1/orders?product_id={product['id']}", headers=shop.headers()).json()
    assert len(staff["items"]) == 2
    event_log.wait(lambda events: len([e for e in events if e.type == "order.created"]) == 2)


def test_the_key_is_required_and_must_agree(client: TestClient, shop: ShopKeys) -> None:
    product = make_product(client, shop)
    alice = viewer_token(client, shop, "alice")
    missing = client.post("/api/v1/buyer/orders", json={"product_id": product["id"]}, headers=bearer(alice))
    assert (missing.status_code, error_code(missing)) == (422, "commerce.invalid_order")
    clash = client.post(
        "/api/v1/buyer/orders",
        json={"product_id": product["id"], "idempotency_key": "a"},
        headers=bearer(alice) | {"Idempotency-Key": "b"},
    )
    assert error_code(clash) == "commerce.invalid_order"
    both = buy(client, alice, product_id=product["id"], flash_sale_id=make_sale(client, shop)["id"])
    assert error_code(both) == "commerce.invalid_order"
    neither = buy(client, alice)
    assert error_code(neither) == "commerce.invalid_order"
    for bad in ({"quantity": 0}, {"quantity": 100}, {"idempotency_key": "has space"}, {"extra": 1}):
        response = buy(client, alice, product_id=product["id"], **bad)
        assert (response.status_code, error_code(response)) == (422, "request.validation_error")


def test_buyer_reads_and_cancels_only_their_own_orders(
    client: TestClient, shop: ShopKeys, event_log: EventLog
) -> None:
    product = make_product(client, shop, stock=1)
    alice, bob = viewer_token(client, shop, "alice"), viewer_token(client, shop, "bob")
    order = created(buy(client, alice, product_id=product["id"]))
    url = f"/api/v1/buyer/orders/{order['id']}"
    assert client.get(url, headers=bearer(alice)).json()["state"] == "created"
    assert error_code(client.get(url, headers=bearer(bob))) == "commerce.order_not_found"
    assert error_code(client.post(f"{url}/cancel", headers=bearer(bob))) == "commerce.order_not_found"
    assert error_code(buy(client, bob, product_id=product["id"])) == "commerce.sold_out"
    cancelled = client.post(f"{url}/cancel", headers=bearer(alice))
    assert cancelled.json()["state"] == "cancelled"
    assert cancelled.json()["cancel_reason"] == "buyer"
    twice = client.post(f"{url}/cancel", headers=bearer(alice))
    assert (twice.status_code, error_code(twice)) == (409, "commerce.illegal_order_transition")
    assert created(buy(client, bob, product_id=product["id"]))["buyer_id"] == "u:bob"  # the unit came back
    events = event_log.wait(lambda evs: any(e.type == "order.cancelled" for e in evs))
    cancel = next(e for e in events if e.type == "order.cancelled")
    assert cancel.data["reason"] == "buyer"
    assert cancel.actor == "u:alice"
    assert cancel.data["amount_cents"] == product["price_cents"]


def test_staff_list_filter_and_read_orders(client: TestClient, shop: ShopKeys) -> None:
    room = created(client.post("/api/v1/rooms", json={"name": "r"}, headers=shop.headers()))
    show_body = {
        "room_id": room["id"],
        "title": "晚场",
        "planned_start": "2026-12-01T12:00:00Z",
        "planned_end": "2026-12-01T13:00:00Z",
    }
    show = created(client.post("/api/v1/shows", json=show_body, headers=shop.headers()))
    product = make_product(client, shop)
    sale = make_sale(client, shop, show_id=show["id"])
    alice = viewer_token(client, shop, "alice")
    in_show = created(buy(client, alice, product_id=product["id"], show_id=show["id"]))
    grabbed = created(buy(client, alice, flash_sale_id=sale["id"]))
    plain = created(buy(client, alice, product_id=product["id"]))
    assert (in_show["show_id"], grabbed["show_id"], plain["show_id"]) == (show["id"], show["id"], None)
    assert grabbed["unit_price_cents"] == 1990
    host = shop.headers(Role.HOST)
    listed = client.get(f"/api/v1/orders?show_id={show['id']}", headers=host).json()["items"]
    assert [o["id"] for o in listed] == [in_show["id"], grabbed["id"]]
    page = client.get("/api/v1/orders?limit=2&state=created", headers=host).json()
    rest = client.get(f"/api/v1/orders?limit=2&cursor={page['next_cursor']}", headers=host).json()
    assert [o["id"] for o in page["items"] + rest["items"]] == [in_show["id"], grabbed["id"], plain["id"]]
    assert client.get("/api/v1/orders?state=paid", headers=host).json()["items"] == []
    by_sale = client.get(f"/api/v1/orders?flash_sale_id={sale['id']}&buyer_id=u:alice", headers=host).json()
    assert [o["id"] for o in by_sale["items"]] == [grabbed["id"]]
    detail = client.get(f"/api/v1/orders/{grabbed['id']}", headers=host).json()
    assert detail["payment"]["provider"] == "simulated"
    assert error_code(client.get("/api/v1/orders/999999", headers=host)) == "commerce.order_not_found"


def test_a_show_of_another_shop_is_not_found(
    client: TestClient, shop: ShopKeys, other_shop: ShopKeys
) -> None:
    room = created(client.post("/api/v1/rooms", json={"name": "r"}, headers=other_shop.headers()))
    show_body = {
        "room_id": room["id"],
        "title": "t",
        "planned_start": "2026-12-01T12:00:00Z",
        "planned_end": "2026-12-01T13:00:00Z",
    }
    theirs = created(client.post("/api/v1/shows", json=show_body, headers=other_shop.headers()))
    product = make_product(client, shop)
    alice = viewer_token(client, shop, "alice")
    response = buy(client, alice, product_id=product["id"], show_id=theirs["id"])
    assert (response.status_code, error_code(response)) == (404, "commerce.show_not_found")
    sale = client.post(
        "/api/v1/flash-sales",
        json={
            "product_id": product["id"],
            "show_id": theirs["id"],
            "price_cents": 1,
            "stock": 1,
            "duration_seconds": 60,
        },
        headers=shop.headers(),
    )
    assert error_code(sale) == "commerce.show_not_found"
    assert client.get("/api/v1/orders", headers=shop.headers()).json()["items"] == []


def test_an_archived_product_cannot_be_bought(client: TestClient, shop: ShopKeys) -> None:
    product = make_product(client, shop)
    client.delete(f"/api/v1/products/{product['id']}", headers=shop.headers())
    response = buy(client, viewer_token(client, shop, "alice"), product_id=product["id"])
    assert (response.status_code, error_code(response)) == (404, "commerce.product_not_found")


def test_raising_product_stock_is_seen_by_the_next_order(client: TestClient, shop: ShopKeys) -> None:
    product = make_product(client, shop, stock=1)
    alice = viewer_token(client, shop, "alice")
    created(buy(client, alice, product_id=product["id"]))
    assert error_code(buy(client, alice, product_id=product["id"])) == "commerce.sold_out"
    client.patch(f"/api/v1/products/{product['id']}", json={"stock": 3}, headers=shop.headers())
    assert created(buy(client, alice, product_id=product["id"], quantity=2))["quantity"] == 2
    assert error_code(buy(client, alice, product_id=product["id"])) == "commerce.sold_out"


def test_refund_only_from_paid(client: TestClient, shop: ShopKeys, event_log: EventLog) -> None:
    from tests.commerce.test_payments_api import notify, set_secret

    secret = set_secret(client, shop)
    product = make_product(client, shop, stock=1)
    alice = viewer_token(client, shop, "alice")
    order = created(buy(client, alice, product_id=product["id"]))
    refund = f"/api/v1/orders/{order['id']}/refund"
    early = client.post(refund, headers=shop.headers())
    assert (early.status_code, error_code(early)) == (409, "commerce.illegal_order_transition")
    assert notify(client, shop, secret, order, status="succeeded").status_code == 200
    assert client.post(refund, headers=shop.headers(Role.HOST)).status_code == 403
    refunded = client.post(refund, headers=shop.headers(Role.OPERATOR))
    assert refunded.json()["state"] == "refunded"
    assert refunded.json()["refunded_at"] is not None
    assert error_code(client.post(refund, headers=shop.headers())) == "commerce.illegal_order_transition"
    detail = client.get(f"/api/v1/orders/{order['id']}", headers=shop.headers()).json()
    assert detail["payment"]["state"] == "refunded"
    # The refunded unit is on sale again.
    assert created(buy(client, viewer_token(client, shop, "bob"), product_id=product["id"]))["quantity"] == 1
    events = event_log.wait(lambda evs: any(e.type == "order.refunded" for e in evs))
    refund_event = next(e for e in events if e.type == "order.refunded")
    assert refund_event.actor is not None
    assert refund_event.actor.startswith("staff:")
    assert refund_event.data["order_id"] == order["id"]


def test_another_shops_order_is_not_found_to_staff(
    client: TestClient, shop: ShopKeys, other_shop: ShopKeys
) -> None:
    product = make_product(client, other_shop)
    theirs = created(buy(client, viewer_token(client, other_shop, "carol"), product_id=product["id"]))
    for method, url in (
        ("GET", f"/api/v1/orders/{theirs['id']}"),
        ("POST", f"/api/v1/orders/{theirs['id']}/refund"),
    ):
        response = client.request(method, url, headers=shop.headers())
        assert (response.status_code, error_code(response)) == (404, "commerce.order_not_found")
    assert client.get("/api/v1/orders", headers=shop.headers()).json()["items"] == []
    mine = viewer_token(client, shop, f"u{uuid.uuid4().hex[:6]}")
    assert error_code(client.get(f"/api/v1/buyer/orders/{theirs['id']}", headers=bearer(mine))) == (
        "commerce.order_not_found"
    )
    foreign_product = buy(client, mine, product_id=product["id"])
    assert (foreign_product.status_code, error_code(foreign_product)) == (404, "commerce.product_not_found")
