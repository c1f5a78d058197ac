"""The live tools over the room socket: each frame runs the REST route's use case and answers with
its ack (``result``) or the route's error code; staff act over REST and the room sees the items."""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

import pytest
from starlette.testclient import WebSocketTestSession as Socket

from liveloop.shops import Role
from tests.conftest import created
from tests.realtime.conftest import Frame, LiveRoom, has_item, items_of, joined, until


def ask(ws: Socket, ref: str, **frame: Any) -> Frame:
    """Send a frame with ``ref`` and return its answer (ack or error)."""
    ws.send_json({**frame, "ref": ref})
    return until(ws, lambda f: f.get("ref") == ref and f["type"] in ("ack", "error"))


def ok(ws: Socket, ref: str, **frame: Any) -> dict[str, Any]:
    answer = ask(ws, ref, **frame)
    assert answer["type"] == "ack", answer
    result: dict[str, Any] = answer["result"]
    return result


def refused(ws: Socket, ref: str, **frame: Any) -> str:
    answer = ask(ws, ref, **frame)
    assert answer["type"] == "error", answer
    code: str = answer["code"]
    return code


def item_data(frame: Frame, kind: str) -> dict[str, Any]:
    data: dict[str, Any] = next(i["data"] for i in items_of(frame) if i["data"]["type"] == kind)
    return data


def staff(room: LiveRoom, role: Role = Role.HOST) -> dict[str, str]:
    return room.shop.headers(role)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def open_poll(room: LiveRoom, *options: str) -> int:
    body = {"question": "下一个讲哪款？", "options": [{"text": o} for o in options]}
    poll = created(room.client.post(f"/api/v1/rooms/{room.room_id}/polls", json=body, headers=staff(room)))
    opened = room.client.post(f"/api/v1/polls/{poll['id']}/open", headers=staff(room))
    assert opened.status_code == 200, opened.text
    return int(poll["id"])


def test_vote_acks_the_tally_and_the_room_sees_live_results(live_room: LiveRoom) -> None:
    poll_id = open_poll(live_room, "口红", "眼影", "粉底")
    alice, bob = live_room.token("alice"), live_room.token("bob")
    with (
        live_room.connect(token=alice) as a,
        live_room.connect(token=bob) as b,
        live_room.connect(device_id="guest-1") as guest,
    ):
        for ws in (a, b, guest):
            joined(ws)
        voted = ok(a, "v1", type="vote", poll_id=poll_id, option=1)
        assert voted == {
            "poll_id": poll_id,
            "option": 1,
            "tally": {"counts": [0, 1, 0], "total": 1, "final": False},
        }
        tally = item_data(until(b, has_item("poll_tally", poll_id=poll_id)), "poll_tally")
        assert (tally["counts"], tally["total"]) == ([0, 1, 0], 1)
        assert ok(b, "v2", type="vote", poll_id=poll_id, option=2)["tally"]["counts"] == [0, 1, 1]
        until(a, has_item("poll_tally", poll_id=poll_id, total=2))

        assert refused(a, "v3", type="vote", poll_id=poll_id, option=0) == "interactions.already_voted"
        assert refused(guest, "v4", type="vote", poll_id=poll_id, option=0) == "interactions.sign_in_required"
        carol = live_room.token("carol")
        with live_room.connect(token=carol) as c:
            joined(c)
            assert refused(c, "v5", type="vote", poll_id=poll_id, option=3) == "interactions.invalid_option"
            assert refused(c, "v6", type="vote", poll_id=10**9, option=0) == "interactions.poll_not_found"
            closed = live_room.client.post(f"/api/v1/polls/{poll_id}/close", headers=staff(live_room))
            assert closed.json()["result"]["counts"] == [0, 1, 1]
            until(c, has_item("poll_closed", poll_id=poll_id))
            assert refused(c, "v7", type="vote", poll_id=poll_id, option=0) == "interactions.poll_closed"
        # The same refusal over REST has the same code, and nothing was counted.
        rest = live_room.client.post(
            f"/api/v1/viewer/polls/{poll_id}/votes", json={"option": 0}, headers=bearer(carol)
        )
        assert rest.json()["error"]["code"] == "interactions.poll_closed"
        read = live_room.client.get(f"/api/v1/polls/{poll_id}", headers=staff(live_room)).json()
        assert read["tally"]["counts"] == [0, 1, 1]


