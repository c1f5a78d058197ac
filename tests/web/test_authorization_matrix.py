"""Every route x every role x own vs another shop's ids: nothing crosses a shop or a role.

The table below must name every ``/api/v1`` route with the permission it needs; a new route
fails this test until it is added, so no route ships without an access decision.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from liveloop.settings import Settings
from liveloop.shops import Permission, Role
from liveloop.shops.model import ROLE_PERMISSIONS
from tests.conftest import ShopKeys, make_shop

ANY_STAFF = None


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The fake receivers listen on 127.0.0.1, so this module allows private notify hosts
    (the guard itself: tests/shops/test_notify_guard.py)."""
    return settings.model_copy(update={"notify_allow_private_hosts": True})


@dataclass(frozen=True)
class Resources:
    """One shop's rows that path parameters and bodies point at."""

    staff_id: int
    api_key_id: int
    product_id: int
    room_id: int
    show_id: int
    marker: str
    seat_request_id: int = 0
    flash_sale_id: int = 0
    order_id: int = 0
    poll_id: int = 0
    question_id: int = 0
    packet_id: int = 2**52  # red packets and lotteries are not seeded yet: ids no shop has
    lottery_id: int = 2**52
    coupon_template_id: int = 2**52
    coupon_drop_id: int = 2**52
    notify_target_id: int = 2**52

    def path(self, template: str) -> str:
        values = {
            "staff_id": self.staff_id,
            "api_key_id": self.api_key_id,
            "product_id": self.product_id,
            "room_id": self.room_id,
            "show_id": self.show_id,
            "action": "start",
            "viewer_id": "u:troll",
            "request_id": self.seat_request_id,
            "sale_id": self.flash_sale_id,
            "order_id": self.order_id,
            "provider": "simulated",
            "poll_id": self.poll_id,
            "question_id": self.question_id,
            "packet_id": self.packet_id,
            "lottery_id": self.lottery_id,
            "template_id": self.coupon_template_id,
            "drop_id": self.coupon_drop_id,
            "target_id": self.notify_target_id,
        }
        return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), template)


Body = Callable[[Resources], dict[str, Any]] | None


@dataclass(frozen=True)
class Rule:
    permission: Permission | None
    body: Body = None
    refers_to_rows: bool = False  # the body names rows by id (so another shop's ids apply)
    viewer_token: bool = False  # takes a viewer token, not a staff key (tests/rooms/test_cohost.py)


def _show_body(r: Resources) -> dict[str, Any]:
    return {
        "room_id": r.room_id,
        "title": "t",
        "planned_start": "2026-12-01T12:00:00Z",
        "planned_end": "2026-12-01T13:00:00Z",
    }


