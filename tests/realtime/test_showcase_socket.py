"""The showcase on the room socket: 讲解中 reaches every viewer, product frames become events."""

from __future__ import annotations

from typing import Any

from liveloop.shops import Role
from tests.realtime.conftest import LiveRoom, has_item, items_of, joined, typed, until
from tests.rooms.showcase_setup import Recorder, Stage, signal, stage


def _stage(live_room: LiveRoom) -> Stage:
    """A live show in the socket's room, selling two products."""
    return stage(live_room.client, live_room.shop, products=2, room_id=live_room.room_id)


def test_explaining_reaches_the_room_and_greets_late_joiners(live_room: LiveRoom) -> None:
    s = _stage(live_room)
    p1, p2 = s.products
    with live_room.connect(token=live_room.token("fan")) as fan:
        hello, _ = joined(fan)
        assert (hello["show_id"], hello["explaining"]) == (s.show_id, None)
        assert s.pin(p1["id"]).status_code == 200
        tick = until(fan, has_item("explaining", product_id=p1["id"]))
        item = next(i for i in items_of(tick) if i["data"]["type"] == "explaining")
        assert item["lane"] == "priority"
        assert item["data"] == {
            "type": "explaining",
            "show_id": s.show_id,
            "product_id": p1["id"],
            "previous_product_id": None,
            "name": p1["title"],
            "price_cents": p1["price_cents"],
            "image_url": p1["image_url"],
        }
        with live_room.connect(device_id="late-phone") as late:
            hello, _ = joined(late)
            assert hello["explaining"] == {
                "show_id": s.show_id,
                "product_id": p1["id"],
                "name": p1["title"],
                "price_cents": p1["price_cents"],
                "image_url": p1["image_url"],
            }
        s.pin(p2["id"], Role.OPERATOR)
        until(fan, has_item("explaining", product_id=p2["id"], previous_product_id=p1["id"]))
        s.client.post(f"{s.url}/end", headers=s.shop.headers(Role.HOST))
        seen: list[dict[str, Any]] = []

        def ended(frame: dict[str, Any]) -> bool:
            seen.extend(
                i["data"] for i in items_of(frame) if i["data"]["type"] in ("explaining", "show_ended")
            )
            return any(d["type"] == "show_ended" for d in seen)

        until(fan, ended)
        assert [(d["type"], d.get("product_id"), d.get("previous_product_id")) for d in seen][-2:] == [
            ("explaining", None, p2["id"]),
            ("show_ended", None, None),
        ]


def test_product_frames_become_events(live_room: LiveRoom) -> None:
    s = _stage(live_room)
    events = Recorder(s.client)
    p1, p2 = (p["id"] for p in s.products)
    with (
        live_room.connect(token=live_room.token("fan")) as fan,
        live_room.connect(device_id="phone-7") as guest,
    ):
        joined(fan)
        joined(guest)
        frames = [
            {"type": "product", "kind": "exposure", "product_id": p1, "surface": "card", "ref": "e1"},
            {"type": "product", "kind": "exposure", "product_id": p1, "surface": "bag", "ref": "e2"},
            {"type": "product", "kind": "click", "product_id": p1, "surface": "pinned", "ref": "c1"},
            {"type": "product", "kind": "add_to_cart", "product_id": p2, "surface": "bag", "quantity": 2},
        ]
        for frame in frames:
            fan.send_json(frame)
            assert until(fan, typed("ack"))["ref"] == frame.get("ref")
        guest.send_json({"type": "product", "kind": "exposure", "product_id": p1, "surface": "card"})
        until(guest, typed("ack"))

        fan.send_json(
            {"type": "product", "kind": "click", "product_id": 2**52, "surface": "card", "ref": "x"}
        )
        refused = until(fan, typed("error"))
        assert (refused["code"], refused["ref"], refused["details"]) == (
            "showcase.not_in_lineup",
            "x",
            {"product_ids": [2**52]},
        )
        fan.send_json({"type": "product", "kind": "share", "product_id": p1, "surface": "card", "ref": "y"})
        assert until(fan, typed("error"))["code"] == "protocol.invalid_frame"

    recorded = events.settled()
    assert [(e.type, e.actor, e.data["product_id"]) for e in recorded] == [
        ("product.exposed", "u:fan", p1),
        ("product.clicked", "u:fan", p1),
        ("cart.added", "u:fan", p2),
        ("product.exposed", "d:phone-7", p1),
    ]
    assert recorded[2].data["quantity"] == 2
    assert {(e.shop_id, e.room_id, e.show_id) for e in recorded} == {(s.shop.shop_id, s.room_id, s.show_id)}


def test_product_frames_need_a_live_show(live_room: LiveRoom) -> None:
    with live_room.connect(token=live_room.token("fan")) as fan:
        hello, _ = joined(fan)
        assert (hello["show_id"], hello["explaining"]) == (None, None)
        fan.send_json({"type": "product", "kind": "exposure", "product_id": 1, "surface": "card", "ref": "z"})
        refused = until(fan, typed("error"))
        assert (refused["code"], refused["ref"]) == ("showcase.show_not_live", "z")


def test_staff_signals_are_not_audience(live_room: LiveRoom) -> None:
    s = _stage(live_room)
    events = Recorder(s.client)
    with live_room.connect(token=live_room.staff_token(Role.HOST)) as host:
        joined(host)
        frame = {"type": "product", "kind": "exposure", "product_id": s.products[0]["id"], "surface": "card"}
        host.send_json(frame | {"ref": "h"})
        assert until(host, typed("ack"))["ref"] == "h"
    assert events.settled() == []


def test_a_signal_uses_the_rest_rules(live_room: LiveRoom) -> None:
    """A viewer's exposure over REST and then over the socket is still one exposure."""
    s = _stage(live_room)
    events = Recorder(s.client)
    p1 = s.products[0]["id"]
    token = live_room.token("fan")
    rest = s.signals({"Authorization": f"Bearer {token}"}, signal("exposure", p1))
    assert rest.json()["recorded"] == 1
    with live_room.connect(token=token) as fan:
        joined(fan)
        fan.send_json(
            {"type": "product", "kind": "exposure", "product_id": p1, "surface": "card", "ref": "a"}
        )
        until(fan, typed("ack"))
    assert [e.type for e in events.settled()] == ["product.exposed"]
