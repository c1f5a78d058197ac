"""Two real `liveloop serve` processes sharing PostgreSQL and Redis serve one room together."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from websockets.sync.client import ClientConnection, connect

from liveloop.core.db import Database, create_engine
from liveloop.shops import do_create_shop
from tests.backends import REDIS_ENV, backend_url
from tests.servers import running_server

Frame = dict[str, Any]


def read_until(ws: ClientConnection, match: Callable[[Frame], bool], state: dict[str, int]) -> Frame:
    """Read frames (5 s each at most) until one matches; merges ``counts`` into ``state``."""
    for _ in range(500):
        frame: Frame = json.loads(ws.recv(timeout=5))
        state.update(frame.get("counts") or {})
        if match(frame):
            return frame
    raise AssertionError("no matching frame")


def global_counts_reached(seen: dict[str, int]) -> Callable[[Frame], bool]:
    return lambda _frame: seen.get("likes") == 42 and seen.get("online") == 2


def comment_with(text: str) -> Callable[[Frame], bool]:
    return lambda f: any(i["data"].get("text") == text for i in f.get("items") or [])


@pytest.mark.slow
def test_a_comment_on_node_a_reaches_a_viewer_on_node_b(tmp_path: Path, postgres_url: str) -> None:
    redis_url = backend_url(REDIS_ENV)

    async def owner_key() -> str:
        db = Database(create_engine(postgres_url))
        created = await do_create_shop(db, name=f"Two nodes {uuid.uuid4().hex[:6]}")
        await db.dispose()
        return created.api_key

    key = asyncio.run(owner_key())
    env = {
        "LIVELOOP_DATABASE_URL": postgres_url,
        "LIVELOOP_REDIS_URL": redis_url,
        "LIVELOOP_REDIS_NAMESPACE": f"test-{uuid.uuid4().hex[:8]}",
    }
    with running_server(tmp_path / "a", env=env) as a, running_server(tmp_path / "b", env=env) as b:
        owner = {"Authorization": f"Bearer {key}"}
        room = httpx2.post(f"{a.url}/api/v1/rooms", json={"name": "双节点"}, headers=owner).json()

        def token(user: str) -> str:
            issued = httpx2.post(f"{b.url}/api/v1/viewer-tokens", json={"user_id": user}, headers=owner)
            return str(issued.json()["token"])

        path = f"/ws/rooms/{room['id']}?token="
        with (
            connect(a.ws_url + path + token("alice")) as on_a,
            connect(b.ws_url + path + token("bob")) as on_b,
        ):
            seen_a: dict[str, int] = {}
            seen_b: dict[str, int] = {}
            for ws, seen in ((on_a, seen_a), (on_b, seen_b)):
                read_until(ws, lambda f: f["type"] in ("snapshot", "resume"), seen)

            on_a.send(json.dumps({"type": "comment", "text": "来自 A 节点", "ref": "a1"}))
            ack = read_until(on_a, lambda f: f["type"] == "ack", seen_a)
            got = read_until(on_b, comment_with("来自 A 节点"), seen_b)
            assert [i["offset"] for i in got["items"] if i["data"].get("text") == "来自 A 节点"] == [
                ack["offset"]
            ]

            on_b.send(json.dumps({"type": "comment", "text": "B 收到", "ref": "b1"}))
            read_until(on_a, comment_with("B 收到"), seen_a)

            on_a.send(json.dumps({"type": "like", "count": 30}))
            on_b.send(json.dumps({"type": "like", "count": 12}))
            for ws, seen in ((on_a, seen_a), (on_b, seen_b)):
                read_until(ws, global_counts_reached(seen), seen)
