"""Orders name their show, not their room: the bridge finds the room so "someone just bought" shows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.conftest import created
from tests.realtime.conftest import LiveRoom, has_item, joined, until
from tests.realtime.test_tool_frames import ok


def test_a_paid_order_of_the_live_show_reaches_its_room(live_room: LiveRoom) -> None:
    client, headers = live_room.client, live_room.shop.headers()
    now = datetime.now(UTC)
    show = created(
        client.post(
            "/api/v1/shows",
            json={
                "room_id": live_room.room_id,
                "title": "上新",
                "planned_start": now.isoformat(),
                "planned_end": (now + timedelta(hours=1)).isoformat(),
            },
            headers=headers,
        )
    )
    assert client.post(f"/api/v1/shows/{show['id']}/start", headers=headers).status_code == 200
    body = {"sku": uuid.uuid4().hex[:12], "title": "丝绒口红", "price_cents": 8900, "stock": 5}
    product = created(client.post("/api/v1/products", json=body, headers=headers))
    with (
        live_room.connect(token=live_room.token("ivy")) as buyer,
        live_room.connect(device_id="watcher-1") as watcher,
    ):
        joined(buyer)
        joined(watcher)
        frame = {"type": "buy", "product_id": product["id"], "quantity": 1, "idempotency_key": "k-1"}
        assert ok(buyer, "b1", **frame)["order"]["state"] == "created"
        # The simulated provider pays after ~2 s; the room then sees the sale, without the buyer's name.
        frame_seen = until(watcher, has_item("order_paid", product_id=product["id"]), limit=2000)
        item = next(i["data"] for i in frame_seen["items"] if i["data"]["type"] == "order_paid")
        assert item == {
            "type": "order_paid",
            "product_id": product["id"],
            "flash_sale_id": None,
            "quantity": 1,
        }