def test_a_poll_of_another_room_is_not_found_over_the_socket(live_room: LiveRoom) -> None:
    other = created(
        live_room.client.post("/api/v1/rooms", json={"name": "隔壁"}, headers=live_room.shop.headers())
    )
    body = {"question": "?", "options": [{"text": "a"}, {"text": "b"}]}
    poll = created(
        live_room.client.post(f"/api/v1/rooms/{other['id']}/polls", json=body, headers=staff(live_room))
    )
    live_room.client.post(f"/api/v1/polls/{poll['id']}/open", headers=staff(live_room))
    with live_room.connect(token=live_room.token("dan")) as ws:
        joined(ws)
        assert refused(ws, "x", type="vote", poll_id=poll["id"], option=0) == "interactions.poll_not_found"


def test_grab_acks_the_amount_once_and_the_room_sees_who_got_what(live_room: LiveRoom) -> None:
    sent = created(
        live_room.client.post(
            f"/api/v1/rooms/{live_room.room_id}/red-packets",
            json={"total_cents": 888, "count": 2},
            headers=staff(live_room),
        )
    )
    packet_id = sent["id"]
    with (
        live_room.connect(token=live_room.token("amy", "阿美")) as a,
        live_room.connect(token=live_room.token("ben")) as b,
        live_room.connect(token=live_room.token("cat")) as c,
        live_room.connect(device_id="guest-2") as guest,
    ):
        for ws in (a, b, c, guest):
            joined(ws)
        assert refused(guest, "g0", type="grab", packet_id=packet_id) == "interactions.sign_in_required"
        first = ok(a, "g1", type="grab", packet_id=packet_id)
        assert first["packet_id"] == packet_id
        assert first["nickname"] == "阿美"
        seen = item_data(until(c, has_item("red_packet_grabbed", packet_id=packet_id)), "red_packet_grabbed")
        assert (seen["nickname"], seen["amount_cents"]) == ("阿美", first["amount_cents"])
        assert refused(a, "g2", type="grab", packet_id=packet_id) == "interactions.already_grabbed"
        second = ok(b, "g3", type="grab", packet_id=packet_id)
        assert first["amount_cents"] + second["amount_cents"] == 888
        assert refused(c, "g4", type="grab", packet_id=packet_id) == "interactions.red_packet_empty"
        until(c, has_item("red_packet_finished", packet_id=packet_id))
        assert refused(c, "g5", type="grab", packet_id=10**9) == "interactions.red_packet_not_found"
    detail = live_room.client.get(f"/api/v1/red-packets/{packet_id}", headers=staff(live_room)).json()
    # Each ack carries exactly the share the store recorded for that viewer.
    assert {s["viewer_id"]: s["amount_cents"] for s in detail["shares"]} == {
        "u:amy": first["amount_cents"],
        "u:ben": second["amount_cents"],
    }


def test_lotteries_are_entered_by_frame_or_by_the_keyword_and_drawn_for_present_viewers(
    live_room: LiveRoom,
) -> None:
    url = f"/api/v1/rooms/{live_room.room_id}/lotteries"
    plain = created(
        live_room.client.post(
            url, json={"prize": "面膜", "winners_count": 1, "duration_seconds": 600}, headers=staff(live_room)
        )
    )
    with (
        live_room.connect(token=live_room.token("eve", "小伊")) as e,
        live_room.connect(device_id="guest-3") as guest,
    ):
        joined(e)
        joined(guest)
        assert ok(e, "l1", type="enter_lottery", lottery_id=plain["id"]) == {"lottery_id": plain["id"]}
        assert (
            refused(e, "l2", type="enter_lottery", lottery_id=plain["id"]) == "interactions.already_entered"
        )
        assert (
            refused(guest, "l3", type="enter_lottery", lottery_id=plain["id"])
            == "interactions.sign_in_required"
        )
        drawn = live_room.client.post(f"/api/v1/lotteries/{plain['id']}/draw", headers=staff(live_room))
        assert drawn.status_code == 200, drawn.text
        result = item_data(until(e, has_item("lottery_drawn", lottery_id=plain["id"])), "lottery_drawn")
        assert result["winners"] == [{"viewer_id": "u:eve", "nickname": "小伊"}]
        # The seed revealed at the draw is the one whose hash was published when the lottery opened.
        assert (
            hashlib.sha256(bytes.fromhex(result["seed"])).hexdigest()
            == result["seed_hash"]
            == plain["seed_hash"]
        )

        rules = [{"kind": "keyword", "keyword": "想要"}]
        keyword = created(
            live_room.client.post(
                url,
                json={"prize": "口红", "winners_count": 1, "duration_seconds": 600, "rules": rules},
                headers=staff(live_room),
            )
        )
        code = refused(e, "l4", type="enter_lottery", lottery_id=keyword["id"])
        assert code == "interactions.keyword_entry_only"
        # A comment without the keyword enters nobody; with it, its ack says so.
        plain_ack = ask(e, "c1", type="comment", text="好看")
        assert plain_ack["type"] == "ack"
        assert "result" not in plain_ack
        entered = ask(e, "c2", type="comment", text="我想要！")
        assert entered["result"] == {"lottery_id": keyword["id"]}
        again = ask(e, "c3", type="comment", text="想要想要")
        assert "result" not in again
    read = live_room.client.get(f"/api/v1/lotteries/{keyword['id']}", headers=staff(live_room)).json()
    assert read["entries_count"] == 1


