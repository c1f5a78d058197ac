"""Rooms, shows (the state machine) and line-ups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from liveloop.shops import Role
from tests.commerce.test_api import make_product
from tests.conftest import ShopKeys, created

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def make_room(client: TestClient, shop: ShopKeys, name: str = "官方直播间") -> dict[str, Any]:
    return created(client.post("/api/v1/rooms", json={"name": name}, headers=shop.headers()))


def make_show(client: TestClient, shop: ShopKeys, room_id: int, **overrides: Any) -> dict[str, Any]:
    body = {
        "room_id": room_id,
        "title": "双十二预热专场",
        "planned_start": START.isoformat(),
        "planned_end": (START + timedelta(hours=2)).isoformat(),
    } | overrides
    return created(client.post("/api/v1/shows", json=body, headers=shop.headers()))


def test_show_lifecycle(client: TestClient, shop: ShopKeys) -> None:
    show = make_show(client, shop, make_room(client, shop)["id"])
    assert show["state"] == "scheduled"
    url = f"/api/v1/shows/{show['id']}"
    ended = client.post(f"{url}/end", headers=shop.headers(Role.HOST))
    assert ended.status_code == 409
    assert ended.json()["error"]["code"] == "rooms.illegal_transition"
    assert "start" in ended.json()["error"]["message"]
    live = client.post(f"{url}/start", headers=shop.headers(Role.HOST)).json()
    assert live["state"] == "live"
    assert live["started_at"] is not None
    done = client.post(f"{url}/end", headers=shop.headers(Role.HOST)).json()
    assert done["state"] == "ended"
    assert done["ended_at"] is not None
    assert client.post(f"{url}/start", headers=shop.headers()).status_code == 409
    assert client.patch(url, json={"title": "x"}, headers=shop.headers()).json()["error"]["code"] == (
        "rooms.show_closed"
    )
    assert client.post(f"{url}/launch", headers=shop.headers()).status_code == 422


def test_one_live_show_per_room(client: TestClient, shop: ShopKeys) -> None:
    room = make_room(client, shop)
    first = make_show(client, shop, room["id"])
    second = make_show(client, shop, room["id"], title="第二场")
    assert client.post(f"/api/v1/shows/{first['id']}/start", headers=shop.headers()).status_code == 200
    busy = client.post(f"/api/v1/shows/{second['id']}/start", headers=shop.headers())
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "rooms.room_busy"
    other_room = make_show(client, shop, make_room(client, shop, "二号间")["id"])
    assert client.post(f"/api/v1/shows/{other_room['id']}/start", headers=shop.headers()).status_code == 200


def test_schedule_and_filters(client: TestClient, shop: ShopKeys) -> None:
    room = make_room(client, shop)
    backwards = client.post(
        "/api/v1/shows",
        json={
            "room_id": room["id"],
            "title": "t",
            "planned_start": START.isoformat(),
            "planned_end": (START - timedelta(hours=1)).isoformat(),
        },
        headers=shop.headers(),
    )
    assert backwards.json()["error"]["code"] == "rooms.invalid_schedule"
    naive = client.post(
        "/api/v1/shows",
        json={
            "room_id": room["id"],
            "title": "t",
            "planned_start": "2026-12-01T12:00:00",
            "planned_end": "x",
        },
        headers=shop.headers(),
    )
    assert naive.status_code == 422
    a = make_show(client, shop, room["id"])
    make_show(client, shop, room["id"], title="b")
    client.post(f"/api/v1/shows/{a['id']}/start", headers=shop.headers())
    live = client.get("/api/v1/shows", params={"state": "live"}, headers=shop.headers()).json()["items"]
    assert [s["id"] for s in live] == [a["id"]]
    assert (
        len(
            client.get("/api/v1/shows", params={"room_id": room["id"]}, headers=shop.headers()).json()[
                "items"
            ]
        )
        == 2
    )


def test_lineup_is_ordered_and_editable(client: TestClient, shop: ShopKeys, other_shop: ShopKeys) -> None:
    show = make_show(client, shop, make_room(client, shop)["id"])
    p1, p2, p3 = (make_product(client, shop, sku=f"S{i}", title=f"商品{i}")["id"] for i in range(3))
    url = f"/api/v1/shows/{show['id']}/lineup"
    put = client.put(url, json={"product_ids": [p3, p1]}, headers=shop.headers(Role.OPERATOR)).json()
    assert [i["product"]["id"] for i in put["items"]] == [p3, p1]
    added = client.post(f"{url}/items", json={"product_id": p2, "position": 0}, headers=shop.headers()).json()
    assert [i["product"]["id"] for i in added["items"]] == [p2, p3, p1]
    moved = client.post(f"{url}/items", json={"product_id": p2}, headers=shop.headers()).json()
    assert [i["product"]["id"] for i in moved["items"]] == [p3, p1, p2]
    assert client.delete(f"{url}/items/{p3}", headers=shop.headers()).status_code == 204
    assert [i["product"]["id"] for i in client.get(url, headers=shop.headers()).json()["items"]] == [p1, p2]
    dup = client.put(url, json={"product_ids": [p1, p1]}, headers=shop.headers())
    assert dup.json()["error"]["code"] == "rooms.invalid_lineup"
    foreign = make_product(client, other_shop, sku="F1")["id"]
    stolen = client.put(url, json={"product_ids": [p1, foreign]}, headers=shop.headers())
    assert stolen.status_code == 404
    assert [i["product"]["id"] for i in client.get(url, headers=shop.headers()).json()["items"]] == [p1, p2]
    assert client.put(url, json={"product_ids": [p1]}, headers=shop.headers(Role.HOST)).status_code == 403
