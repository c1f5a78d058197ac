"""``GET /api/v1/rooms/{room_id}/live-tools``: what a late joiner (an app, a mini-program, the page)
learns of the tools opened before it came, and who may read it."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from starlette.testclient import TestClient

from liveloop.shops import Role
from tests.conftest import ShopKeys, created
from tests.presence import join

START = "2026-12-01T12:00:00Z"
END = "2026-12-01T14:00:00Z"


def live_room(client: TestClient, owner: dict[str, str], name: str = "晚到") -> tuple[int, int]:
    room = created(client.post("/api/v1/rooms", json={"name": name}, headers=owner))["id"]
    body = {"room_id": room, "title": "专场", "planned_start": START, "planned_end": END}
    show = created(client.post("/api/v1/shows", json=body, headers=owner))["id"]
    assert client.post(f"/api/v1/shows/{show}/start", headers=owner).status_code == 200
    return room, show


def product(client: TestClient, owner: dict[str, str], title: str, price_cents: int) -> dict[str, Any]:
    body = {"sku": uuid.uuid4().hex[:12], "title": title, "price_cents": price_cents, "stock": 50}
    return created(client.post("/api/v1/products", json=body, headers=owner))


def coupon_template(client: TestClient, owner: dict[str, str], **terms: Any) -> dict[str, Any]:
    body = {"name": "直播间专享券", "valid_days": 7, "total_quantity": 100} | (
        terms or {"kind": "amount_off", "amount_off_cents": 2000}
    )
    return created(client.post("/api/v1/coupon-templates", json=body, headers=owner))


def viewer_token(client: TestClient, owner: dict[str, str], user_id: str) -> dict[str, str]:
    token = created(client.post("/api/v1/viewer-tokens", json={"user_id": user_id}, headers=owner))["token"]
    return {"Authorization": f"Bearer {token}"}


def test_a_late_joiner_sees_the_flash_sale_and_the_coupon_drop_opened_before(
    client: TestClient, shop: ShopKeys
) -> None:
    owner = shop.headers()
    room, show = live_room(client, owner)
    lipstick = product(client, owner, "丝绒雾面口红", 8900)
    sale_body = {
        "product_id": lipstick["id"],
        "show_id": show,
        "price_cents": 990,
        "stock": 5,
        "per_user_limit": 2,
        "duration_seconds": 600,
    }
    sale = created(client.post("/api/v1/flash-sales", json=sale_body, headers=owner))
    template = coupon_template(client, owner, kind="threshold", amount_off_cents=3000, threshold_cents=20000)
    drop_body = {"template_id": template["id"], "quantity": 10, "window_seconds": 600}
    drop = created(client.post(f"/api/v1/rooms/{room}/coupon-drops", json=drop_body, headers=owner))
    buyer = viewer_token(client, owner, "early-bird")
    join(client, room, buyer)
    order = {"flash_sale_id": sale["id"], "quantity": 2, "idempotency_key": "k-1"}
    assert client.post("/api/v1/buyer/orders", json=order, headers=buyer).status_code == 201
    assert client.post(f"/api/v1/coupon-drops/{drop['id']}/claim", headers=buyer).status_code == 201

    late = viewer_token(client, owner, "late-comer")
    answer = client.get(f"/api/v1/rooms/{room}/live-tools", headers=late)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["room_id"], body["show_id"]) == (room, show)
    [flash] = body["flash_sales"]
    assert flash == {
        "type": "flash_sale_started",
        "sale_id": sale["id"],
        "product_id": lipstick["id"],
        "name": "丝绒雾面口红",
        "price_cents": 990,
        "stock": 5,
        "stock_left": 3,
        "per_user_limit": 2,
        "starts_at": flash["starts_at"],
        "ends_at": flash["ends_at"],
        "state": "active",
    }
    assert flash["ends_at"].startswith(sale["ends_at"][:19])
    [coupons] = body["coupon_drops"]
    assert coupons == {
        "type": "coupon_dropped",
        "drop_id": drop["id"],
        "template_id": template["id"],
        "name": "直播间专享券",
        "kind": "threshold",
        "quantity": 10,
        "claimed": 1,
        "left": 9,
        "expires_at": coupons["expires_at"],
        "amount_off_cents": 3000,
        "percent": None,
        "max_discount_cents": None,
        "threshold_cents": 20000,
        "product_id": None,
    }
    assert coupons["expires_at"].startswith(drop["expires_at"][:19])
    assert (body["polls"], body["red_packets"], body["lottery"], body["explaining"]) == ([], [], None, None)

    # A guest (device id) and staff read the same state.
    guest = client.get(f"/api/v1/rooms/{room}/live-tools", headers={"X-Device-Id": "phone-1"})
    assert guest.status_code == 200
    assert guest.json() == body
    host = client.get(f"/api/v1/rooms/{room}/live-tools", headers=shop.headers(Role.MODERATOR))
    assert host.json() == body

    # The page renders the same items into its config.
    page = client.get(f"/live/{room}")
    config = json.loads(re.search(r'id="live-config">(.*?)</script>', page.text, re.S).group(1))  # type: ignore[union-attr]
    assert config["live"]["flash_sales"] == body["flash_sales"]
    assert config["live"]["coupon_drops"] == body["coupon_drops"]


def test_every_open_tool_is_listed_without_its_secrets(client: TestClient, shop: ShopKeys) -> None:
    owner = shop.headers()
    room, show = live_room(client, owner)
    lipstick = product(client, owner, "口红", 8900)
    lineup = client.put(f"/api/v1/shows/{show}/lineup", json={"product_ids": [lipstick["id"]]}, headers=owner)
    assert lineup.status_code == 200
    pinned = client.put(
        f"/api/v1/shows/{show}/explaining", json={"product_id": lipstick["id"]}, headers=owner
    )
    assert pinned.status_code == 200
    poll_body = {"question": "选哪个？", "options": [{"text": "A"}, {"text": "B"}]}
    poll = created(client.post(f"/api/v1/rooms/{room}/polls", json=poll_body, headers=owner))
    assert client.post(f"/api/v1/polls/{poll['id']}/open", headers=owner).status_code == 200
    voter = viewer_token(client, owner, "voter")
    vote = client.post(f"/api/v1/viewer/polls/{poll['id']}/votes", json={"option": 1}, headers=voter)
    assert vote.status_code == 201
    packet_body = {"total_cents": 500, "count": 5}
    packet = created(client.post(f"/api/v1/rooms/{room}/red-packets", json=packet_body, headers=owner))
    lottery_body = {"prize": "面膜", "winners_count": 3, "duration_seconds": 600}
    lottery = created(client.post(f"/api/v1/rooms/{room}/lotteries", json=lottery_body, headers=owner))

    answer = client.get(f"/api/v1/rooms/{room}/live-tools", headers={"X-Device-Id": "tablet"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(p["type"], p["poll_id"], p["counts"], p["total"]) for p in body["polls"]] == [
        ("poll_opened", poll["id"], [0, 1], 1)
    ]
    assert [(r["type"], r["packet_id"], r["count"], r["grabbed_count"]) for r in body["red_packets"]] == [
        ("red_packet", packet["id"], 5, 0)
    ]
    assert (body["lottery"]["type"], body["lottery"]["lottery_id"], body["lottery"]["seed_hash"]) == (
        "lottery_opened",
        lottery["id"],
        lottery["seed_hash"],
    )
    assert "seed" not in body["lottery"]
    assert set(body["red_packets"][0]) == {
        "type",
        "packet_id",
        "total_cents",
        "count",
        "opens_at",
        "expires_at",
        "grabbed_count",
    }
    explaining = body["explaining"]
    assert (explaining["type"], explaining["product_id"], explaining["name"]) == (
        "explaining",
        lipstick["id"],
        "口红",
    )


def test_closed_tools_are_not_listed(client: TestClient, shop: ShopKeys) -> None:
    owner = shop.headers()
    room, show = live_room(client, owner)
    item = product(client, owner, "眼影", 12900)
    sale_body = {
        "product_id": item["id"],
        "show_id": show,
        "price_cents": 990,
        "stock": 5,
        "duration_seconds": 600,
    }
    ended = created(client.post("/api/v1/flash-sales", json=sale_body, headers=owner))
    running = created(client.post("/api/v1/flash-sales", json=sale_body, headers=owner))
    assert client.post(f"/api/v1/flash-sales/{ended['id']}/end", headers=owner).status_code == 200
    template = coupon_template(client, owner)
    drop_body = {"template_id": template["id"], "quantity": 1, "window_seconds": 600}
    used_up = created(client.post(f"/api/v1/rooms/{room}/coupon-drops", json=drop_body, headers=owner))
    buyer = viewer_token(client, owner, "fast")
    join(client, room, buyer)
    assert client.post(f"/api/v1/coupon-drops/{used_up['id']}/claim", headers=buyer).status_code == 201
    disabled = coupon_template(client, owner)
    drop_body = {"template_id": disabled["id"], "quantity": 5, "window_seconds": 600}
    created(client.post(f"/api/v1/rooms/{room}/coupon-drops", json=drop_body, headers=owner))
    assert client.post(f"/api/v1/coupon-templates/{disabled['id']}/disable", headers=owner).status_code == 200
    poll_body = {"question": "Q", "options": [{"text": "A"}, {"text": "B"}]}
    poll = created(client.post(f"/api/v1/rooms/{room}/polls", json=poll_body, headers=owner))
    assert client.post(f"/api/v1/polls/{poll['id']}/open", headers=owner).status_code == 200
    assert client.post(f"/api/v1/polls/{poll['id']}/close", headers=owner).status_code == 200

    body = client.get(f"/api/v1/rooms/{room}/live-tools", headers=owner).json()
    assert [s["sale_id"] for s in body["flash_sales"]] == [running["id"]]
    assert body["coupon_drops"] == []
    assert body["polls"] == []

    # The show ends: its sales are no longer the room's, and nothing is explained.
    assert client.post(f"/api/v1/shows/{show}/end", headers=owner).status_code == 200
    body = client.get(f"/api/v1/rooms/{room}/live-tools", headers=owner).json()
    assert (body["show_id"], body["flash_sales"], body["explaining"]) == (None, [], None)


def test_another_shops_room_is_not_found(client: TestClient, shop: ShopKeys, other_shop: ShopKeys) -> None:
    theirs, _ = live_room(client, other_shop.headers(), "别家")
    mine = viewer_token(client, shop.headers(), "mine")
    for headers in (mine, shop.headers(), shop.headers(Role.MODERATOR)):
        answer = client.get(f"/api/v1/rooms/{theirs}/live-tools", headers=headers)
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"]["code"] == "rooms.room_not_found"
    unknown = client.get("/api/v1/rooms/999999/live-tools", headers={"X-Device-Id": "d1"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "rooms.room_not_found"


def test_a_credential_is_required(client: TestClient, shop: ShopKeys) -> None:
    room, _ = live_room(client, shop.headers())
    answer = client.get(f"/api/v1/rooms/{room}/live-tools")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "auth.missing_credentials"
    bad = client.get(f"/api/v1/rooms/{room}/live-tools", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401
    guest = client.get(f"/api/v1/rooms/{room}/live-tools", headers={"X-Device-Id": "x" * 65})
    assert guest.status_code == 422