def test_ask_and_upvote_follow_the_rest_rules(live_room: LiveRoom) -> None:
    alice, bob = live_room.token("alice", "爱丽丝"), live_room.token("bob")
    with live_room.connect(token=alice) as a, live_room.connect(token=bob) as b:
        joined(a)
        joined(b)
        question = ok(a, "q1", type="ask", text="  这款适合干皮吗？ ")["question"]
        assert (question["text"], question["nickname"], question["votes"], question["mine"]) == (
            "这款适合干皮吗？",
            "爱丽丝",
            0,
            True,
        )
        assert ok(b, "u1", type="upvote", question_id=question["id"]) == {
            "question_id": question["id"],
            "votes": 1,
        }
        assert refused(b, "u2", type="upvote", question_id=question["id"]) == "interactions.already_upvoted"
        assert refused(a, "u3", type="upvote", question_id=question["id"]) == "interactions.own_question"
        assert refused(a, "q2", type="ask", text="   ") == "interactions.question_empty"
        ok(a, "q3", type="ask", text="有小样吗？")
        limited = ask(a, "q4", type="ask", text="第三个问题")
        assert limited["code"] == "interactions.question_rate_limited"
        assert limited["details"]["retry_after_seconds"] > 0
    listed = live_room.client.get(
        f"/api/v1/viewer/rooms/{live_room.room_id}/questions", headers=bearer(bob)
    ).json()
    assert [(q["text"], q["votes"]) for q in listed["open"]] == [("这款适合干皮吗？", 1), ("有小样吗？", 0)]


def test_seat_request_and_cancel_with_staff_deciding_over_rest(live_room: LiveRoom) -> None:
    with (
        live_room.connect(token=live_room.token("gus", "阿古")) as g,
        live_room.connect(token=live_room.token("hal")) as h,
        live_room.connect(device_id="guest-4") as guest,
    ):
        for ws in (g, h, guest):
            joined(ws)
        assert refused(guest, "s0", type="seat_request") == "rooms.viewer_account_required"
        asked = ok(g, "s1", type="seat_request")
        assert asked["state"] == "requested"
        assert refused(g, "s2", type="seat_request") == "rooms.seat_request_open"
        listed = live_room.client.get(
            f"/api/v1/rooms/{live_room.room_id}/seat-requests?state=requested", headers=staff(live_room)
        ).json()
        assert [r["id"] for r in listed["items"]] == [asked["request_id"]]
        approve = f"/api/v1/rooms/{live_room.room_id}/seat-requests/{asked['request_id']}/approve"
        assert live_room.client.post(approve, headers=staff(live_room)).status_code == 200
        until(h, has_item("cohost_seated", request_id=asked["request_id"], nickname="阿古"))
        wrong = refused(g, "s3", type="seat_cancel", request_id=asked["request_id"] + 1)
        assert wrong == "rooms.seat_request_not_found"
        left = ok(g, "s4", type="seat_cancel", request_id=asked["request_id"])
        assert left == {"request_id": asked["request_id"], "state": "ended"}
        until(h, has_item("cohost_left", request_id=asked["request_id"]))
        assert refused(g, "s5", type="seat_cancel") == "rooms.seat_request_not_found"
        again = ok(g, "s6", type="seat_request")
        assert ok(g, "s7", type="seat_cancel") == {"request_id": again["request_id"], "state": "cancelled"}


