"""Only a shop's signed-in users buy: guests, staff, forged, expired and foreign tokens are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from liveloop.core.container import Container
from liveloop.shops.credentials import sign_viewer_token
from liveloop.shops.storage import ShopRow
from tests.commerce.conftest import bearer, buy, error_code, make_product, make_sale, viewer_token
from tests.conftest import ShopKeys, created, run_in_app


def shop_key(client: TestClient, shop_id: int) -> str:
    async def read(container: Container) -> str:
        async with container.db.read() as session:
            return (await session.get_one(ShopRow, shop_id)).viewer_key

    return run_in_app(client, read)


def token(key: str, shop_id: int, *, issued: datetime | None = None, **extra: Any) -> str:
    signed, _ = sign_viewer_token(
        shop_id=shop_id,
        key=key,
        user_id="mallory",
        nickname="m",
        ttl=timedelta(minutes=5),
        now=issued,
        **extra,
    )
    return signed


def orders_of(client: TestClient, shop: ShopKeys) -> list[Any]:
    items: list[Any] = client.get("/api/v1/orders", headers=shop.headers()).json()["items"]
    return items


def test_guests_and_bad_tokens_cannot_buy(client: TestClient, shop: ShopKeys, other_shop: ShopKeys) -> None:
    product = make_product(client, shop)
    sale = make_sale(client, shop)
    body = {"product_id": product["id"], "idempotency_key": "k"}
    key = shop_key(client, shop.shop_id)
    cases: list[tuple[dict[str, str], str]] = [
        ({}, "commerce.buyer_required"),  # a guest has no token
        (shop.headers(), "auth.invalid_viewer_token"),  # a staff API key is not a buyer
        (bearer("not.a.jwt"), "auth.invalid_viewer_token"),
        (bearer(token("forged-key-" + "x" * 40, shop.shop_id)), "auth.invalid_viewer_token"),
        (bearer(token(shop_key(client, other_shop.shop_id), shop.shop_id)), "auth.invalid_viewer_token"),
        (
            bearer(token(key, shop.shop_id, issued=datetime.now(UTC) - timedelta(hours=1))),
            "auth.expired_viewer_token",
        ),
        (bearer(token(key, shop.shop_id, staff_role="host")), "commerce.buyer_required"),
    ]
    for headers, code in cases:
        for payload in (body, {"flash_sale_id": sale["id"], "idempotency_key": "k"}):
            response = client.post("/api/v1/buyer/orders", json=payload, headers=headers)
            assert (response.status_code, error_code(response)) == (401, code), headers
        assert client.get("/api/v1/buyer/orders/1", headers=headers).status_code == 401
        assert client.post("/api/v1/buyer/orders/1/cancel", headers=headers).status_code == 401
    assert orders_of(client, shop) == []
    assert client.get(f"/api/v1/flash-sales/{sale['id']}", headers=shop.headers()).json()["remaining"] == 10


def test_a_token_of_another_shop_sees_nothing_of_ours(
    client: TestClient, shop: ShopKeys, other_shop: ShopKeys
) -> None:
    product = make_product(client, shop)
    sale = make_sale(client, shop)
    mine = created(buy(client, viewer_token(client, shop, "alice"), product_id=product["id"]))
    carol = viewer_token(client, other_shop, "alice")  # the same user id, another shop's token
    assert error_code(buy(client, carol, product_id=product["id"])) == "commerce.product_not_found"
    assert error_code(buy(client, carol, flash_sale_id=sale["id"])) == "commerce.sale_not_found"
    for method, suffix in (("GET", ""), ("POST", "/cancel")):
        response = client.request(method, f"/api/v1/buyer/orders/{mine['id']}{suffix}", headers=bearer(carol))
        assert (response.status_code, error_code(response)) == (404, "commerce.order_not_found")
    assert [o["state"] for o in orders_of(client, shop)] == ["created"]
    assert orders_of(client, other_shop) == []


@pytest.mark.parametrize("path", ["/api/v1/buyer/orders/0", "/api/v1/buyer/orders/abc"])
def test_bad_order_ids(client: TestClient, shop: ShopKeys, path: str) -> None:
    response = client.get(path, headers=bearer(viewer_token(client, shop, "alice")))
    assert (response.status_code, error_code(response)) == (422, "request.validation_error")
