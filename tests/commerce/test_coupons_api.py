"""Coupons over HTTP: templates, drops into rooms, claims, a buyer's coupons, every refusal's code."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from liveloop.core.db import utcnow
from liveloop.shops import Role
from tests.commerce.conftest import EventLog, bearer, error_code, make_product, viewer_token
from tests.commerce.coupons_support import (
    claim,
    drop,
    expire_template,
    make_room,
    make_template,
    my_coupons,
    set_drop_expiry,
    start_show,
)
from tests.conftest import ShopKeys, created
from tests.presence import join


def test_templates_are_created_listed_read_and_disabled(client: TestClient, shop: ShopKeys) -> None:
    product = make_product(client, shop)
    amount = make_template(client, shop)
    percent = make_template(
        client, shop, kind="percent_off", amount_off_cents=None, percent=20, max_discount_cents=3000
    )
    until = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    threshold = make_template(
        client,
        shop,
        name="满200减30",
        kind="threshold",
        threshold_cents=20000,
        amount_off_cents=3000,
        valid_days=None,
        valid_until=until.isoformat(),
        product_id=product["id"],
        per_user_limit=2,
        total_quantity=50,
    )
    assert (amount["kind"], amount["amount_off_cents"], amount["valid_days"]) == ("amount_off", 500, 7)
    assert (percent["percent"], percent["max_discount_cents"], percent["amount_off_cents"]) == (
        20,
        3000,
        None,
    )
    assert (threshold["threshold_cents"], threshold["product_id"], threshold["per_user_limit"]) == (
        20000,
        product["id"],
        2,
    )
    assert datetime.fromisoformat(threshold["valid_until"]) == until
    assert threshold["valid_from"] is not None
    assert (threshold["quantity_issued"], threshold["remaining"], threshold["disabled"]) == (0, 50, False)

    host = shop.headers(Role.HOST)  # every staff role reads templates
    assert client.get(f"/api/v1/coupon-templates/{threshold['id']}", headers=host).json() == threshold
    first = client.get("/api/v1/coupon-templates?limit=2", headers=host).json()
    assert [t["id"] for t in first["items"]] == [amount["id"], percent["id"]]
    rest = client.get(f"/api/v1/coupon-templates?limit=2&cursor={first['next_cursor']}", headers=host).json()
    assert ([t["id"] for t in rest["items"]], rest["next_cursor"]) == ([threshold["id"]], None)

    disabled = client.post(
        f"/api/v1/coupon-templates/{percent['id']}/disable", headers=shop.headers(Role.OPERATOR)
    )
    assert (disabled.status_code, disabled.json()["disabled"]) == (200, True)
    again = client.post(f"/api/v1/coupon-templates/{percent['id']}/disable", headers=shop.headers())
    assert again.json()["disabled_at"] == disabled.json()["disabled_at"]  # disabling twice changes nothing
    enabled = client.get("/api/v1/coupon-templates?include_disabled=false", headers=host).json()["items"]
    assert [t["id"] for t in enabled] == [amount["id"], threshold["id"]]
    body = {"name": "x", "kind": "amount_off", "amount_off_cents": 1, "valid_days": 1, "total_quantity": 1}
    refused = client.post("/api/v1/coupon-templates", json=body, headers=host)
    assert (refused.status_code, error_code(refused)) == (403, "auth.permission_denied")


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"kind": "percent_off"}, "coupon.invalid"),  # amount_off_cents on a percent coupon, no percent
        ({"kind": "threshold"}, "coupon.invalid"),  # no threshold
        ({"kind": "threshold", "threshold_cents": 500}, "coupon.invalid"),  # takes off its whole threshold
        ({"max_discount_cents": 100}, "coupon.invalid"),  # a cap is for percentages
        ({"valid_days": None}, "coupon.invalid"),  # no validity at all
        ({"valid_until": "2030-01-01T00:00:00Z"}, "coupon.invalid"),  # two validities
        ({"valid_days": None, "valid_until": "2020-01-01T00:00:00Z"}, "coupon.invalid"),  # over already
        ({"kind": "percent_off", "amount_off_cents": None, "percent": 100}, "request.validation_error"),
        ({"amount_off_cents": 0}, "request.validation_error"),
        ({"amount_off_cents": -5}, "request.validation_error"),
        ({"total_quantity": 0}, "request.validation_error"),
        ({"per_user_limit": 0}, "request.validation_error"),
        ({"valid_days": 0}, "request.validation_error"),
        ({"kind": "cashback"}, "request.validation_error"),
        ({"name": ""}, "request.validation_error"),
        ({"valid_days": None, "valid_until": "2030-01-01T00:00:00"}, "request.validation_error"),  # naive
        ({"product_id": 2**52}, "commerce.product_not_found"),
        ({"surprise": 1}, "request.validation_error"),
    ],
)
def test_bad_templates_are_refused(
    client: TestClient, shop: ShopKeys, fields: dict[str, Any], code: str
) -> None:
    body = {"name": "t", "kind": "amount_off", "amount_off_cents": 500, "valid_days": 7, "total_quantity": 10}
    response = client.post("/api/v1/coupon-templates", json=body | fields, headers=shop.headers())
    assert error_code(response) == code, response.text
    assert response.status_code in (404, 422)
    assert client.get("/api/v1/coupon-templates", headers=shop.headers()).json()["items"] == []


def test_drop_claim_and_list_with_events(client: TestClient, shop: ShopKeys, event_log: EventLog) -> None:
    template = make_template(client, shop, name="新人券")
    room_id = make_room(client, shop)
    show_id = start_show(client, shop, room_id)
    dropped = drop(client, shop, room_id, template["id"], quantity=2, window_seconds=30)
    assert dropped.status_code == 201, dropped.text
    d = dropped.json()
    assert (d["room_id"], d["show_id"], d["quantity"], d["claimed"], d["state"]) == (
        room_id,
        show_id,
        2,
        0,
        "open",
    )

    alice, bob, carol = (viewer_token(client, shop, name) for name in ("alice", "bob", "carol"))
    join(client, room_id, alice, bob, carol)
    coupon = created(claim(client, alice, d["id"]))
    assert (coupon["template_id"], coupon["drop_id"], coupon["state"], coupon["name"]) == (
        template["id"],
        d["id"],
        "available",
        "新人券",
    )
    span = datetime.fromisoformat(coupon["valid_until"]) - datetime.fromisoformat(coupon["valid_from"])
    assert span == timedelta(days=7)
    twice = claim(client, alice, d["id"])
    assert (twice.status_code, error_code(twice)) == (409, "coupon.limit_reached")
    created(claim(client, bob, d["id"]))
    late = claim(client, carol, d["id"])
    assert (late.status_code, error_code(late)) == (409, "coupon.sold_out")

    after = client.get(f"/api/v1/coupon-drops/{d['id']}", headers=shop.headers(Role.MODERATOR)).json()
    assert (after["claimed"], after["remaining"], after["state"]) == (2, 0, "closed")
    listed = client.get(f"/api/v1/rooms/{room_id}/coupon-drops", headers=shop.headers(Role.HOST)).json()
    assert [x["id"] for x in listed["items"]] == [d["id"]]
    read = client.get(f"/api/v1/coupon-templates/{template['id']}", headers=shop.headers()).json()
    assert (read["quantity_issued"], read["remaining"]) == (2, 998)
    assert [c["id"] for c in my_coupons(client, alice)] == [coupon["id"]]
    assert my_coupons(client, carol) == []
    assert [c["id"] for c in my_coupons(client, alice, state="available")] == [coupon["id"]]
    assert my_coupons(client, alice, state="redeemed") == []

    events = event_log.wait(lambda evs: len([e for e in evs if e.type == "coupon.claimed"]) == 2)
    dropped_event = next(e for e in events if e.type == "coupon.dropped")
    assert (dropped_event.room_id, dropped_event.show_id, dropped_event.shop_id) == (
        room_id,
        show_id,
        shop.shop_id,
    )
    assert dropped_event.actor is not None
    assert dropped_event.actor.startswith("staff:")
    assert dropped_event.data | {"expires_at": None} == {
        "drop_id": d["id"],
        "template_id": template["id"],
        "name": "新人券",
        "kind": "amount_off",
        "quantity": 2,
        "expires_at": None,
        "amount_off_cents": 500,
        "percent": None,
        "max_discount_cents": None,
        "threshold_cents": None,
        "product_id": None,
    }
    assert datetime.fromisoformat(dropped_event.data["expires_at"]) == datetime.fromisoformat(d["expires_at"])
    claimed = [e for e in events if e.type == "coupon.claimed"]
    assert [e.actor for e in claimed] == ["u:alice", "u:bob"]
    assert claimed[0].data == {"drop_id": d["id"], "template_id": template["id"], "coupon_id": coupon["id"]}
    assert {(e.room_id, e.show_id) for e in claimed} == {(room_id, show_id)}


def test_a_drop_in_a_room_off_air_has_no_show(client: TestClient, shop: ShopKeys) -> None:
    dropped = created(drop(client, shop, make_room(client, shop), make_template(client, shop)["id"]))
    assert dropped["show_id"] is None


def test_claim_refusals(client: TestClient, shop: ShopKeys) -> None:
    template = make_template(client, shop, total_quantity=5)
    room_id = make_room(client, shop)
    d = created(drop(client, shop, room_id, template["id"], quantity=3))
    alice = viewer_token(client, shop, "alice")
    join(client, room_id, alice)
    for headers, code in [
        ({}, "commerce.buyer_required"),
        (shop.headers(), "auth.invalid_viewer_token"),  # a staff key is not a buyer
    ]:
        response = client.post(f"/api/v1/coupon-drops/{d['id']}/claim", headers=headers)
        assert (response.status_code, error_code(response)) == (401, code)
        assert client.get("/api/v1/buyer/coupons", headers=headers).status_code == 401
    missing = claim(client, alice, 2**52)
    assert (missing.status_code, error_code(missing)) == (404, "coupon.not_found")
    bad_id = client.post("/api/v1/coupon-drops/0/claim", headers=bearer(alice))
    assert (bad_id.status_code, error_code(bad_id)) == (422, "request.validation_error")

    set_drop_expiry(client, d["id"], utcnow() - timedelta(seconds=1))
    closed = claim(client, alice, d["id"])
    assert (closed.status_code, error_code(closed)) == (409, "coupon.drop_closed")
    assert client.get(f"/api/v1/coupon-drops/{d['id']}", headers=shop.headers()).json()["state"] == "closed"

    # Quantity left on the template: 5 in all, 3 promised to the first drop (none claimed).
    too_many = drop(client, shop, room_id, template["id"], quantity=6)
    assert (too_many.status_code, error_code(too_many)) == (422, "coupon.invalid")
    second = created(drop(client, shop, room_id, template["id"], quantity=5))
    created(claim(client, alice, second["id"]))
    client.post(f"/api/v1/coupon-templates/{template['id']}/disable", headers=shop.headers())
    bob = viewer_token(client, shop, "bob")
    join(client, room_id, bob)
    after_disable = claim(client, bob, second["id"])
    assert (after_disable.status_code, error_code(after_disable)) == (409, "coupon.drop_closed")
    no_drop = drop(client, shop, room_id, template["id"])
    assert (no_drop.status_code, error_code(no_drop)) == (409, "coupon.disabled")
    assert [c["state"] for c in my_coupons(client, alice)] == ["available"]  # claimed coupons stay usable


def test_template_limits_hold_across_drops(client: TestClient, shop: ShopKeys) -> None:
    template = make_template(client, shop, per_user_limit=2, total_quantity=4)
    room_id = make_room(client, shop)
    drops = [created(drop(client, shop, room_id, template["id"], quantity=2))["id"] for _ in range(2)]
    alice, bob, carol = (viewer_token(client, shop, name) for name in ("alice", "bob", "carol"))
    join(client, room_id, alice, bob, carol)
    created(claim(client, alice, drops[0]))
    created(claim(client, alice, drops[1]))
    third = created(drop(client, shop, room_id, template["id"], quantity=1))
    over = claim(client, alice, third["id"])
    assert (over.status_code, error_code(over)) == (409, "coupon.limit_reached")
    created(claim(client, bob, drops[0]))
    created(claim(client, carol, third["id"]))  # the template's 4th and last coupon
    exhausted = claim(client, carol, drops[1])
    assert (exhausted.status_code, error_code(exhausted)) == (409, "coupon.sold_out")
    none_left = drop(client, shop, room_id, template["id"])
    assert (none_left.status_code, error_code(none_left)) == (409, "coupon.sold_out")
    assert (
        client.get(f"/api/v1/coupon-templates/{template['id']}", headers=shop.headers()).json()["remaining"]
        == 0
    )


def test_an_expired_template_is_not_dropped(client: TestClient, shop: ShopKeys) -> None:
    until = (utcnow() + timedelta(days=1)).isoformat()
    template = make_template(client, shop, valid_days=None, valid_until=until)
    expire_template(client, template["id"])
    response = drop(client, shop, make_room(client, shop), template["id"])
    assert (response.status_code, error_code(response)) == (409, "coupon.expired")


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"quantity": 0}, "request.validation_error"),
        ({"window_seconds": 4}, "request.validation_error"),
        ({"window_seconds": 86401}, "request.validation_error"),
        ({"template_id": 2**52}, "coupon.not_found"),
    ],
)
def test_bad_drops_are_refused(client: TestClient, shop: ShopKeys, fields: dict[str, Any], code: str) -> None:
    fields = dict(fields)  # parametrized values are shared by every backend's run
    template_id = fields.pop("template_id", None) or make_template(client, shop)["id"]
    room_id = make_room(client, shop)
    response = drop(client, shop, room_id, template_id, **fields)
    assert error_code(response) == code, response.text
    assert client.get(f"/api/v1/rooms/{room_id}/coupon-drops", headers=shop.headers()).json()["items"] == []


def test_another_shops_templates_drops_and_rooms_are_not_found(
    client: TestClient, shop: ShopKeys, other_shop: ShopKeys
) -> None:
    theirs = make_template(client, other_shop)
    their_room = make_room(client, other_shop)
    their_drop = created(drop(client, other_shop, their_room, theirs["id"]))
    my_room = make_room(client, shop)
    mine = make_template(client, shop)
    owner = shop.headers()
    for response, code in [
        (client.get(f"/api/v1/coupon-templates/{theirs['id']}", headers=owner), "coupon.not_found"),
        (client.post(f"/api/v1/coupon-templates/{theirs['id']}/disable", headers=owner), "coupon.not_found"),
        (drop(client, shop, my_room, theirs["id"]), "coupon.not_found"),
        (drop(client, shop, their_room, mine["id"]), "commerce.room_not_found"),
        (client.get(f"/api/v1/rooms/{their_room}/coupon-drops", headers=owner), "commerce.room_not_found"),
        (client.get(f"/api/v1/coupon-drops/{their_drop['id']}", headers=owner), "coupon.not_found"),
        (claim(client, viewer_token(client, shop, "alice"), their_drop["id"]), "coupon.not_found"),
    ]:
        assert (response.status_code, error_code(response)) == (404, code)
    untouched = client.get(f"/api/v1/coupon-templates/{theirs['id']}", headers=other_shop.headers()).json()
    assert (untouched["disabled"], untouched["quantity_issued"]) == (False, 0)
