"""GET /api/v1/shows/{id}/metrics over a real app: events on the bus show up within about a second."""

from __future__ import annotations

import time
from typing import Any

from starlette.testclient import TestClient

from liveloop.shops import Role
from tests.analytics.live_support import emit, start_show
from tests.conftest import ShopKeys, created


def metrics_when(client: TestClient, path: str, headers: dict[str, str], ready: Any) -> dict[str, Any]:
    """GET ``path`` until ``ready(body)`` (the flush runs every second); fail after 10 s."""
    deadline = time.monotonic() + 10
    while True:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if ready(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_metrics_of_a_live_show(client: TestClient, shop: ShopKeys, other_shop: ShopKeys) -> None:
    show = start_show(client, shop)
    entered = {"nickname": "n", "guest": False, "source": "share"}
    paid = {"order_id": 1, "buyer": "u:1", "product_id": 5, "flash_sale_id": None, "show_id": show["id"]}
    paid |= {"quantity": 1, "unit_price_cents": 9900, "amount_cents": 9900, "provider": "simulated"}
    emit(
        client,
        shop,
        show,
        [
            ("viewer.entered", "u:1", {"viewer_id": "u:1", **entered}),
            ("viewer.entered", "d:abc", {"viewer_id": "d:abc", **entered, "guest": True, "source": "search"}),
            ("comment.posted", "u:1", {"text": "好看", "masked": False, "offset": 1}),
            ("comment.posted", "d:abc", {"text": "多少钱", "masked": False, "offset": 2}),
            ("like.batched", "u:1", {"count": 30}),
            ("order.paid", "u:1", paid),
        ],
    )
    path = f"/api/v1/shows/{show['id']}/metrics"
    started = time.monotonic()
    body = metrics_when(client, path, shop.headers(Role.HOST), lambda b: b["totals"]["gmv_cents"] == 9900)
    assert time.monotonic() - started < 5
    t = body["totals"]
    assert (body["show_id"], body["status"]) == (show["id"], "live")
    assert (t["uv"], t["pv"], t["ccu"], t["comments"], t["likes"], t["commenting_uv"]) == (2, 2, 2, 2, 30, 2)
    assert t["sources"] == {"search": 1, "share": 1}
    assert t["gpm"] == {"value": 9900 / 2 * 1000, "numerator": 9900, "denominator": 2, "base": "pv"}
    assert t["ctr"] == {"value": None, "numerator": 0, "denominator": 0, "base": "exposure_uv"}
    assert body["minutes"]
    assert body["minutes"][0]["index"] == 0
    assert body["products"][0]["product_id"] == 5
    assert body["started_at"].endswith("Z")
    assert body["ended_at"] is None

    assert client.get(f"{path}?minutes=false", headers=shop.headers()).json()["minutes"] == []
    foreign = client.get(path, headers=other_shop.headers())
    assert foreign.status_code == 404
    assert foreign.json()["error"]["code"] == "rooms.show_not_found"
    assert client.get(path, headers=shop.headers(Role.MODERATOR)).status_code == 403
    assert client.get("/api/v1/shows/999999/metrics", headers=shop.headers()).status_code == 404
    assert client.get(f"{path}?minutes=maybe", headers=shop.headers()).status_code == 422

    ended = client.post(f"/api/v1/shows/{show['id']}/end", headers=shop.headers())
    assert ended.status_code == 200, ended.text
    body = metrics_when(client, path, shop.headers(), lambda b: b["status"] == "ended")
    assert (body["status"], body["totals"]["ccu"], body["totals"]["pv"]) == ("ended", 0, 2)
    assert body["ended_at"] is not None


def test_a_scheduled_show_has_empty_metrics(client: TestClient, shop: ShopKeys) -> None:
    room = created(client.post("/api/v1/rooms", json={"name": "r"}, headers=shop.headers()))
    show = created(
        client.post(
            "/api/v1/shows",
            json={
                "room_id": room["id"],
                "title": "t",
                "planned_start": "2026-12-01T12:00:00Z",
                "planned_end": "2026-12-01T13:00:00Z",
            },
            headers=shop.headers(),
        )
    )
    body = client.get(f"/api/v1/shows/{show['id']}/metrics", headers=shop.headers(Role.OPERATOR)).json()
    assert (body["status"], body["started_at"], body["duration_seconds"], body["minutes"]) == (
        "scheduled",
        None,
        0.0,
        [],
    )
    assert body["totals"]["acu"]["value"] is None