P = Permission
RULES: dict[str, Rule] = {
    "GET /api/v1/me": Rule(ANY_STAFF),
    "GET /api/v1/shop": Rule(ANY_STAFF),
    "PATCH /api/v1/shop": Rule(P.SHOP_MANAGE, lambda r: {"name": "renamed"}),
    "POST /api/v1/shop/rotate-viewer-key": Rule(P.SHOP_MANAGE),
    "GET /api/v1/staff": Rule(P.STAFF_MANAGE),
    "POST /api/v1/staff": Rule(P.STAFF_MANAGE, lambda r: {"name": "n", "role": "host"}),
    "GET /api/v1/staff/{staff_id}": Rule(P.STAFF_MANAGE),
    "PATCH /api/v1/staff/{staff_id}": Rule(P.STAFF_MANAGE, lambda r: {"name": "renamed"}),
    "POST /api/v1/staff/{staff_id}/api-keys": Rule(P.STAFF_MANAGE, lambda r: {}),
    "GET /api/v1/staff/{staff_id}/api-keys": Rule(P.STAFF_MANAGE),
    "DELETE /api/v1/api-keys/{api_key_id}": Rule(P.STAFF_MANAGE),
    "POST /api/v1/socket-tokens": Rule(ANY_STAFF),
    "POST /api/v1/viewer-tokens": Rule(P.VIEWER_TOKENS_ISSUE, lambda r: {"user_id": "u1"}),
    "GET /api/v1/products": Rule(P.CATALOG_READ),
    "POST /api/v1/products": Rule(
        P.CATALOG_WRITE, lambda r: {"sku": uuid.uuid4().hex[:12], "title": "t", "price_cents": 100}
    ),
    "GET /api/v1/products/{product_id}": Rule(P.CATALOG_READ),
    "PATCH /api/v1/products/{product_id}": Rule(P.CATALOG_WRITE, lambda r: {"stock": 5}),
    "DELETE /api/v1/products/{product_id}": Rule(P.CATALOG_WRITE),
    "GET /api/v1/rooms": Rule(P.ROOMS_READ),
    "POST /api/v1/rooms": Rule(P.ROOMS_WRITE, lambda r: {"name": "room"}),
    "GET /api/v1/rooms/{room_id}": Rule(P.ROOMS_READ),
    "PATCH /api/v1/rooms/{room_id}": Rule(P.ROOMS_WRITE, lambda r: {"description": "d"}),
    "GET /api/v1/shows": Rule(P.SHOWS_READ),
    "POST /api/v1/shows": Rule(P.SHOWS_WRITE, _show_body, refers_to_rows=True),
    "GET /api/v1/shows/{show_id}": Rule(P.SHOWS_READ),
    "PATCH /api/v1/shows/{show_id}": Rule(P.SHOWS_WRITE, lambda r: {"title": "t2"}),
    "POST /api/v1/shows/{show_id}/{action}": Rule(P.SHOWS_CONTROL),
    "GET /api/v1/shows/{show_id}/lineup": Rule(P.SHOWS_READ),
    "GET /api/v1/shows/{show_id}/metrics": Rule(P.ANALYTICS_READ),
    "GET /api/v1/shows/{show_id}/review": Rule(P.ANALYTICS_READ),
    "PUT /api/v1/shows/{show_id}/lineup": Rule(
        P.SHOWS_WRITE, lambda r: {"product_ids": [r.product_id]}, refers_to_rows=True
    ),
    "POST /api/v1/shows/{show_id}/lineup/items": Rule(
        P.SHOWS_WRITE, lambda r: {"product_id": r.product_id}, refers_to_rows=True
    ),
    "DELETE /api/v1/shows/{show_id}/lineup/items/{product_id}": Rule(P.SHOWS_WRITE),
    # Viewers (token or X-Device-Id) read it too: tests/rooms/test_showcase.py.
    "GET /api/v1/shows/{show_id}/showcase": Rule(P.SHOWS_READ),
    # Viewers (token or X-Device-Id) read it too: tests/web/test_live_tools.py.
    "GET /api/v1/rooms/{room_id}/live-tools": Rule(P.SHOWS_READ),
    "PUT /api/v1/shows/{show_id}/explaining": Rule(
        P.SHOWS_CONTROL, lambda r: {"product_id": r.product_id}, refers_to_rows=True
    ),
    "GET /api/v1/shows/{show_id}/explain-segments": Rule(P.SHOWS_READ),
    "POST /api/v1/shows/{show_id}/showcase/signals": Rule(
        None,
        lambda r: {"signals": [{"kind": "click", "product_id": r.product_id, "surface": "bag"}]},
        viewer_token=True,
    ),
    "GET /api/v1/rooms/{room_id}/live": Rule(P.ROOMS_READ),
    "GET /api/v1/rooms/{room_id}/alert-settings": Rule(P.ALERTS_MANAGE),
    "PUT /api/v1/rooms/{room_id}/alert-settings": Rule(P.ALERTS_MANAGE, lambda r: {"ccu_floor": 50}),
    "GET /api/v1/shows/{show_id}/alerts": Rule(P.ANALYTICS_READ),
    "GET /api/v1/notify-targets": Rule(P.ALERTS_MANAGE),
    "POST /api/v1/notify-targets": Rule(
        P.ALERTS_MANAGE, lambda r: {"kind": "webhook", "url": "http://127.0.0.1:9/hook"}
    ),
    # Sends to the seeded target, 127.0.0.1:9 (nothing listens): one try, answered as data.
    "POST /api/v1/notify-targets/{target_id}/test": Rule(P.ALERTS_MANAGE),
    "DELETE /api/v1/notify-targets/{target_id}": Rule(P.ALERTS_MANAGE),
    "PATCH /api/v1/notify-targets/{target_id}": Rule(P.ALERTS_MANAGE, lambda r: {"enabled": True}),
    "GET /api/v1/moderation/words": Rule(P.MODERATE),
    "POST /api/v1/moderation/words": Rule(P.ROOMS_WRITE, lambda r: {"words": ["傻瓜"]}),
    "DELETE /api/v1/moderation/words": Rule(P.ROOMS_WRITE, lambda r: {"words": ["傻瓜"]}),
    "GET /api/v1/moderation/settings": Rule(P.MODERATE),
    "PATCH /api/v1/moderation/settings": Rule(P.ROOMS_WRITE, lambda r: {"filter_mode": "block"}),
    "GET /api/v1/rooms/{room_id}/moderation": Rule(P.MODERATE),
    "PATCH /api/v1/rooms/{room_id}/moderation": Rule(P.MODERATE, lambda r: {"slow_mode_seconds": 3}),
    "GET /api/v1/rooms/{room_id}/bans": Rule(P.MODERATE),
    "POST /api/v1/rooms/{room_id}/bans": Rule(P.MODERATE, lambda r: {"viewer_id": f"u:{uuid.uuid4().hex}"}),
    "DELETE /api/v1/rooms/{room_id}/bans/{viewer_id}": Rule(P.MODERATE),
    "POST /api/v1/rooms/{room_id}/mutes": Rule(P.MODERATE, lambda r: {"viewer_id": "u:troll", "seconds": 60}),
    "POST /api/v1/rooms/{room_id}/polls": Rule(
        P.SHOWS_CONTROL, lambda r: {"question": "q", "options": [{"text": "a"}, {"text": "b"}]}
    ),
    "GET /api/v1/rooms/{room_id}/polls": Rule(P.SHOWS_READ),
    "GET /api/v1/polls/{poll_id}": Rule(P.SHOWS_READ),
    "POST /api/v1/polls/{poll_id}/open": Rule(P.SHOWS_CONTROL),
    "POST /api/v1/polls/{poll_id}/close": Rule(P.SHOWS_CONTROL),
    "GET /api/v1/rooms/{room_id}/questions": Rule(P.SHOWS_READ),
    "POST /api/v1/questions/{question_id}/pin": Rule(P.SHOWS_CONTROL),
    "POST /api/v1/questions/{question_id}/unpin": Rule(P.SHOWS_CONTROL),
    "POST /api/v1/questions/{question_id}/answer": Rule(P.SHOWS_CONTROL, lambda r: {"answer": "a"}),
    "POST /api/v1/questions/{question_id}/dismiss": Rule(P.MODERATE),
    "POST /api/v1/viewer/polls/{poll_id}/votes": Rule(None, lambda r: {"option": 0}, viewer_token=True),
    "POST /api/v1/viewer/rooms/{room_id}/questions": Rule(None, lambda r: {"text": "q"}, viewer_token=True),
    "POST /api/v1/viewer/questions/{question_id}/upvotes": Rule(None, viewer_token=True),
    "GET /api/v1/viewer/rooms/{room_id}/questions": Rule(None, viewer_token=True),
    "POST /api/v1/viewer/rooms/{room_id}/seat-requests": Rule(None, viewer_token=True),
    "GET /api/v1/viewer/rooms/{room_id}/seat-requests/mine": Rule(None, viewer_token=True),
    "DELETE /api/v1/viewer/rooms/{room_id}/seat-requests/mine": Rule(None, viewer_token=True),
    "GET /api/v1/viewer/rooms/{room_id}/rtc-token": Rule(None, viewer_token=True),
    "GET /api/v1/rooms/{room_id}/seat-requests": Rule(P.ROOMS_READ),
    "POST /api/v1/rooms/{room_id}/seat-requests/{request_id}/approve": Rule(P.SHOWS_CONTROL),
    "POST /api/v1/rooms/{room_id}/seat-requests/{request_id}/reject": Rule(P.SHOWS_CONTROL),
    "POST /api/v1/rooms/{room_id}/seat-requests/{request_id}/end": Rule(P.SHOWS_CONTROL),
    "GET /api/v1/rooms/{room_id}/rtc-token": Rule(P.ROOMS_READ),
    "GET /api/v1/rooms/{room_id}/cohost": Rule(P.ROOMS_READ),
    "PATCH /api/v1/rooms/{room_id}/cohost": Rule(P.ROOMS_WRITE, lambda r: {"max_seats": 2}),
    "GET /api/v1/rtc-config": Rule(P.SHOP_MANAGE),
    "PUT /api/v1/rtc-config": Rule(
        P.SHOP_MANAGE,
        lambda r: {"provider": "agora", "agora_app_id": "a" * 32, "agora_app_certificate": "c" * 32},
    ),
    "GET /api/v1/flash-sales": Rule(P.CATALOG_READ),
    "POST /api/v1/flash-sales": Rule(
        P.CATALOG_WRITE,
        lambda r: {"product_id": r.product_id, "price_cents": 100, "stock": 5, "duration_seconds": 600},
        refers_to_rows=True,
    ),
    "GET /api/v1/flash-sales/{sale_id}": Rule(P.CATALOG_READ),
    "POST /api/v1/flash-sales/{sale_id}/start": Rule(P.SHOWS_CONTROL),
    "POST /api/v1/flash-sales/{sale_id}/end": Rule(P.SHOWS_CONTROL),
    "GET /api/v1/orders": Rule(P.CATALOG_READ),
    "GET /api/v1/orders/{order_id}": Rule(P.CATALOG_READ),
    "POST /api/v1/orders/{order_id}/refund": Rule(P.CATALOG_WRITE),
    "POST /api/v1/payments/secret/rotate": Rule(P.SHOP_MANAGE),
    "POST /api/v1/buyer/orders": Rule(
        None,
        lambda r: {"flash_sale_id": r.flash_sale_id, "idempotency_key": uuid.uuid4().hex},
        viewer_token=True,
    ),
    "GET /api/v1/buyer/orders/{order_id}": Rule(None, viewer_token=True),
    "POST /api/v1/buyer/orders/{order_id}/cancel": Rule(None, viewer_token=True),
    # Signed by the payment provider (HMAC), not a staff key: tests/commerce/test_payments_api.py.
    "POST /api/v1/payments/notify/{provider}": Rule(
        None,
        lambda r: {
            "shop_id": 1,
            "order_id": r.order_id,
            "provider_ref": "r",
            "status": "succeeded",
            "amount_cents": 1,
        },
        viewer_token=True,
    ),
    "POST /api/v1/rooms/{room_id}/red-packets": Rule(
        P.SHOWS_CONTROL, lambda r: {"total_cents": 888, "count": 8}
    ),
    "GET /api/v1/rooms/{room_id}/red-packets": Rule(P.SHOWS_READ),
    "GET /api/v1/red-packets/{packet_id}": Rule(P.SHOWS_READ),
    "POST /api/v1/rooms/{room_id}/lotteries": Rule(
        P.SHOWS_CONTROL, lambda r: {"prize": "p", "winners_count": 1, "rules": [{"kind": "follow"}]}
    ),
    "GET /api/v1/rooms/{room_id}/lotteries": Rule(P.SHOWS_READ),
    "GET /api/v1/lotteries/{lottery_id}": Rule(P.SHOWS_READ),
    "POST /api/v1/lotteries/{lottery_id}/draw": Rule(P.SHOWS_CONTROL),
    "POST /api/v1/lotteries/{lottery_id}/cancel": Rule(P.SHOWS_CONTROL),
    "GET /api/v1/lotteries/{lottery_id}/proof": Rule(P.SHOWS_READ),
    "POST /api/v1/viewer/red-packets/{packet_id}/grab": Rule(None, viewer_token=True),
    "POST /api/v1/viewer/lotteries/{lottery_id}/entries": Rule(None, viewer_token=True),
    "GET /api/v1/coupon-templates": Rule(P.CATALOG_READ),
    "POST /api/v1/coupon-templates": Rule(
        P.CATALOG_WRITE,
        lambda r: {
            "name": "t",
            "kind": "amount_off",
            "amount_off_cents": 100,
            "valid_days": 7,
            "total_quantity": 10,
            "product_id": r.product_id,
        },
        refers_to_rows=True,
    ),
    "GET /api/v1/coupon-templates/{template_id}": Rule(P.CATALOG_READ),
    "POST /api/v1/rooms/{room_id}/coupon-drops": Rule(
        P.SHOWS_CONTROL,
        lambda r: {"template_id": r.coupon_template_id, "quantity": 1, "window_seconds": 60},
        refers_to_rows=True,
    ),
    "GET /api/v1/rooms/{room_id}/coupon-drops": Rule(P.SHOWS_READ),
    "GET /api/v1/coupon-drops/{drop_id}": Rule(P.SHOWS_READ),
    "POST /api/v1/coupon-templates/{template_id}/disable": Rule(P.CATALOG_WRITE),
    "POST /api/v1/coupon-drops/{drop_id}/claim": Rule(None, viewer_token=True),
    "GET /api/v1/buyer/coupons": Rule(None, viewer_token=True),
}


