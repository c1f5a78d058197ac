"""A frame that fails inside the server answers ``internal_error``; the socket and the room go on."""

from __future__ import annotations

from typing import Any

import pytest

from liveloop.realtime import session as session_module
from tests.realtime.conftest import LiveRoom, joined, typed, until


def test_a_failing_frame_answers_internal_error_and_the_socket_stays_open(
    live_room: LiveRoom, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: Any) -> Any:
        raise TimeoutError("QueuePool limit of size 5 overflow 10 reached")

    monkeypatch.setattr(session_module, "run_tool", broken)
    with live_room.connect(token=live_room.token("fan")) as ws:
        joined(ws)
        ws.send_json({"type": "buy", "product_id": 1, "idempotency_key": "k1", "ref": "b1"})
        error = until(ws, typed("error"))
        assert (error["code"], error["ref"]) == ("internal_error", "b1")
        monkeypatch.undo()  # the server answers again: the same socket carries on
        ws.send_json({"type": "ping", "ref": "p1"})
        assert until(ws, typed("pong"))["ref"] == "p1"
        ws.send_json({"type": "comment", "text": "还在吗", "ref": "c1"})
        assert until(ws, typed("ack"))["ref"] == "c1"
