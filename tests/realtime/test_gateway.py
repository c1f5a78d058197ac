"""The room socket end to end (in-process server, memory adapters): join, comment, like, errors."""

from __future__ import annotations

import asyncio

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from liveloop.realtime.protocol import MAX_FRAME_BYTES, CloseCode
from liveloop.shops import Role
from tests.conftest import ShopKeys, make_shop
from tests.realtime.conftest import LiveRoom, has_item, joined, typed, until, until_counts


def test_guest_joins_watches_and_may_not_comment(live_room: LiveRoom) -> None:
    with live_room.connect(device_id="phone-1234") as ws:
        hello, snapshot = joined(ws)
        assert hello["viewer"] == {"id": "d:phone-1234", "nickname": "游客1234", "guest": True, "role": None}
        assert snapshot["type"] == "snapshot"
        ws.send_json({"type": "comment", "text": "hi", "ref": "c1"})
        error = until(ws, typed("error"))
        assert (error["code"], error["ref"]) == ("protocol.login_required", "c1")


def test_comment_reaches_the_other_viewer_with_an_offset(live_room: LiveRoom) -> None:
    alice, bob = live_room.token("alice", "爱丽丝"), live_room.token("bob")
    with live_room.connect(token=alice) as a, live_room.connect(token=bob) as b:
        joined(a)
        joined(b)
        a.send_json({"type": "comment", "text": "这个口红色号好看！", "ref": "x1"})
        ack = until(a, typed("ack"))
        assert ack["ref"] == "x1"
        assert ack["offset"] >= 1
        tick = until(b, has_item("comment", text="这个口红色号好看！"))
        item = next(i for i in tick["items"] if i["data"]["type"] == "comment")
        assert item["offset"] == ack["offset"]
        assert item["data"]["viewer"] == {"id": "u:alice", "nickname": "爱丽丝"}
        assert tick["epoch"]


def test_likes_are_aggregated_and_online_is_counted(live_room: LiveRoom) -> None:
    with (
        live_room.connect(token=live_room.token("a")) as a,
        live_room.connect(token=live_room.token("b")) as b,
    ):
        joined(a)
        joined(b)
        for _ in range(4):
            a.send_json({"type": "like", "count": 25})
        counts = until_counts(b, likes=100, online=2)
        assert counts["views"] == 2
        assert counts["peak_online"] == 2
        live = live_room.client.get(
            f"/api/v1/rooms/{live_room.room_id}/live", headers=live_room.shop.headers(Role.HOST)
        ).json()
        assert (live["online"], live["unique_viewers"], live["views"], live["likes"]) == (2, 2, 2, 100)
        assert live["sockets_this_node"] == 2


def test_bad_frames_get_error_frames_and_the_room_keeps_serving(live_room: LiveRoom) -> None:
    with (
        live_room.connect(token=live_room.token("a")) as a,
        live_room.connect(token=live_room.token("b")) as b,
    ):
        joined(a)
        joined(b)
        cases = [
            ("{not json", "protocol.invalid_json"),
            ('["a list"]', "protocol.invalid_frame"),
            ('{"type": "teleport"}', "protocol.unknown_type"),
            ('{"type": "comment"}', "protocol.invalid_frame"),
            ('{"type": "like", "count": 0}', "protocol.invalid_frame"),
            ('{"type": "like", "count": 1, "extra": true}', "protocol.invalid_frame"),
            ('{"type": "comment", "text": "' + "x" * MAX_FRAME_BYTES + '"}', "protocol.frame_too_large"),
            ('{"type": "host_message", "text": "I am the host now"}', "protocol.forbidden"),
            ('{"type": "comment", "text": "   "}', "interactions.comment_empty"),
        ]
        for text, code in cases:
            a.send_text(text)
            assert until(a, typed("error"))["code"] == code, text
        a.send_bytes(b"\x00\x01")
        assert until(a, typed("error"))["code"] == "protocol.invalid_frame"
        b.send_json({"type": "comment", "text": "still here", "ref": "ok"})
        until(a, has_item("comment", text="still here"))