def api_routes(client: TestClient) -> set[str]:
    paths: dict[str, dict[str, Any]] = client.get("/openapi.json").json()["paths"]
    return {
        f"{method.upper()} {path}"
        for path, ops in paths.items()
        if path.startswith("/api/")
        for method in ops
    }


def seed(client: TestClient, keys: ShopKeys) -> Resources:
    owner = keys.headers()
    marker = f"secret-{uuid.uuid4().hex[:10]}"
    staff = client.post("/api/v1/staff", json={"name": marker, "role": "host"}, headers=owner).json()
    key = client.post(f"/api/v1/staff/{staff['id']}/api-keys", json={"label": marker}, headers=owner).json()
    product = client.post(
        "/api/v1/products", json={"sku": marker, "title": marker, "price_cents": 990}, headers=owner
    ).json()
    room = client.post("/api/v1/rooms", json={"name": marker}, headers=owner).json()
    show = client.post(
        "/api/v1/shows",
        json=_show_body(Resources(0, 0, 0, room["id"], 0, marker)) | {"title": marker},
        headers=owner,
    ).json()
    client.put(f"/api/v1/shows/{show['id']}/lineup", json={"product_ids": [product["id"]]}, headers=owner)
    viewer = client.post("/api/v1/viewer-tokens", json={"user_id": "guest"}, headers=owner).json()["token"]
    seat = client.post(
        f"/api/v1/viewer/rooms/{room['id']}/seat-requests", headers={"Authorization": f"Bearer {viewer}"}
    ).json()
    sale = client.post(
        "/api/v1/flash-sales",
        json={"product_id": product["id"], "price_cents": 99, "stock": 3, "duration_seconds": 3600},
        headers=owner,
    ).json()
    order = client.post(
        "/api/v1/buyer/orders",
        json={"flash_sale_id": sale["id"], "idempotency_key": marker},
        headers={"Authorization": f"Bearer {viewer}"},
    ).json()
    poll = client.post(
        f"/api/v1/rooms/{room['id']}/polls",
        json={"question": marker, "options": [{"text": "a"}, {"text": "b"}]},
        headers=owner,
    ).json()
    question = client.post(
        f"/api/v1/viewer/rooms/{room['id']}/questions",
        json={"text": marker},
        headers={"Authorization": f"Bearer {viewer}"},
    ).json()
    target = client.post(
        "/api/v1/notify-targets", json={"kind": "webhook", "url": "http://127.0.0.1:9/hook"}, headers=owner
    ).json()
    coupons = client.post(
        "/api/v1/coupon-templates",
        json={
            "name": marker,
            "kind": "amount_off",
            "amount_off_cents": 100,
            "valid_days": 7,
            "total_quantity": 1000,
        },
        headers=owner,
    ).json()
    coupon_drop = client.post(
        f"/api/v1/rooms/{room['id']}/coupon-drops",
        json={"template_id": coupons["id"], "quantity": 5, "window_seconds": 600},
        headers=owner,
    ).json()
    return Resources(
        staff["id"],
        key["id"],
        product["id"],
        room["id"],
        show["id"],
        marker,
        seat["id"],
        sale["id"],
        order["id"],
        poll["id"],
        question["id"],
        coupon_template_id=coupons["id"],
        coupon_drop_id=coupon_drop["id"],
        notify_target_id=target["id"],
    )