def _product(room: LiveRoom, **fields: Any) -> dict[str, Any]:
    body = {"sku": uuid.uuid4().hex[:12], "title": "丝绒口红", "price_cents": 8900, "stock": 5} | fields
    return created(room.client.post("/api/v1/products", json=body, headers=room.shop.headers()))


def test_buy_places_one_order_per_key_that_the_simulator_pays(live_room: LiveRoom) -> None:
    product = _product(live_room)
    ivy = live_room.token("ivy")
    with live_room.connect(token=ivy) as buyer, live_room.connect(device_id="guest-5") as guest:
        joined(buyer)
        joined(guest)
        frame = {"type": "buy", "product_id": product["id"], "quantity": 2, "idempotency_key": "k-1"}
        order = ok(buyer, "b1", **frame)["order"]
        assert (order["amount_cents"], order["quantity"], order["state"], order["replayed"]) == (
            17800,
            2,
            "created",
            False,
        )
        assert (order["discount_cents"], order["coupon_id"]) == (0, None)
        assert order["payment"]["simulated"] is True
        assert order["payment"]["state"] == "pending"
        replay = ok(buyer, "b2", **frame)["order"]
        assert (replay["id"], replay["replayed"]) == (order["id"], True)
        reused = refused(buyer, "b3", **(frame | {"quantity": 1}))
        assert reused == "commerce.idempotency_key_reused"
        assert refused(guest, "b4", **(frame | {"idempotency_key": "k-2"})) == "commerce.buyer_required"
        both = frame | {"flash_sale_id": 1, "idempotency_key": "k-3"}
        assert refused(buyer, "b5", **both) == "commerce.invalid_order"
        no_key = {"type": "buy", "product_id": product["id"]}
        assert refused(buyer, "b6", **no_key) == "protocol.invalid_frame"
        over = frame | {"quantity": 4, "idempotency_key": "k-4"}
        assert refused(buyer, "b7", **over) == "commerce.sold_out"
    # The simulated provider confirms after its delay (2 s by default), as for an order over REST.
    deadline = time.monotonic() + 15
    while True:
        read = live_room.client.get(f"/api/v1/buyer/orders/{order['id']}", headers=bearer(ivy)).json()
        if read["state"] != "created" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert (read["state"], read["amount_cents"], read["payment"]["state"]) == ("paid", 17800, "succeeded")
    orders = live_room.client.get("/api/v1/orders", headers=live_room.shop.headers()).json()["items"]
    assert [o["id"] for o in orders] == [order["id"]]


def test_flash_sale_over_the_limit_or_ended_is_refused_with_commerce_codes(live_room: LiveRoom) -> None:
    product = _product(live_room, stock=0)
    body = {
        "product_id": product["id"],
        "price_cents": 990,
        "stock": 3,
        "per_user_limit": 1,
        "duration_seconds": 600,
    }
    sale = created(live_room.client.post("/api/v1/flash-sales", json=body, headers=live_room.shop.headers()))
    with live_room.connect(token=live_room.token("kim")) as ws:
        joined(ws)
        over = {"type": "buy", "flash_sale_id": sale["id"], "quantity": 2, "idempotency_key": "s-1"}
        assert refused(ws, "f1", **over) == "commerce.over_limit"
        one = ok(ws, "f2", **(over | {"quantity": 1, "idempotency_key": "s-2"}))["order"]
        assert (one["flash_sale_id"], one["unit_price_cents"]) == (sale["id"], 990)
        assert (
            refused(ws, "f3", **(over | {"quantity": 1, "idempotency_key": "s-3"})) == "commerce.over_limit"
        )
        ended = live_room.client.post(
            f"/api/v1/flash-sales/{sale['id']}/end", headers=live_room.shop.headers()
        )
        assert ended.status_code == 200, ended.text
        with live_room.connect(token=live_room.token("lea")) as late:
            joined(late)
            late_buy = over | {"quantity": 1, "idempotency_key": "s-4"}
            assert refused(late, "f4", **late_buy) == "commerce.sale_ended"


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        ({"type": "vote", "poll_id": 0, "option": 0}, "poll_id"),
        ({"type": "vote", "poll_id": 1, "option": -1}, "option"),
        ({"type": "grab"}, "packet_id"),
        ({"type": "buy", "product_id": 1, "quantity": 100, "idempotency_key": "k"}, "quantity"),
        ({"type": "buy", "product_id": 1, "idempotency_key": "has space"}, "idempotency_key"),
        ({"type": "seat_request", "room_id": 1}, "room_id"),
    ],
)
def test_malformed_tool_frames_name_the_field(live_room: LiveRoom, frame: dict[str, Any], field: str) -> None:
    with live_room.connect(token=live_room.token("max")) as ws:
        joined(ws)
        answer = ask(ws, "m", **frame)
        assert (answer["type"], answer["code"], answer["details"]["field"]) == (
            "error",
            "protocol.invalid_frame",
            field,
        )


