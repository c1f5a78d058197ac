"""Staff on the room socket, resume after a reconnect, show transitions reaching viewers."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.websockets import WebSocketDisconnect

from liveloop.realtime.protocol import CloseCode
from liveloop.shops import Role
from tests.realtime.conftest import LiveRoom, has_item, items_of, joined, typed, until


def test_host_message_is_a_priority_item(live_room: LiveRoom) -> None:
    with (
        live_room.connect(token=live_room.staff_token(Role.HOST)) as host,
        live_room.connect(token=live_room.token("v1")) as viewer,
    ):
        hello, _ = joined(host)
        assert hello["viewer"]["role"] == "host"
        joined(viewer)
        host.send_json({"type": "host_message", "text": "3 分钟后开抢！", "ref": "h1"})
        assert until(host, typed("ack"))["ref"] == "h1"
        tick = until(viewer, has_item("host_message", text="3 分钟后开抢！"))
        assert next(i for i in items_of(tick) if i["data"]["type"] == "host_message")["lane"] == "priority"


def test_moderator_deletes_pins_and_kicks(live_room: LiveRoom) -> None:
    with (
        live_room.connect(token=live_room.staff_token(Role.MODERATOR)) as mod,
        live_room.connect(token=live_room.token("troll")) as troll,
        live_room.connect(token=live_room.token("fan")) as fan,
    ):
        for ws in (mod, troll, fan):
            joined(ws)
        troll.send_json({"type": "comment", "text": "spam spam", "ref": "t"})
        offset = until(troll, typed("ack"))["offset"]
        fan.send_json({"type": "comment", "text": "什么时候上新？", "ref": "f"})
        fan_offset = until(fan, typed("ack"))["offset"]
        until(mod, has_item("comment", text="什么时候上新？"))

        mod.send_json({"type": "moderate", "action": "delete", "offset": offset, "ref": "d"})
        assert until(mod, typed("ack"))["ref"] == "d"
        until(fan, has_item("comment_deleted", offset=offset))

        mod.send_json({"type": "moderate", "action": "pin", "offset": fan_offset})
        pinned = until(fan, lambda f: f.get("pinned") is not None)
        assert pinned["pinned"] == {"offset": fan_offset, "text": "什么时候上新？"}

        mod.send_json({"type": "moderate", "action": "kick", "viewer_id": "u:troll", "reason": "spam"})
        with pytest.raises(WebSocketDisconnect) as closed:
            until(troll, lambda f: False)
        assert closed.value.code == CloseCode.KICKED


def test_viewers_cannot_moderate_and_staff_need_a_target(live_room: LiveRoom) -> None:
    with (
        live_room.connect(token=live_room.token("v")) as v,
        live_room.connect(token=live_room.staff_token(Role.HOST)) as host,
    ):
        joined(v)
        joined(host)
        v.send_json({"type": "moderate", "action": "kick", "viewer_id": "u:x"})
        assert until(v, typed("error"))["code"] == "protocol.forbidden"
        host.send_json({"type": "moderate", "action": "mute"})
        assert until(host, typed("error"))["code"] == "protocol.invalid_frame"
        host.send_json({"type": "moderate", "action": "pin", "offset": 999})
        assert until(host, typed("error"))["code"] == "protocol.unknown_offset"


def test_reconnect_resumes_from_the_last_offset(live_room: LiveRoom) -> None:
    token = live_room.token("reader")
    with live_room.connect(token=live_room.token("writer")) as writer:
        joined(writer)
        with live_room.connect(token=token) as reader:
            joined(reader)
            writer.send_json({"type": "comment", "text": "first"})
            tick = until(reader, has_item("comment", text="first"))
            epoch, offset = tick["epoch"], tick["offset"]
        for text in ("second", "third"):
            writer.send_json({"type": "comment", "text": text})
            until(writer, typed("ack"))
        with live_room.connect(token=token, resume_epoch=epoch, resume_offset=offset) as reader:
            _, start = joined(reader)
            assert start["type"] == "resume"
            texts = [i["data"]["text"] for i in start["items"]]
            if texts != ["second", "third"]:  # the third may still be in the next tick
                texts += [
                    i["data"]["text"] for i in until(reader, has_item("comment", text="third"))["items"]
                ]
            assert texts == ["second", "third"]
        with live_room.connect(token=token, resume_epoch="stale-epoch", resume_offset=1) as reader:
            assert joined(reader)[1]["type"] == "snapshot"


def test_show_start_and_end_reach_the_room(live_room: LiveRoom) -> None:
    show = live_room.client.post(
        "/api/v1/shows",
        json={
            "room_id": live_room.room_id,
            "title": "上新专场",
            "planned_start": "2026-12-01T12:00:00Z",
            "planned_end": "2026-12-01T14:00:00Z",
        },
        headers=live_room.shop.headers(),
    ).json()
    with live_room.connect(token=live_room.token("early")) as ws:
        hello, _ = joined(ws)
        assert hello["show_id"] is None
        live_room.client.post(f"/api/v1/shows/{show['id']}/start", headers=live_room.shop.headers(Role.HOST))
        until(ws, has_item("show_started", show_id=show["id"], title="上新专场"))
        live_room.client.post(f"/api/v1/shows/{show['id']}/end", headers=live_room.shop.headers(Role.HOST))
        until(ws, has_item("show_ended", show_id=show["id"]))


frames = st.one_of(
    st.text(max_size=300),
    st.dictionaries(
        st.sampled_from(["type", "text", "count", "ref", "channel", "action", "offset", "viewer_id", "x"]),
        st.one_of(
            st.sampled_from(["comment", "like", "share", "follow", "ping", "moderate", "host_message"]),
            st.integers(min_value=-(2**70), max_value=2**70),
            st.text(max_size=50),
            st.none(),
            st.booleans(),
            st.lists(st.integers(), max_size=3),
        ),
        max_size=5,
    ),
)


def test_random_frames_never_break_the_room(live_room: LiveRoom) -> None:
    """Hypothesis throws random frames; each gets an answer, and the room keeps serving others.

    The flood guard is relaxed here (it has its own test): this is about the parser and handlers.
    """
    node = live_room.client.app.state.realtime.node  # type: ignore[attr-defined]
    node.config = replace(node.config, frames_per_second=1e6, frame_burst=1e6, max_strikes=10**6)
    with (
        live_room.connect(token=live_room.token("fuzzer")) as fuzzer,
        live_room.connect(token=live_room.token("witness")) as witness,
    ):
        joined(fuzzer)
        joined(witness)

        @given(frame=frames)
        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def send_one(frame: Any) -> None:
            if isinstance(frame, str):
                fuzzer.send_text(frame)
            else:
                fuzzer.send_json(frame)
            fuzzer.send_json({"type": "ping", "ref": "sync"})
            # Everything before the pong was answered or broadcast; the socket is alive.
            until(fuzzer, lambda f: f.get("type") == "pong" and f.get("ref") == "sync", limit=500)

        send_one()
        witness.send_json({"type": "comment", "text": "room still alive"})
        until(fuzzer, has_item("comment", text="room still alive"), limit=2000)
