"""Catalog API: products with integer-cent prices, SKU uniqueness, filters, archiving."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from liveloop.shops import Role
from tests.conftest import ShopKeys, created

LIPSTICK = {
    "sku": "LIP-001",
    "title": "丝绒哑光口红 Velvet Matte Lipstick",
    "price_cents": 8900,
    "list_price_cents": 12900,
    "stock": 500,
    "category": "makeup",
    "image_url": "https://img.example.com/lip.png",
    "selling_points": ["不沾杯", "显白"],
}


def make_product(client: TestClient, shop: ShopKeys, **overrides: Any) -> dict[str, Any]:
    return created(client.post("/api/v1/products", json=LIPSTICK | overrides, headers=shop.headers()))


def test_create_read_update_archive(client: TestClient, shop: ShopKeys) -> None:
    product = make_product(client, shop)
    assert product["price_cents"] == 8900
    assert product["selling_points"] == ["不沾杯", "显白"]
    url = f"/api/v1/products/{product['id']}"
    assert client.get(url, headers=shop.headers(Role.HOST)).json()["title"] == LIPSTICK["title"]
    patched = client.patch(url, json={"price_cents": 7900, "stock": 10}, headers=shop.headers(Role.OPERATOR))
    assert (patched.json()["price_cents"], patched.json()["stock"]) == (7900, 10)
    assert client.delete(url, headers=shop.headers()).status_code == 204
    listed = client.get("/api/v1/products", headers=shop.headers()).json()["items"]
    assert listed == []
    archived = client.get("/api/v1/products?include_archived=true", headers=shop.headers()).json()["items"]
    assert [p["archived"] for p in archived] == [True]


def test_sku_is_unique_per_shop_only(client: TestClient, shop: ShopKeys, other_shop: ShopKeys) -> None:
    make_product(client, shop)
    again = client.post("/api/v1/products", json=LIPSTICK, headers=shop.headers())
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "commerce.sku_taken"
    make_product(client, other_shop)


def test_prices_are_validated(client: TestClient, shop: ShopKeys) -> None:
    below_list = client.post(
        "/api/v1/products", json=LIPSTICK | {"list_price_cents": 100}, headers=shop.headers()
    )
    assert below_list.json()["error"]["code"] == "commerce.invalid_price"
    for bad in ({"price_cents": -1}, {"price_cents": 1.5}, {"price_cents": "cheap"}):
        response = client.post("/api/v1/products", json=LIPSTICK | bad, headers=shop.headers())
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "request.validation_error"
    product = make_product(client, shop)
    null_title = client.patch(
        f"/api/v1/products/{product['id']}", json={"title": None}, headers=shop.headers()
    )
    assert null_title.status_code == 422
    cleared = client.patch(
        f"/api/v1/products/{product['id']}", json={"list_price_cents": None}, headers=shop.headers()
    )
    assert cleared.json()["list_price_cents"] is None


def test_filters(client: TestClient, shop: ShopKeys) -> None:
    make_product(client, shop)
    make_product(client, shop, sku="SERUM-1", title="精华液 Serum", category="skincare")
    by_cat = client.get("/api/v1/products", params={"category": "skincare"}, headers=shop.headers())
    assert [p["sku"] for p in by_cat.json()["items"]] == ["SERUM-1"]
    by_q = client.get("/api/v1/products", params={"q": "口红"}, headers=shop.headers())
    assert [p["sku"] for p in by_q.json()["items"]] == ["LIP-001"]
    wildcard = client.get("/api/v1/products", params={"q": "%"}, headers=shop.headers())
    assert wildcard.json()["items"] == []


def test_moderators_read_but_cannot_write(client: TestClient, shop: ShopKeys) -> None:
    denied = client.post("/api/v1/products", json=LIPSTICK, headers=shop.headers(Role.MODERATOR))
    assert denied.status_code == 403
    assert client.get("/api/v1/products", headers=shop.headers(Role.MODERATOR)).status_code == 200