def call(
    client: TestClient, route: str, res: Resources, headers: dict[str, str], body_from: Resources
) -> Any:
    method, template = route.split(" ", 1)
    rule = RULES[route]
    body = rule.body(body_from) if rule.body else None
    return client.request(method, res.path(template), json=body, headers=headers)


def test_every_route_has_an_access_rule(client: TestClient) -> None:
    assert api_routes(client) == set(RULES)


def test_no_route_crosses_a_role_or_a_shop(client: TestClient, shop: ShopKeys, other_shop: ShopKeys) -> None:
    mine, theirs = seed(client, shop), seed(client, other_shop)
    problems: list[str] = []
    for route, rule in RULES.items():
        has_rows = "{" in route or rule.refers_to_rows
        anonymous = call(client, route, mine, {}, mine)
        if anonymous.status_code != 401:
            problems.append(f"{route} without a key: {anonymous.status_code}")
        if rule.viewer_token:  # a staff key is no viewer token, whatever its role
            codes = {call(client, route, mine, shop.headers(role), mine).status_code for role in Role}
            if codes != {401}:
                problems.append(f"{route} with staff keys: {codes}")
            continue
        for role in Role:
            allowed = rule.permission is None or rule.permission in ROLE_PERMISSIONS[role]
            headers = shop.headers(role)
            if has_rows:
                foreign = call(client, route, theirs, headers, theirs)
                if foreign.status_code not in (403, 404) or theirs.marker in foreign.text:
                    problems.append(f"{route} as {role} on another shop's ids: {foreign.status_code}")
            own = call(client, route, mine, headers, mine)
            if not allowed and (
                own.status_code != 403 or own.json()["error"]["code"] != "auth.permission_denied"
            ):
                problems.append(f"{route} as {role} (not allowed): {own.status_code}")
            if allowed and (own.status_code in (401, 403) or own.status_code >= 500):
                problems.append(f"{route} as {role} (allowed): {own.status_code} {own.text[:200]}")
            if theirs.marker in own.text:
                problems.append(f"{route} as {role} leaked another shop's data")
    assert not problems, "\n".join(problems)

    # The other shop is exactly as it was: nothing of it was changed through our keys.
    owner = other_shop.headers()
    assert client.get(f"/api/v1/products/{theirs.product_id}", headers=owner).json()["stock"] == 0
    assert client.get(f"/api/v1/products/{theirs.product_id}", headers=owner).json()["archived"] is False
    show = client.get(f"/api/v1/shows/{theirs.show_id}", headers=owner).json()
    assert (show["state"], show["title"]) == ("scheduled", theirs.marker)
    lineup = client.get(f"/api/v1/shows/{theirs.show_id}/lineup", headers=owner).json()["items"]
    assert [i["product"]["id"] for i in lineup] == [theirs.product_id]
    keys = client.get(f"/api/v1/staff/{theirs.staff_id}/api-keys", headers=owner).json()
    assert [k["revoked_at"] for k in keys] == [None]
    assert client.get("/api/v1/shop", headers=owner).json()["name"] == "Other Shop"
    assert client.get(f"/api/v1/rooms/{theirs.room_id}", headers=owner).json()["description"] == ""
    assert client.get(f"/api/v1/polls/{theirs.poll_id}", headers=owner).json()["state"] == "draft"
    questions = client.get(f"/api/v1/rooms/{theirs.room_id}/questions", headers=owner).json()["open"]
    assert [(q["state"], q["pinned"], q["votes"]) for q in questions] == [("open", False, 0)]
    seats = client.get(f"/api/v1/rooms/{theirs.room_id}/seat-requests", headers=owner).json()["items"]
    assert [s["state"] for s in seats] == ["requested"]
    assert client.get("/api/v1/rtc-config", headers=owner).json()["provider"] is None
    sale = client.get(f"/api/v1/flash-sales/{theirs.flash_sale_id}", headers=owner).json()
    assert (sale["state"], sale["quantity_allocated"]) == ("active", 1)
    order = client.get(f"/api/v1/orders/{theirs.order_id}", headers=owner).json()
    assert order["state"] in ("created", "paid")  # the simulated provider may have paid it meanwhile
    coupons = client.get(f"/api/v1/coupon-templates/{theirs.coupon_template_id}", headers=owner).json()
    assert (coupons["disabled"], coupons["quantity_issued"]) == (False, 0)
    assert client.get(f"/api/v1/coupon-drops/{theirs.coupon_drop_id}", headers=owner).json()["claimed"] == 0
    targets = client.get("/api/v1/notify-targets", headers=owner).json()
    assert [t["id"] for t in targets] == [theirs.notify_target_id]
    alerting = client.get(f"/api/v1/rooms/{theirs.room_id}/alert-settings", headers=owner).json()
    assert alerting["ccu_floor"] == 100


def test_shop_fixture_factory_is_isolated(client: TestClient) -> None:
    a, b = make_shop(client, "A"), make_shop(client, "B")
    assert a.shop_id != b.shop_id
    assert client.get("/api/v1/me", headers=a.headers()).json()["shop"]["id"] == a.shop_id
