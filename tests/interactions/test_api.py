"""Staff routes: the word list, comment settings, slow mode, bans and mutes; roles and tenancy."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from starlette.testclient import TestClient

from liveloop.core.container import Container
from liveloop.core.events import Event
from liveloop.interactions import InteractionsContext, Muted, check_comment
from liveloop.shops import Role
from tests.conftest import ShopKeys, created, run_in_app

WORDS = "/api/v1/moderation/words"
SETTINGS = "/api/v1/moderation/settings"


def error_code(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    code: str = response.json()["error"]["code"]
    return code


@pytest.fixture
def emitted(client: TestClient) -> list[Event]:
    """Events the app emits from now on."""
    seen: list[Event] = []

    async def collect(batch: Sequence[Event]) -> None:
        seen.extend(batch)

    async def subscribe(container: Container) -> None:
        container.events.subscribe(collect)

    run_in_app(client, subscribe)
    return seen


def wait_for(client: TestClient, events: list[Event], count: int) -> list[str]:
    for _ in range(100):
        if len(events) >= count:
            break
        run_in_app(client, lambda _c: asyncio.sleep(0.01))
    return [e.type for e in events]


def test_word_list_crud(client: TestClient, shop: ShopKeys) -> None:
    owner, moderator = shop.headers(), shop.headers(Role.MODERATOR)
    added = client.post(
        WORDS, json={"words": ["微信", " ＶＸ ", "vx", "返现"]}, headers=shop.headers(Role.OPERATOR)
    )
    assert added.status_code == 200, added.text
    assert added.json() == {"added": ["微信", "vx", "返现"], "total": 3}
    again = client.post(WORDS, json={"words": ["VX", "红包"]}, headers=owner).json()
    assert again == {"added": ["红包"], "total": 4}
    first = client.get(WORDS, params={"limit": 3}, headers=moderator).json()
    assert [w["word"] for w in first["items"]] == ["微信", "vx", "返现"]
    rest = client.get(WORDS, params={"cursor": first["next_cursor"]}, headers=moderator).json()
    assert ([w["word"] for w in rest["items"]], rest["next_cursor"]) == (["红包"], None)
    removed = client.request("DELETE", WORDS, json={"words": ["Ｖ Ｘ", "nope"]}, headers=owner)
    assert removed.json() == {"removed": ["vx"], "total": 3}


def test_moderators_and_hosts_cannot_change_the_word_list(client: TestClient, shop: ShopKeys) -> None:
    for role in (Role.MODERATOR, Role.HOST):
        denied = client.post(WORDS, json={"words": ["x"]}, headers=shop.headers(role))
        assert error_code(denied, 403) == "auth.permission_denied"
        gone = client.request("DELETE", WORDS, json={"words": ["x"]}, headers=shop.headers(role))
        assert gone.status_code == 403
        assert (
            client.patch(SETTINGS, json={"filter_mode": "block"}, headers=shop.headers(role)).status_code
            == 403
        )
    assert client.get(WORDS).status_code == 401


def test_word_input_is_validated(client: TestClient, shop: ShopKeys) -> None:
    bodies: list[dict[str, Any]] = [
        {"words": []},
        {"words": ["x" * 51]},
        {"words": [""]},
        {"words": ["ok"] * 1001},
        {"words": "微信"},
        {"words": ["ok"], "extra": 1},
    ]
    for body in bodies:
        assert (
            error_code(client.post(WORDS, json=body, headers=shop.headers()), 422)
            == "request.validation_error"
        )
    blank = client.post(WORDS, json={"words": ["ok", "!!!"]}, headers=shop.headers())
    assert error_code(blank, 422) == "interactions.invalid_word"
    assert client.get(WORDS, headers=shop.headers()).json()["items"] == []


def test_settings(client: TestClient, shop: ShopKeys, other_shop: ShopKeys) -> None:
    defaults = {
        "filter_mode": "mask",
        "max_comment_length": 100,
        "comment_rate_per_second": 1.0,
        "comment_burst": 3,
    }
    assert client.get(SETTINGS, headers=shop.headers(Role.MODERATOR)).json() == defaults
    patched = client.patch(
        SETTINGS, json={"filter_mode": "block", "comment_burst": 5}, headers=shop.headers()
    )
    assert patched.json() == defaults | {"filter_mode": "block", "comment_burst": 5}
    operator = client.patch(SETTINGS, json={"max_comment_length": 50}, headers=shop.headers(Role.OPERATOR))
    assert operator.json()["max_comment_length"] == 50
    assert client.get(SETTINGS, headers=shop.headers()).json()["comment_burst"] == 5
    assert client.get(SETTINGS, headers=other_shop.headers()).json() == defaults
    for bad in (
        {"max_comment_length": 0},
        {"max_comment_length": 501},
        {"comment_rate_per_second": 0},
        {"comment_burst": 0},
        {"filter_mode": "delete"},
        {"filter_mode": None},
    ):
        assert (
            error_code(client.patch(SETTINGS, json=bad, headers=shop.headers()), 422)
            == "request.validation_error"
        )


def test_slow_mode(client: TestClient, shop: ShopKeys, room_id: int, emitted: list[Event]) -> None:
    url = f"/api/v1/rooms/{room_id}/moderation"
    initial = {"room_id": room_id, "slow_mode_seconds": 0, "pinned_offset": None, "pinned_text": None}
    assert client.get(url, headers=shop.headers(Role.MODERATOR)).json() == initial
    host = client.patch(url, json={"slow_mode_seconds": 15}, headers=shop.headers(Role.HOST))
    assert host.json() == initial | {"slow_mode_seconds": 15}
    assert wait_for(client, emitted, 1) == ["slow_mode.changed"]
    assert emitted[0].data == {"seconds": 15}
    assert client.patch(url, json={}, headers=shop.headers()).json()["slow_mode_seconds"] == 15
    too_slow = client.patch(url, json={"slow_mode_seconds": 3601}, headers=shop.headers())
    assert error_code(too_slow, 422) == "request.validation_error"


def test_bans(client: TestClient, shop: ShopKeys, room_id: int, emitted: list[Event]) -> None:
    url = f"/api/v1/rooms/{room_id}/bans"
    moderator = shop.headers(Role.MODERATOR)
    ban = created(client.post(url, json={"viewer_id": "d:设备-1", "reason": "广告"}, headers=moderator))
    assert (ban["room_id"], ban["viewer_id"], ban["reason"]) == (room_id, "d:设备-1", "广告")
    me = client.get("/api/v1/me", headers=moderator).json()
    assert ban["banned_by"] == me["staff"]["id"]
    created(client.post(url, json={"viewer_id": "u:alice"}, headers=shop.headers(Role.HOST)))
    again = client.post(url, json={"viewer_id": "u:alice"}, headers=shop.headers())
    assert error_code(again, 409) == "interactions.already_banned"
    page = client.get(url, params={"limit": 1}, headers=moderator).json()
    assert [b["viewer_id"] for b in page["items"]] == ["d:设备-1"]
    rest = client.get(url, params={"cursor": page["next_cursor"]}, headers=moderator).json()
    assert [b["viewer_id"] for b in rest["items"]] == ["u:alice"]
    assert client.delete(f"{url}/u:alice", headers=moderator).status_code == 204
    assert error_code(client.delete(f"{url}/u:alice", headers=moderator), 404) == "interactions.ban_not_found"
    assert wait_for(client, emitted, 3) == ["viewer.banned", "viewer.banned", "viewer.unbanned"]
    assert emitted[0].actor == f"staff:{me['staff']['id']}"
    assert [b["viewer_id"] for b in client.get(url, headers=moderator).json()["items"]] == ["d:设备-1"]


def test_viewer_ids_are_validated(client: TestClient, shop: ShopKeys, room_id: int) -> None:
    url = f"/api/v1/rooms/{room_id}"
    for viewer in ("alice", "x:alice", "u:", "u:has space", "d:" + "x" * 65, "d:\x07"):
        ban = client.post(f"{url}/bans", json={"viewer_id": viewer}, headers=shop.headers())
        assert error_code(ban, 422) == "request.validation_error", viewer
        mute = client.post(f"{url}/mutes", json={"viewer_id": viewer, "seconds": 60}, headers=shop.headers())
        assert mute.status_code == 422
    assert error_code(client.delete(f"{url}/bans/alice", headers=shop.headers()), 422) == (
        "interactions.invalid_viewer_id"
    )


def test_mutes_reach_the_hot_path(client: TestClient, shop: ShopKeys, room_id: int) -> None:
    url = f"/api/v1/rooms/{room_id}/mutes"
    muted = created(
        client.post(url, json={"viewer_id": "u:alice", "seconds": 600}, headers=shop.headers(Role.HOST))
    )
    assert (muted["room_id"], muted["viewer_id"]) == (room_id, "u:alice")
    for seconds in (0, 7 * 86400 + 1, "soon"):
        bad = client.post(url, json={"viewer_id": "u:alice", "seconds": seconds}, headers=shop.headers())
        assert error_code(bad, 422) == "request.validation_error"

    async def try_comment(container: Container) -> str:
        ctx = InteractionsContext(db=container.db, counters=container.counters)
        try:
            await check_comment(ctx, shop_id=shop.shop_id, room_id=room_id, viewer_id="u:alice", text="hi")
        except Muted as exc:
            return exc.code
        return "allowed"

    assert run_in_app(client, try_comment) == "interactions.muted"


def test_another_shops_room_is_404(
    client: TestClient, shop: ShopKeys, other_shop: ShopKeys, room_id: int
) -> None:
    foreign = other_shop.headers()
    url = f"/api/v1/rooms/{room_id}"
    for response in (
        client.get(f"{url}/moderation", headers=foreign),
        client.patch(f"{url}/moderation", json={"slow_mode_seconds": 5}, headers=foreign),
        client.get(f"{url}/bans", headers=foreign),
        client.post(f"{url}/bans", json={"viewer_id": "u:alice"}, headers=foreign),
        client.delete(f"{url}/bans/u:alice", headers=foreign),
        client.post(f"{url}/mutes", json={"viewer_id": "u:alice", "seconds": 60}, headers=foreign),
        client.get("/api/v1/rooms/999999/moderation", headers=shop.headers()),
    ):
        assert error_code(response, 404) == "rooms.room_not_found"
    assert client.get(f"{url}/bans", headers=shop.headers()).json()["items"] == []


def test_routes_are_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths[WORDS]) == {"get", "post", "delete"}
    assert set(paths["/api/v1/rooms/{room_id}/bans/{viewer_id}"]) == {"delete"}
    assert "422" in paths["/api/v1/rooms/{room_id}/mutes"]["post"]["responses"]
