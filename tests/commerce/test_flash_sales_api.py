"""Flash sales: creating (windows, countdowns), listing, starting and ending, and every refused grab."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from liveloop.shops import Role
from tests.commerce.conftest import buy, error_code, make_product, make_sale, viewer_token
from tests.conftest import ShopKeys, created


def test_create_and_read_a_sale(client: TestClient, shop: ShopKeys) -> None:
    product = make_product(client, shop)
    sale = make_sale(client, shop, product_id=product["id"], price_cents=990, stock=50, per_user_limit=2)
    assert (sale["state"], sale["stock"], sale["remaining"], sale["quantity_allocated"]) == (
        "active",
        50,
        50,
        0,
    )
    assert (sale["price_cents"], sale["per_user_limit"], sale["starts_in_seconds"]) == (990, 2, 0)
    ends = datetime.fromisoformat(sale["ends_at"]) - datetime.fromisoformat(sale["starts_at"])
    assert ends == timedelta(hours=1)
    host = shop.headers(Role.HOST)
    assert client.get(f"/api/v1/flash-sales/{sale['id']}", headers=host).json() == sale
    listed = client.get(f"/api/v1/flash-sales?product_id={product['id']}", headers=host).json()
    assert [s["id"] for s in listed["items"]] == [sale["id"]]


def test_a_countdown_sale_refuses_grabs_until_it_starts(client: TestClient, shop: ShopKeys) -> None:
    sale = make_sale(client, shop, starts_in_seconds=600, duration_seconds=60)
    assert sale["state"] == "scheduled"
    assert 599 <= sale["starts_in_seconds"] <= 600
    alice = viewer_token(client, shop, "alice")
    early = buy(client, alice, flash_sale_id=sale["id"])
    assert (early.status_code, error_code(early)) == (409, "commerce.sale_not_active")
    scheduled = client.get("/api/v1/flash-sales?state=scheduled", headers=shop.headers()).json()["items"]
    assert [s["id"] for s in scheduled] == [sale["id"]]
    assert client.get("/api/v1/flash-sales?state=active", headers=shop.headers()).json()["items"] == []
    started = client.post(f"/api/v1/flash-sales/{sale['id']}/start", headers=shop.headers(Role.HOST))
    assert (started.json()["state"], started.json()["starts_in_seconds"]) == ("active", 0)
    assert created(buy(client, alice, flash_sale_id=sale["id"]))["unit_price_cents"] == 1990
    again = client.post(f"/api/v1/flash-sales/{sale['id']}/start", headers=shop.headers())
    assert (again.status_code, error_code(again)) == (409, "commerce.illegal_sale_transition")


def test_an_ended_sale_refuses_grabs_and_keeps_its_orders(client: TestClient, shop: ShopKeys) -> None:
    sale = make_sale(client, shop, stock=5)
    alice, bob = viewer_token(client, shop, "alice"), viewer_token(client, shop, "bob")
    order = created(buy(client, alice, "before-the-end", flash_sale_id=sale["id"]))
    ended = client.post(f"/api/v1/flash-sales/{sale['id']}/end", headers=shop.headers(Role.HOST)).json()
    assert (ended["state"], ended["quantity_allocated"], ended["remaining"]) == ("ended", 1, 4)
    late = buy(client, bob, flash_sale_id=sale["id"])
    assert (late.status_code, error_code(late)) == (409, "commerce.sale_ended")
    again = client.post(f"/api/v1/flash-sales/{sale['id']}/end", headers=shop.headers())
    assert error_code(again) == "commerce.illegal_sale_transition"
    assert error_code(client.post(f"/api/v1/flash-sales/{sale['id']}/start", headers=shop.headers())) == (
        "commerce.illegal_sale_transition"
    )
    ended_list = client.get("/api/v1/flash-sales?state=ended", headers=shop.headers()).json()["items"]
    assert [s["id"] for s in ended_list] == [sale["id"]]
    assert client.get(f"/api/v1/orders/{order['id']}", headers=shop.headers()).json()["state"] == "created"
    # A retry of an order placed before the end still answers with that order.
    retry = buy(client, alice, "before-the-end", flash_sale_id=sale["id"])
    assert (retry.status_code, retry.json()["id"]) == (200, order["id"])


def test_a_second_grab_is_over_the_limit_and_changes_nothing(client: TestClient, shop: ShopKeys) -> None:
    sale = make_sale(client, shop, stock=10, per_user_limit=2)
    alice = viewer_token(client, shop, "alice")
    created(buy(client, alice, flash_sale_id=sale["id"], quantity=2))
    second = buy(client, alice, flash_sale_id=sale["id"])
    assert (second.status_code, error_code(second)) == (409, "commerce.over_limit")
    too_many = buy(client, viewer_token(client, shop, "bob"), flash_sale_id=sale["id"], quantity=3)
    assert error_code(too_many) == "commerce.over_limit"
    after = client.get(f"/api/v1/flash-sales/{sale['id']}", headers=shop.headers()).json()
    assert (after["quantity_allocated"], after["remaining"]) == (2, 8)
    orders = client.get(f"/api/v1/orders?flash_sale_id={sale['id']}", headers=shop.headers()).json()
    assert [(o["buyer_id"], o["quantity"]) for o in orders["items"]] == [("u:alice", 2)]


def test_a_sold_out_sale(client: TestClient, shop: ShopKeys) -> None:
    sale = make_sale(client, shop, stock=2, per_user_limit=2)
    created(buy(client, viewer_token(client, shop, "alice"), flash_sale_id=sale["id"]))
    bob = viewer_token(client, shop, "bob")
    over = buy(client, bob, flash_sale_id=sale["id"], quantity=2)
    assert (over.status_code, error_code(over)) == (409, "commerce.sold_out")
    created(buy(client, bob, flash_sale_id=sale["id"]))
    assert error_code(buy(client, viewer_token(client, shop, "carol"), flash_sale_id=sale["id"])) == (
        "commerce.sold_out"
    )


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"starts_at": "2030-01-01T00:00:00Z", "starts_in_seconds": 5}, "commerce.invalid_sale"),
        ({"ends_at": "2030-01-01T00:00:00Z"}, "commerce.invalid_sale"),  # and duration_seconds
        ({"duration_seconds": None, "ends_at": None}, "commerce.invalid_sale"),
        ({"duration_seconds": None, "ends_at": "2020-01-01T00:00:00Z"}, "commerce.invalid_sale"),
        (
            {
                "duration_seconds": None,
                "starts_at": "2030-01-02T00:00:00Z",
                "ends_at": "2030-01-01T00:00:00Z",
            },
            "commerce.invalid_sale",
        ),
        ({"duration_seconds": 8 * 86400}, "request.validation_error"),
        ({"stock": 0}, "request.validation_error"),
        ({"per_user_limit": 0}, "request.validation_error"),
        ({"price_cents": -1}, "request.validation_error"),
        ({"starts_at": "2030-01-01T00:00:00"}, "request.validation_error"),  # naive time
    ],
)
def test_bad_sales_are_refused(
    client: TestClient, shop: ShopKeys, fields: dict[str, object], code: str
) -> None:
    product = make_product(client, shop)
    body = {"product_id": product["id"], "price_cents": 100, "stock": 5, "duration_seconds": 60} | fields
    body = {k: v for k, v in body.items() if v is not None}
    response = client.post("/api/v1/flash-sales", json=body, headers=shop.headers())
    assert (response.status_code, error_code(response)) == (422, code)
    assert client.get("/api/v1/flash-sales", headers=shop.headers()).json()["items"] == []


def test_permissions_and_other_shops(client: TestClient, shop: ShopKeys, other_shop: ShopKeys) -> None:
    product = make_product(client, shop)
    body = {"product_id": product["id"], "price_cents": 100, "stock": 5, "duration_seconds": 60}
    host = client.post("/api/v1/flash-sales", json=body, headers=shop.headers(Role.HOST))
    assert (host.status_code, error_code(host)) == (403, "auth.permission_denied")
    sale = created(client.post("/api/v1/flash-sales", json=body, headers=shop.headers(Role.OPERATOR)))
    moderator = client.post(f"/api/v1/flash-sales/{sale['id']}/end", headers=shop.headers(Role.MODERATOR))
    assert moderator.status_code == 403
    theirs = client.post("/api/v1/flash-sales", json=body, headers=other_shop.headers())
    assert (theirs.status_code, error_code(theirs)) == (404, "commerce.product_not_found")
    for method, suffix in (("GET", ""), ("POST", "/start"), ("POST", "/end")):
        response = client.request(
            method, f"/api/v1/flash-sales/{sale['id']}{suffix}", headers=other_shop.headers()
        )
        assert (response.status_code, error_code(response)) == (404, "commerce.sale_not_found")
    carol = viewer_token(client, other_shop, "carol")
    grab = buy(client, carol, flash_sale_id=sale["id"])
    assert (grab.status_code, error_code(grab)) == (404, "commerce.sale_not_found")
    assert client.get(f"/api/v1/flash-sales/{sale['id']}", headers=shop.headers()).json()["state"] == "active"


def test_sales_are_listed_by_show(client: TestClient, shop: ShopKeys) -> None:
    room = created(client.post("/api/v1/rooms", json={"name": "r"}, headers=shop.headers()))
    start = datetime.now(UTC) + timedelta(days=1)
    show = created(
        client.post(
            "/api/v1/shows",
            json={
                "room_id": room["id"],
                "title": "秒杀夜",
                "planned_start": start.isoformat(),
                "planned_end": (start + timedelta(hours=2)).isoformat(),
            },
            headers=shop.headers(),
        )
    )
    in_show = make_sale(client, shop, show_id=show["id"])
    make_sale(client, shop)
    listed = client.get(f"/api/v1/flash-sales?show_id={show['id']}", headers=shop.headers()).json()["items"]
    assert [s["id"] for s in listed] == [in_show["id"]]
