"""Helpers for socket tests: a live room, viewer tokens, reading frames until one matches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.testclient import WebSocketTestSession as Socket

from liveloop.shops import Role
from tests.conftest import ShopKeys, created

Frame = dict[str, Any]


@dataclass(frozen=True)
class LiveRoom:
    client: TestClient
    shop: ShopKeys
    room_id: int

    def token(self, user_id: str, nickname: str = "") -> str:
        body = {"user_id": user_id, "nickname": nickname or user_id}
        issued = self.client.post(
            "/api/v1/viewer-tokens", json=body, headers=self.shop.headers(Role.OPERATOR)
        )
        return str(created(issued)["token"])

    def staff_token(self, role: Role = Role.HOST) -> str:
        return str(
            created(self.client.post("/api/v1/socket-tokens", headers=self.shop.headers(role)))["token"]
        )

    def url(self, **params: str | int) -> str:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"/ws/rooms/{self.room_id}?{query}"

    def connect(self, **params: str | int) -> Any:
        return self.client.websocket_connect(self.url(**params))


@pytest.fixture
def live_room(client: TestClient, shop: ShopKeys) -> LiveRoom:
    room = created(client.post("/api/v1/rooms", json={"name": "直播间"}, headers=shop.headers()))
    return LiveRoom(client=client, shop=shop, room_id=room["id"])


def until(ws: Socket, match: Callable[[Frame], bool], *, limit: int = 200) -> Frame:
    """Read frames until one matches (the hub only sends when something changed, so this ends)."""
    for _ in range(limit):
        frame: Frame = ws.receive_json()
        if match(frame):
            return frame
    raise AssertionError("no matching frame")


def items_of(frame: Frame) -> list[Frame]:
    items: list[Frame] = frame.get("items") or frame.get("comments") or []
    return items


def has_item(kind: str, **fields: Any) -> Callable[[Frame], bool]:
    def match(frame: Frame) -> bool:
        return any(
            item["data"].get("type") == kind and all(item["data"].get(k) == v for k, v in fields.items())
            for item in items_of(frame)
        )

    return match


def typed(kind: str) -> Callable[[Frame], bool]:
    return lambda frame: frame.get("type") == kind


def joined(ws: Socket) -> tuple[Frame, Frame]:
    """The hello and the snapshot (or resume) frame every socket starts with."""
    hello = ws.receive_json()
    assert hello["type"] == "hello", hello
    start = ws.receive_json()
    assert start["type"] in ("snapshot", "resume"), start
    return hello, start


def until_counts(ws: Socket, *, limit: int = 200, **expected: int) -> dict[str, int]:
    """Merge the counts of incoming frames (ticks carry only changes) until ``expected`` holds."""
    counts: dict[str, int] = {}
    for _ in range(limit):
        counts.update(ws.receive_json().get("counts") or {})
        if all(counts.get(k) == v for k, v in expected.items()):
            return counts
    raise AssertionError(f"counts never reached {expected}: {counts}")
