"""The buy route's fast lane serves well-formed orders as the FastAPI route does, and passes the rest on."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from starlette.datastructures import Headers
from starlette.testclient import TestClient

from liveloop.commerce import orders
from liveloop.commerce.api_buy_lane import BuyLane, buy_path, well_formed_order
from tests.commerce.conftest import bearer, error_code, make_product, viewer_token
from tests.conftest import ShopKeys

JSON = "application/json"
#: A JSON body the lane leaves to the FastAPI route (it serves exactly ``application/json``).
ROUTE_JSON = "application/json; charset=utf-8"


def post(client: TestClient, token: str, body: Any, *, content_type: str = JSON, **headers: str) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(
        "/api/v1/buyer/orders", content=raw, headers=bearer(token) | {"Content-Type": content_type} | headers
    )


def test_the_lane_takes_only_well_formed_orders() -> None:
    def parsed(body: bytes, **headers: str) -> Any:
        return well_formed_order(Headers(headers), body)

    assert parsed(b'{"flash_sale_id": 3}', **{"content-type": JSON}) is not None
    order, key = parsed(b'{"product_id": 3, "quantity": 2}', **{"content-type": JSON, "idempotency-key": "k"})
    assert (order.product_id, order.quantity, key) == (3, 2, "k")
    refused: list[tuple[bytes, dict[str, str]]] = [
        (b'{"product_id": 3}', {}),  # no content type
        (b'{"product_id": 3}', {"content-type": ROUTE_JSON}),
        (b'{"product_id": 3}', {"content-type": "text/plain"}),
        (b"", {"content-type": JSON}),
        (b'{"product_id": 3', {"content-type": JSON}),
        (b"\xff\xfe{", {"content-type": JSON}),
        (b"[" * 100_000 + b"]" * 100_000, {"content-type": JSON}),
        (b'{"product_id": 3, "extra": 1}', {"content-type": JSON}),
        (b'{"quantity": 0}', {"content-type": JSON}),
        (b'{"product_id": 3}', {"content-type": JSON, "idempotency-key": "has space"}),
        (b'{"product_id": 3}', {"content-type": JSON, "idempotency-key": "k" * 65}),
    ]
    for body, headers in refused:
        assert parsed(body, **headers) is None, (body[:40], headers)


def test_lane_and_route_answer_an_order_byte_for_byte_alike(client: TestClient, shop: ShopKeys) -> None:
    product = make_product(client, shop)
    alice = viewer_token(client, shop, "alice")
    body = {"product_id": product["id"], "quantity": 2}
    placed = post(client, alice, body, **{"Idempotency-Key": "k1"})  # the lane
    assert placed.status_code == 201, placed.text
    assert "idempotent-replayed" not in placed.headers
    for content_type in (ROUTE_JSON, JSON):  # a replay through the route, then the lane
        again = post(client, alice, body, content_type=content_type, **{"Idempotency-Key": "k1"})
        assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")
        assert again.content == placed.content
        assert again.headers["content-type"] == placed.headers["content-type"] == JSON
    by_route = post(client, alice, body, content_type=ROUTE_JSON, **{"Idempotency-Key": "k2"})
    assert by_route.status_code == 201, by_route.text
    assert by_route.json().keys() == placed.json().keys()
    assert by_route.json()["id"] != placed.json()["id"]


@pytest.mark.parametrize(
    ("body", "headers", "answer"),
    [
        (b'{"product_id": 1', {}, (400, "request.malformed_json")),
        ({"product_id": 1, "extra": 1}, {}, (422, "request.validation_error")),
        ({"product_id": 1, "quantity": 100}, {}, (422, "request.validation_error")),
        ({"product_id": 1}, {"Idempotency-Key": "has space"}, (422, "request.validation_error")),
        (
            {"product_id": 1, "idempotency_key": "a"},
            {"Idempotency-Key": "b"},
            (422, "commerce.invalid_order"),
        ),
        ({"product_id": 1}, {}, (422, "commerce.invalid_order")),
        ({"product_id": 10**9, "idempotency_key": "a"}, {}, (404, "commerce.product_not_found")),
    ],
)
def test_what_the_lane_leaves_or_refuses_is_answered_as_before(
    client: TestClient, shop: ShopKeys, body: Any, headers: dict[str, str], answer: tuple[int, str]
) -> None:
    alice = viewer_token(client, shop, "alice")
    for content_type in (JSON, ROUTE_JSON):
        response = post(client, alice, body, content_type=content_type, **headers)
        assert (response.status_code, error_code(response)) == answer, response.text


def test_a_token_is_checked_before_the_body_on_both_paths(client: TestClient, shop: ShopKeys) -> None:
    for content_type in (JSON, ROUTE_JSON):
        for body in ({"product_id": 1, "idempotency_key": "a"}, {"extra": 1}):
            response = post(client, "not.a.jwt", body, content_type=content_type)
            assert (response.status_code, error_code(response)) == (401, "auth.invalid_viewer_token")
            guest = client.post("/api/v1/buyer/orders", json=body)
            assert (guest.status_code, error_code(guest)) == (401, "commerce.buyer_required")


def test_the_lane_serves_posts_only_and_keeps_the_route_metrics_label(
    client: TestClient, shop: ShopKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    app: Any = client.app
    path = buy_path()
    lane = app.front_lanes[path]
    assert isinstance(lane, BuyLane)
    served: list[int] = []
    serve = lane._serve

    async def counted(*args: Any) -> Any:
        served.append(1)
        return await serve(*args)

    monkeypatch.setattr(lane, "_serve", counted)
    wrong_method = client.get("/api/v1/buyer/orders", headers=bearer(viewer_token(client, shop, "a")))
    assert (wrong_method.status_code, error_code(wrong_method)) == (405, "request.method_not_allowed")
    product = make_product(client, shop)
    alice = viewer_token(client, shop, "alice")
    for key, content_type in (("m1", JSON), ("m2", ROUTE_JSON)):
        body = {"product_id": product["id"], "idempotency_key": key}
        assert post(client, alice, body, content_type=content_type).status_code == 201
    assert served == [1]  # the lane served the first, the route the second
    labels = {"method": "POST", "route": path, "status": "201"}
    assert app.state.registry.get_sample_value("liveloop_http_requests_total", labels) == 2
    latency = {"method": "POST", "route": path}
    assert app.state.registry.get_sample_value("liveloop_http_request_duration_seconds_count", latency) == 2


def test_a_body_over_the_limit_is_refused_as_before(client: TestClient, shop: ShopKeys) -> None:
    app: Any = client.app
    limit = app.front_lanes[buy_path()].max_body_bytes
    alice = viewer_token(client, shop, "alice")
    padded = b'{"product_id": 1, "idempotency_key": "k"' + b" " * limit + b"}"
    response = post(client, alice, padded)
    assert (response.status_code, error_code(response)) == (413, "request.body_too_large")


def test_an_unexpected_error_is_a_500_on_both_paths_and_counted(
    client: TestClient, shop: ShopKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the store is on fire")

    monkeypatch.setattr(orders, "do_place_order", broken)
    app: Any = client.app
    alice = viewer_token(client, shop, "alice")

    async def quietly(key: str, content_type: str) -> httpx2.Response:
        # The answer the server sends before the error goes up to it: on the app's own loop and
        # lifespan (a second TestClient would run the lifespan again and leak the first one's pool).
        transport = httpx2.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as quiet:
            body = json.dumps({"product_id": 1, "idempotency_key": key}).encode()
            return await quiet.post(
                "/api/v1/buyer/orders", content=body, headers=bearer(alice) | {"Content-Type": content_type}
            )

    assert client.portal is not None
    for key, content_type in (("e1", JSON), ("e2", ROUTE_JSON)):
        response = client.portal.call(quietly, key, content_type)
        assert (response.status_code, error_code(response)) == (500, "internal_error"), response.text
    with pytest.raises(RuntimeError, match="on fire"):  # and the error goes on up to the server
        post(client, alice, {"product_id": 1, "idempotency_key": "e3"})
    labels = {"method": "POST", "route": buy_path(), "status": "500"}
    assert app.state.registry.get_sample_value("liveloop_http_requests_total", labels) == 3


@pytest.mark.parametrize(
    ("authorization", "answer"),
    [
        ("Bearer {token}", (201, None)),  # the lane's
        ("bearer {token}", (201, None)),  # the route's, from here on
        ("Bearer   {token}  ", (201, None)),
        ("Bearer ", (401, "commerce.buyer_required")),
        ("Basic {token}", (401, "commerce.buyer_required")),
        ("{token}", (401, "commerce.buyer_required")),
    ],
)
def test_every_form_of_the_authorization_header_is_answered_as_the_route_answers_it(
    client: TestClient, shop: ShopKeys, authorization: str, answer: tuple[int, str | None]
) -> None:
    product = make_product(client, shop)
    token = viewer_token(client, shop, "alice")
    response = client.post(
        "/api/v1/buyer/orders",
        json={"product_id": product["id"], "idempotency_key": "auth-form"},
        headers={"Authorization": authorization.format(token=token)},
    )
    code = None if response.status_code < 400 else error_code(response)
    assert (response.status_code, code) == answer, response.text
