"""Flash-sale start/end events (by hand, by countdown, by time running out), and coupon drops and
flash sales reaching the live room's sockets as priority items."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from liveloop.commerce import SALE_EVENT_TYPES, OrderSweeper
from liveloop.commerce.flash_sales import do_end_due_sales
from liveloop.core.db import utcnow
from liveloop.shops import Role
from tests.commerce.conftest import EventLog, buy, commerce_of, make_sale, viewer_token
from tests.commerce.coupons_support import drop, make_template, start_show
from tests.conftest import ShopKeys, created, run_in_app
from tests.realtime.conftest import LiveRoom, has_item, items_of, joined, live_room, until

__all__ = ["live_room"]  # the socket tests' fixture, used here


def sale_events(event_log: EventLog, sale_id: int) -> list[Any]:
    return [e for e in event_log.events if e.type in SALE_EVENT_TYPES and e.data["sale_id"] == sale_id]


def test_a_sale_announces_its_window_and_its_end(
    client: TestClient, shop: ShopKeys, event_log: EventLog
) -> None:
    room = created(client.post("/api/v1/rooms", json={"name": "r"}, headers=shop.headers()))
    show_id = start_show(client, shop, room["id"])
    sale = make_sale(client, shop, show_id=show_id, starts_in_seconds=600, duration_seconds=60, stock=7)
    event_log.wait(lambda _: len(sale_events(event_log, sale["id"])) == 1)
    announced = sale_events(event_log, sale["id"])[0]
    assert announced.type == "flash_sale.started"
    assert (announced.room_id, announced.show_id, announced.shop_id) == (room["id"], show_id, shop.shop_id)
    assert announced.actor is not None
    assert announced.actor.startswith("staff:")
    data = announced.data
    assert (data["product_id"], data["price_cents"], data["stock"], data["per_user_limit"]) == (
        sale["product_id"],
        1990,
        7,
        1,
    )
    assert datetime.fromisoformat(data["starts_at"]) == datetime.fromisoformat(sale["starts_at"])
    assert datetime.fromisoformat(data["ends_at"]) == datetime.fromisoformat(sale["ends_at"])

    started = client.post(f"/api/v1/flash-sales/{sale['id']}/start", headers=shop.headers(Role.HOST)).json()
    created(buy(client, viewer_token(client, shop, "alice"), flash_sale_id=sale["id"]))
    client.post(f"/api/v1/flash-sales/{sale['id']}/end", headers=shop.headers(Role.HOST))
    event_log.wait(lambda _: len(sale_events(event_log, sale["id"])) == 3)
    _, opened, ended = sale_events(event_log, sale["id"])
    assert opened.type == "flash_sale.started"
    assert datetime.fromisoformat(opened.data["starts_at"]) == datetime.fromisoformat(started["starts_at"])
    assert ended.type == "flash_sale.ended"
    assert ended.data == {"sale_id": sale["id"], "product_id": sale["product_id"], "sold": 1}
    assert (ended.room_id, ended.show_id) == (room["id"], show_id)
    # Ended by hand, so time running out later ends nothing twice.
    later = utcnow() + timedelta(hours=2)
    assert run_in_app(client, lambda c: do_end_due_sales(c.db, now=later, events=c.events)) == []


def test_a_sale_whose_time_ran_out_is_ended_once(
    client: TestClient, shop: ShopKeys, event_log: EventLog
) -> None:
    sale = make_sale(client, shop, duration_seconds=60)
    other = make_sale(client, shop, duration_seconds=3600)
    at = datetime.fromisoformat(sale["ends_at"])
    assert run_in_app(client, lambda c: do_end_due_sales(c.db, now=at - timedelta(seconds=1))) == []
    ended = run_in_app(client, lambda c: do_end_due_sales(c.db, now=at, events=c.events))
    assert [row.id for row in ended] == [sale["id"]]
    assert run_in_app(client, lambda c: do_end_due_sales(c.db, now=at, events=c.events)) == []
    event_log.wait(lambda _: any(e.type == "flash_sale.ended" for e in event_log.events))
    (event,) = [e for e in event_log.events if e.type == "flash_sale.ended"]
    assert event.data == {"sale_id": sale["id"], "product_id": sale["product_id"], "sold": 0}
    assert (event.room_id, event.show_id, event.actor) == (None, None, None)  # no show: no room
    assert (
        client.get(f"/api/v1/flash-sales/{other['id']}", headers=shop.headers()).json()["state"] == "active"
    )


def test_the_order_sweeper_ends_sales_too(client: TestClient, shop: ShopKeys, event_log: EventLog) -> None:
    sale = make_sale(client, shop, duration_seconds=1)
    sweeper = OrderSweeper(commerce_of(client), interval=60)
    deadline = datetime.fromisoformat(sale["ends_at"])
    event_log.wait(lambda _: utcnow() >= deadline)  # let the sale's second pass
    run_in_app(client, lambda _c: sweeper.sweep_once())
    event_log.wait(lambda evs: any(e.type == "flash_sale.ended" for e in evs))
    assert client.get(f"/api/v1/flash-sales/{sale['id']}", headers=shop.headers()).json()["state"] == "ended"


def test_drops_and_sales_reach_the_room_as_priority_items(live_room: LiveRoom) -> None:
    client, shop = live_room.client, live_room.shop
    show_id = start_show(client, shop, live_room.room_id)
    template = make_template(
        client, shop, name="满200减30", kind="threshold", threshold_cents=20000, amount_off_cents=3000
    )
    with live_room.connect(token=live_room.token("v1")) as ws:
        joined(ws)
        dropped = created(drop(client, shop, live_room.room_id, template["id"], quantity=20))
        tick = until(ws, has_item("coupon_dropped", drop_id=dropped["id"]))
        item = next(i for i in items_of(tick) if i["data"]["type"] == "coupon_dropped")
        assert item["lane"] == "priority"
        assert item["data"] | {"expires_at": None} == {
            "type": "coupon_dropped",
            "drop_id": dropped["id"],
            "template_id": template["id"],
            "name": "满200减30",
            "kind": "threshold",
            "quantity": 20,
            "expires_at": None,
            "amount_off_cents": 3000,
            "percent": None,
            "max_discount_cents": None,
            "threshold_cents": 20000,
            "product_id": None,
        }
        sale = make_sale(client, shop, show_id=show_id, stock=5)
        tick = until(ws, has_item("flash_sale_started", sale_id=sale["id"], stock=5, price_cents=1990))
        assert (
            next(i for i in items_of(tick) if i["data"]["type"] == "flash_sale_started")["lane"] == "priority"
        )
        client.post(f"/api/v1/flash-sales/{sale['id']}/end", headers=shop.headers(Role.HOST))
        until(ws, has_item("flash_sale_ended", sale_id=sale["id"], sold=0))