def test_buy_redeems_a_claimed_coupon_once(live_room: LiveRoom) -> None:
    product = _product(live_room, price_cents=19900)
    owner = live_room.shop.headers()
    body = {"name": "满199减30", "kind": "threshold", "amount_off_cents": 3000, "threshold_cents": 19900}
    template = created(
        live_room.client.post(
            "/api/v1/coupon-templates", json=body | {"valid_days": 7, "total_quantity": 10}, headers=owner
        )
    )
    drop = created(
        live_room.client.post(
            f"/api/v1/rooms/{live_room.room_id}/coupon-drops",
            json={"template_id": template["id"], "quantity": 5},
            headers=owner,
        )
    )
    nia = live_room.token("nia")
    with live_room.connect(token=nia) as ws, live_room.connect(token=live_room.token("oli")) as other:
        joined(ws)
        joined(other)
        claimed = live_room.client.post(f"/api/v1/coupon-drops/{drop['id']}/claim", headers=bearer(nia))
        coupon = created(claimed)  # from inside the room, as a drop is meant
        buy = {
            "type": "buy",
            "product_id": product["id"],
            "coupon_id": coupon["id"],
            "idempotency_key": "c-1",
        }
        order = ok(ws, "c1", **buy)["order"]
        assert (order["amount_cents"], order["discount_cents"], order["coupon_id"]) == (
            16900,
            3000,
            coupon["id"],
        )
        again = buy | {"idempotency_key": "c-2"}
        assert refused(ws, "c2", **again) == "coupon.already_used"
        # Someone else's coupon is not theirs to redeem: the REST code, nothing ordered.
        assert refused(other, "c3", **(buy | {"idempotency_key": "c-3"})) == "coupon.not_found"
    orders = live_room.client.get("/api/v1/orders", headers=owner).json()["items"]
    assert [(o["amount_cents"], o["buyer_id"]) for o in orders] == [(16900, "u:nia")]


def test_a_follow_frame_counts_for_a_lotterys_follow_rule(live_room: LiveRoom) -> None:
    body = {"prize": "小样", "winners_count": 2, "duration_seconds": 600, "rules": [{"kind": "follow"}]}
    lottery = created(
        live_room.client.post(
            f"/api/v1/rooms/{live_room.room_id}/lotteries", json=body, headers=staff(live_room)
        )
    )
    with (
        live_room.connect(token=live_room.token("fan", "铁粉")) as fan,
        live_room.connect(token=live_room.token("passer")) as passer,
    ):
        joined(fan)
        joined(passer)
        for ws in (fan, passer):
            assert ok(ws, "e", type="enter_lottery", lottery_id=lottery["id"]) == {
                "lottery_id": lottery["id"]
            }
        fan.send_json({"type": "follow"})
        until(fan, lambda f: (f.get("counts") or {}).get("follows") == 1)
        drawn = live_room.client.post(f"/api/v1/lotteries/{lottery['id']}/draw", headers=staff(live_room))
        assert drawn.status_code == 200, drawn.text
        result = item_data(
            until(passer, has_item("lottery_drawn", lottery_id=lottery["id"])), "lottery_drawn"
        )
        assert result["winners"] == [{"viewer_id": "u:fan", "nickname": "铁粉"}]
        assert result["entries_count"] == 2