@pytest.mark.parametrize(
    ("params", "close", "code"),
    [
        ({"token": "garbage"}, CloseCode.UNAUTHORIZED, "auth.invalid_viewer_token"),
        ({}, CloseCode.UNAUTHORIZED, "auth.missing_credentials"),
        ({"device_id": "x" * 100}, CloseCode.UNAUTHORIZED, "request.invalid"),
        ({"device_id": "d1", "v": 9}, CloseCode.UNSUPPORTED, "protocol.unsupported_version"),
    ],
)
def test_refused_connections_say_why(
    live_room: LiveRoom, params: dict[str, str], close: int, code: str
) -> None:
    with live_room.connect(**params) as ws:
        assert ws.receive_json()["code"] == code
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == close


def test_unknown_room_and_foreign_tokens_are_refused(client: TestClient, live_room: LiveRoom) -> None:
    with client.websocket_connect("/ws/rooms/999999?device_id=d1") as ws:
        assert ws.receive_json()["code"] == "rooms.room_not_found"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == CloseCode.NOT_FOUND
    other: ShopKeys = make_shop(client, "Elsewhere")
    foreign = client.post("/api/v1/viewer-tokens", json={"user_id": "eve"}, headers=other.headers()).json()[
        "token"
    ]
    with live_room.connect(token=foreign) as ws:
        assert ws.receive_json()["code"] == "auth.invalid_viewer_token"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == CloseCode.UNAUTHORIZED


def test_banned_viewers_cannot_enter(live_room: LiveRoom) -> None:
    ban = {"viewer_id": "u:troll", "reason": "spam"}
    response = live_room.client.post(
        f"/api/v1/rooms/{live_room.room_id}/bans", json=ban, headers=live_room.shop.headers(Role.MODERATOR)
    )
    assert response.status_code == 201
    with live_room.connect(token=live_room.token("troll")) as ws:
        assert ws.receive_json()["code"] == "interactions.banned"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == CloseCode.FORBIDDEN


def test_flooding_socket_is_closed_others_are_not(live_room: LiveRoom) -> None:
    with (
        live_room.connect(token=live_room.token("a")) as a,
        live_room.connect(token=live_room.token("b")) as b,
    ):
        joined(a)
        joined(b)
        for _ in range(200):
            a.send_text("garbage")
        with pytest.raises(WebSocketDisconnect) as closed:
            until(a, lambda frame: False, limit=400)
        assert closed.value.code == CloseCode.FLOODING
        b.send_json({"type": "comment", "text": "after the flood"})
        until(b, has_item("comment", text="after the flood"))


def test_every_action_becomes_a_typed_event(live_room: LiveRoom) -> None:
    from collections.abc import Sequence

    from liveloop.core.events import Event
    from tests.conftest import run_in_app

    seen: list[Event] = []

    async def collect(events: Sequence[Event]) -> None:
        seen.extend(events)

    live_room.client.app.state.container.events.subscribe(collect)  # type: ignore[attr-defined]
    with live_room.connect(token=live_room.token("fan", "粉丝"), source="share") as ws:
        joined(ws)
        ws.send_json({"type": "comment", "text": "好看", "ref": "c"})
        offset = until(ws, typed("ack"))["offset"]
        ws.send_json({"type": "like", "count": 7})
        ws.send_json({"type": "share", "channel": "wechat"})
        ws.send_json({"type": "follow"})
        ws.send_json({"type": "ping", "ref": "p"})
        until(ws, typed("pong"))

    async def drained() -> list[str]:
        await asyncio.sleep(0.2)
        return [e.type for e in seen]

    types = run_in_app(live_room.client, lambda _c: drained())
    assert types[:1] == ["viewer.entered"]
    for expected in ("comment.posted", "like.batched", "share.made", "follow.made", "viewer.left"):
        assert expected in types, (expected, types)
    by_type = {e.type: e for e in seen}
    assert by_type["viewer.entered"].data["source"] == "share"
    assert by_type["comment.posted"].data["offset"] == offset
    assert by_type["comment.posted"].actor == "u:fan"
    assert by_type["like.batched"].data["count"] == 7
    assert by_type["viewer.left"].data["reason"] == "closed"
    assert all(e.room_id == live_room.room_id and e.shop_id == live_room.shop.shop_id for e in seen)
