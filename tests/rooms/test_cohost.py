"""Co-hosting (连麦): the seat flow over the API, roles, RTC tokens checked with each provider's library."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import agora_token_builder.AccessToken as agora  # type: ignore[import-untyped]
import jwt
import pytest
from fastapi import FastAPI
from livekit.api import TokenVerifier
from sqlalchemy.exc import IntegrityError
from starlette.testclient import TestClient

from liveloop.adapters.rtc import make_rtc_issuer
from liveloop.adapters.rtc.agora import MAX_TTL_SECONDS, agora_account
from liveloop.core.container import Container
from liveloop.core.events import Event, make_event
from liveloop.core.rtc import AgoraConfig, LiveKitConfig, RtcProvider
from liveloop.rooms import IllegalTransition, cohost
from liveloop.rooms.events import (
    CohostApproved,
    CohostCancelled,
    CohostEnded,
    CohostRejected,
    CohostRequested,
)
from liveloop.rooms.storage import SeatRequestRow
from liveloop.shops import Role
from liveloop.shops.credentials import sign_viewer_token
from liveloop.shops.storage import ShopRow
from tests.conftest import ShopKeys, created, run_in_app
from tests.rooms.test_api import make_room

LIVEKIT = {
    "provider": "livekit",
    "livekit_url": "wss://rtc.example.com",
    "livekit_api_key": "APIk3yL1v3",
    "livekit_api_secret": "lk-secret-0123456789abcdef-0123456789-WXYZ",
}
AGORA = {
    "provider": "agora",
    "agora_app_id": "970ca35de60c44645bbae8a215061b33",
    "agora_app_certificate": "5cfd2fd1755d40ecb72977518be15d3b",
}
Headers = dict[str, str]


@pytest.fixture
def api(client: TestClient) -> TestClient:
    """The app (it mounts the co-host routes and the RTC factory itself)."""
    assert cast(FastAPI, client.app).state.rtc_factory is make_rtc_issuer
    return client


@pytest.fixture
def events(api: TestClient) -> list[Event]:
    seen: list[Event] = []

    async def record(batch: Any) -> None:
        seen.extend(e for e in batch if e.type.startswith("cohost."))

    async def subscribe(c: Container) -> None:
        c.events.subscribe(record)

    run_in_app(api, subscribe)
    return seen


def viewer(client: TestClient, shop: ShopKeys, user_id: str, nickname: str = "") -> Headers:
    body = {"user_id": user_id, "nickname": nickname or user_id}
    token = created(client.post("/api/v1/viewer-tokens", json=body, headers=shop.headers()))["token"]
    return {"Authorization": f"Bearer {token}"}


def error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    code: str = response.json()["error"]["code"]
    return code


def wait_for(events: list[Event], count: int) -> list[Event]:
    deadline = time.monotonic() + 5
    while len(events) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return events


def test_seat_flow_end_to_end(api: TestClient, shop: ShopKeys, events: list[Event]) -> None:
    room = make_room(api, shop)["id"]
    mine, staff = f"/api/v1/viewer/rooms/{room}/seat-requests", f"/api/v1/rooms/{room}/seat-requests"
    alice, bob, carol = (
        viewer(api, shop, u, n) for u, n in [("alice", "小爱"), ("bob", "Bob"), ("carol", "C")]
    )
    host = shop.headers(Role.HOST)

    first = created(api.post(mine, headers=alice))
    assert (first["state"], first["viewer_id"], first["nickname"], first["room_id"]) == (
        "requested",
        "u:alice",
        "小爱",
        room,
    )
    again = api.post(mine, headers=alice)
    assert error(again, 409) == "rooms.seat_request_open"
    assert again.json()["error"]["details"] == {"request_id": first["id"], "state": "requested"}
    assert [r["id"] for r in api.get(staff, headers=host).json()["items"]] == [first["id"]]

    assert api.post(f"{staff}/{first['id']}/approve", headers=host).json()["state"] == "approved"
    assert api.get(f"{mine}/mine", headers=alice).json()["state"] == "approved"
    assert error(api.post(mine, headers=alice), 409) == "rooms.seat_request_open"

    second = created(api.post(mine, headers=bob))
    full = api.post(f"{staff}/{second['id']}/approve", headers=host)
    assert error(full, 409) == "rooms.seats_full"
    assert full.json()["error"]["details"] == {"max_seats": 1, "seated": 1}
    assert api.get(f"{mine}/mine", headers=bob).json()["state"] == "requested"
    assert api.get(f"/api/v1/rooms/{room}/cohost", headers=host).json() == {
        "room_id": room,
        "max_seats": 1,
        "seated": 1,
    }
    patched = api.patch(
        f"/api/v1/rooms/{room}/cohost", json={"max_seats": 2}, headers=shop.headers(Role.OPERATOR)
    )
    assert patched.json() == {"room_id": room, "max_seats": 2, "seated": 1}
    assert api.post(f"{staff}/{second['id']}/approve", headers=host).json()["state"] == "approved"

    third = created(api.post(mine, headers=carol))
    rejected = api.post(f"{staff}/{third['id']}/reject", headers=host).json()
    assert (rejected["state"], rejected["approved_at"]) == ("rejected", None)
    assert rejected["closed_at"] is not None
    assert api.get(f"{mine}/mine", headers=carol).json()["state"] == "rejected"
    assert error(api.post(f"{staff}/{third['id']}/approve", headers=host), 409) == "rooms.illegal_transition"
    fourth = created(api.post(mine, headers=carol))
    assert api.delete(f"{mine}/mine", headers=carol).json()["state"] == "cancelled"
    assert error(api.delete(f"{mine}/mine", headers=carol), 404) == "rooms.seat_request_not_found"

    assert api.delete(f"{mine}/mine", headers=alice).json()["state"] == "ended"
    assert api.post(f"{staff}/{second['id']}/end", headers=host).json()["state"] == "ended"
    assert error(api.post(f"{staff}/{second['id']}/end", headers=host), 409) == "rooms.illegal_transition"
    assert api.get(f"/api/v1/rooms/{room}/cohost", headers=host).json()["seated"] == 0
    states = {r["id"]: r["state"] for r in api.get(staff, headers=host).json()["items"]}
    assert states == {
        first["id"]: "ended",
        second["id"]: "ended",
        third["id"]: "rejected",
        fourth["id"]: "cancelled",
    }
    assert [r["id"] for r in api.get(staff, params={"state": "ended"}, headers=host).json()["items"]] == [
        first["id"],
        second["id"],
    ]

    host_actor = f"staff:{api.get('/api/v1/me', headers=host).json()['staff']['id']}"
    expected = [
        ("cohost.requested", first["id"], "u:alice"),
        ("cohost.approved", first["id"], host_actor),
        ("cohost.requested", second["id"], "u:bob"),
        ("cohost.approved", second["id"], host_actor),
        ("cohost.requested", third["id"], "u:carol"),
        ("cohost.rejected", third["id"], host_actor),
        ("cohost.requested", fourth["id"], "u:carol"),
        ("cohost.cancelled", fourth["id"], "u:carol"),
        ("cohost.ended", first["id"], "u:alice"),
        ("cohost.ended", second["id"], host_actor),
    ]
    seen = wait_for(events, len(expected))
    assert [(e.type, e.data["request_id"], e.actor) for e in seen] == expected
    assert seen[0].data == {
        "room_id": room,
        "request_id": first["id"],
        "viewer_id": "u:alice",
        "nickname": "小爱",
    }
    assert {(e.shop_id, e.room_id) for e in seen} == {(shop.shop_id, room)}


def test_requests_remember_the_live_show(api: TestClient, shop: ShopKeys) -> None:
    room = make_room(api, shop)["id"]
    show = created(
        api.post(
            "/api/v1/shows",
            json={
                "room_id": room,
                "title": "直播",
                "planned_start": "2026-12-01T12:00:00Z",
                "planned_end": "2026-12-01T13:00:00Z",
            },
            headers=shop.headers(),
        )
    )
    alice = viewer(api, shop, "alice")
    early = created(api.post(f"/api/v1/viewer/rooms/{room}/seat-requests", headers=alice))
    assert early["show_id"] is None
    api.delete(f"/api/v1/viewer/rooms/{room}/seat-requests/mine", headers=alice)
    assert api.post(f"/api/v1/shows/{show['id']}/start", headers=shop.headers()).status_code == 200
    live = created(api.post(f"/api/v1/viewer/rooms/{room}/seat-requests", headers=alice))
    assert live["show_id"] == show["id"]


def _viewer_key(client: TestClient, shop_id: int) -> str:
    async def read(c: Container) -> str:
        async with c.db.read() as session:
            return (await session.get_one(ShopRow, shop_id)).viewer_key

    return run_in_app(client, read)


def test_who_may_do_what(api: TestClient, shop: ShopKeys, other_shop: ShopKeys) -> None:
    room = make_room(api, shop)["id"]
    mine, staff = f"/api/v1/viewer/rooms/{room}/seat-requests", f"/api/v1/rooms/{room}/seat-requests"
    alice = viewer(api, shop, "alice")
    request = created(api.post(mine, headers=alice))
    approve = f"{staff}/{request['id']}/approve"

    assert error(api.post(approve, headers=shop.headers(Role.MODERATOR)), 403) == "auth.permission_denied"
    assert error(api.post(approve, headers=alice), 401) == "auth.invalid_api_key"  # a viewer cannot approve
    moderator_patch = api.patch(
        f"/api/v1/rooms/{room}/cohost", json={"max_seats": 3}, headers=shop.headers(Role.MODERATOR)
    )
    assert error(moderator_patch, 403) == "auth.permission_denied"
    assert api.get(staff, headers=shop.headers(Role.MODERATOR)).status_code == 200

    assert error(api.post(mine), 401) == "auth.missing_credentials"  # guests have no viewer token
    assert error(api.post(mine, headers=shop.headers()), 401) == "auth.invalid_viewer_token"
    socket = created(api.post("/api/v1/socket-tokens", headers=shop.headers(Role.HOST)))["token"]
    staff_as_viewer = api.post(mine, headers={"Authorization": f"Bearer {socket}"})
    assert error(staff_as_viewer, 403) == "rooms.viewer_account_required"
    foreign = viewer(api, other_shop, "mallory")
    assert error(api.post(mine, headers=foreign), 401) == "auth.invalid_viewer_token"
    assert error(api.get(f"/api/v1/viewer/rooms/{room}/rtc-token", headers=foreign), 401) == (
        "auth.invalid_viewer_token"
    )
    expired, _ = sign_viewer_token(
        shop_id=shop.shop_id,
        key=_viewer_key(api, shop.shop_id),
        user_id="late",
        nickname="late",
        ttl=timedelta(minutes=5),
        now=datetime.now(UTC) - timedelta(hours=1),
    )
    assert (
        error(api.post(mine, headers={"Authorization": f"Bearer {expired}"}), 401)
        == "auth.expired_viewer_token"
    )
    assert (
        error(api.post("/api/v1/viewer/rooms/999999/seat-requests", headers=alice), 404)
        == "rooms.room_not_found"
    )

    theirs = make_room(api, other_shop)["id"]
    their_request = created(api.post(f"/api/v1/viewer/rooms/{theirs}/seat-requests", headers=foreign))
    assert error(
        api.post(
            f"/api/v1/rooms/{theirs}/seat-requests/{their_request['id']}/approve", headers=shop.headers()
        ),
        404,
    ) == ("rooms.room_not_found")
    assert error(api.post(f"{staff}/{their_request['id']}/approve", headers=shop.headers()), 404) == (
        "rooms.seat_request_not_found"
    )
    assert (
        error(api.get(f"/api/v1/rooms/{theirs}/rtc-token", headers=shop.headers()), 404)
        == "rooms.room_not_found"
    )

    # Nothing changed by any refused call.
    assert api.get(f"{mine}/mine", headers=alice).json()["state"] == "requested"
    assert [r["id"] for r in api.get(staff, headers=shop.headers()).json()["items"]] == [request["id"]]
    theirs_now = api.get(f"/api/v1/rooms/{theirs}/seat-requests", headers=other_shop.headers()).json()[
        "items"
    ]
    assert [r["state"] for r in theirs_now] == ["requested"]
    assert api.get(f"/api/v1/rooms/{room}/cohost", headers=shop.headers()).json()["max_seats"] == 1


def test_seat_limits_are_validated(api: TestClient, shop: ShopKeys) -> None:
    room = make_room(api, shop)["id"]
    url = f"/api/v1/rooms/{room}/cohost"
    for bad in (0, 9, None, "many"):
        assert api.patch(url, json={"max_seats": bad}, headers=shop.headers()).status_code == 422
    assert api.patch(url, json={}, headers=shop.headers()).json()["max_seats"] == 1
    assert api.patch(url, json={"max_seats": 8}, headers=shop.headers()).json()["max_seats"] == 8
    assert api.get(url, headers=shop.headers()).json()["max_seats"] == 8


def test_one_open_request_per_viewer_is_a_database_rule(api: TestClient, shop: ShopKeys) -> None:
    room = make_room(api, shop)["id"]

    async def insert(c: Container, state: str) -> None:
        async with c.db.transaction() as session:
            session.add(
                SeatRequestRow(shop_id=shop.shop_id, room_id=room, viewer_id="u:x", nickname="x", state=state)
            )

    run_in_app(api, lambda c: insert(c, "ended"))
    run_in_app(api, lambda c: insert(c, "requested"))
    with pytest.raises(IntegrityError):
        run_in_app(api, lambda c: insert(c, "approved"))


def _seat(api: TestClient, shop: ShopKeys, room: int, who: Headers) -> int:
    request = created(api.post(f"/api/v1/viewer/rooms/{room}/seat-requests", headers=who))
    approved = api.post(f"/api/v1/rooms/{room}/seat-requests/{request['id']}/approve", headers=shop.headers())
    assert approved.status_code == 200, approved.text
    return int(request["id"])


def test_livekit_tokens_carry_the_right_grants(api: TestClient, shop: ShopKeys) -> None:
    assert api.put("/api/v1/rtc-config", json=LIVEKIT, headers=shop.headers()).status_code == 200
    room = make_room(api, shop)["id"]
    alice, bob = viewer(api, shop, "alice", "小爱"), viewer(api, shop, "bob")
    _seat(api, shop, room, alice)
    verifier = TokenVerifier(LIVEKIT["livekit_api_key"], LIVEKIT["livekit_api_secret"])
    rtc_room = f"liveloop-{shop.shop_id}-{room}"

    def check(response: Any, *, identity: str, publish: bool, ttl: int) -> None:
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert (body["provider"], body["url"], body["app_id"]) == ("livekit", LIVEKIT["livekit_url"], None)
        assert (body["room"], body["identity"], body["can_publish"]) == (rtc_room, identity, publish)
        claims = verifier.verify(body["token"])
        assert claims.identity == identity
        assert claims.video is not None
        assert (claims.video.room_join, claims.video.room) == (True, rtc_room)
        assert (claims.video.can_publish, claims.video.can_publish_data, claims.video.can_subscribe) == (
            publish,
            publish,
            True,
        )
        raw = jwt.decode(body["token"], options={"verify_signature": False})
        assert (raw["iss"], raw["exp"] - raw["nbf"]) == (LIVEKIT["livekit_api_key"], ttl)
        assert datetime.fromisoformat(body["expires_at"]).timestamp() == pytest.approx(raw["exp"], abs=2)

    seated = api.get(f"/api/v1/viewer/rooms/{room}/rtc-token", headers=alice)
    check(seated, identity="u:alice", publish=True, ttl=cohost.GUEST_TOKEN_TTL_SECONDS)
    assert verifier.verify(seated.json()["token"]).name == "小爱"
    watching = api.get(f"/api/v1/viewer/rooms/{room}/rtc-token", headers=bob)
    check(watching, identity="u:bob", publish=False, ttl=cohost.TOKEN_TTL_SECONDS)
    for role, publish in [
        (Role.OWNER, True),
        (Role.OPERATOR, True),
        (Role.HOST, True),
        (Role.MODERATOR, False),
    ]:
        me = api.get("/api/v1/me", headers=shop.headers(role)).json()["staff"]["id"]
        response = api.get(f"/api/v1/rooms/{room}/rtc-token", headers=shop.headers(role))
        check(response, identity=f"s:{me}", publish=publish, ttl=cohost.TOKEN_TTL_SECONDS)

    api.delete(f"/api/v1/viewer/rooms/{room}/seat-requests/mine", headers=alice)
    after = api.get(f"/api/v1/viewer/rooms/{room}/rtc-token", headers=alice)
    check(after, identity="u:alice", publish=False, ttl=cohost.TOKEN_TTL_SECONDS)
    with pytest.raises(jwt.InvalidSignatureError):
        TokenVerifier(LIVEKIT["livekit_api_key"], "another-secret-entirely-0123456789").verify(
            after.json()["token"]
        )


def _parse_agora(token: str) -> Any:
    parsed = agora.AccessToken()
    assert parsed.fromString(token)
    return parsed


def test_agora_tokens_carry_the_right_privileges(api: TestClient, shop: ShopKeys) -> None:
    assert api.put("/api/v1/rtc-config", json=AGORA, headers=shop.headers()).status_code == 200
    room = make_room(api, shop)["id"]
    alice, bob = viewer(api, shop, "alice"), viewer(api, shop, "b/o'b")
    _seat(api, shop, room, alice)
    channel = f"liveloop-{shop.shop_id}-{room}"
    publisher = {
        agora.kJoinChannel,
        agora.kPublishAudioStream,
        agora.kPublishVideoStream,
        agora.kPublishDataStream,
    }

    def check(response: Any, *, account: str, privileges: set[int], ttl: int) -> None:
        assert response.status_code == 200, response.text
        body = response.json()
        # Everything Agora's client.join(app_id, channel, token, uid) needs, and no secret.
        assert set(body) == {
            "provider",
            "token",
            "url",
            "app_id",
            "room",
            "identity",
            "can_publish",
            "expires_at",
        }
        assert AGORA["agora_app_certificate"].lower() not in response.text.lower()
        assert (body["provider"], body["url"], body["app_id"]) == ("agora", None, AGORA["agora_app_id"])
        assert (body["room"], body["identity"]) == (channel, account)
        token = body["token"]
        assert token.startswith("006" + AGORA["agora_app_id"])
        parsed = _parse_agora(token)
        assert set(parsed.messages) == privileges
        expires = int(datetime.fromisoformat(body["expires_at"]).timestamp())
        assert set(parsed.messages.values()) == {expires}
        assert expires - time.time() == pytest.approx(ttl, abs=5)
        # The signature covers app id, channel, account and privileges: rebuilding it with the
        # certificate and the parsed salt and timestamps gives back the very same token.
        rebuilt = agora.AccessToken(AGORA["agora_app_id"], AGORA["agora_app_certificate"], channel, account)
        rebuilt.salt, rebuilt.ts, rebuilt.messages = parsed.salt, parsed.ts, dict(parsed.messages)
        assert rebuilt.build() == token
        forged = agora.AccessToken(AGORA["agora_app_id"], "0" * 32, channel, account)
        forged.salt, forged.ts, forged.messages = parsed.salt, parsed.ts, dict(parsed.messages)
        assert forged.build() != token

    seated = api.get(f"/api/v1/viewer/rooms/{room}/rtc-token", headers=alice)
    check(seated, account="u:alice", privileges=publisher, ttl=cohost.GUEST_TOKEN_TTL_SECONDS)
    assert seated.json()["can_publish"] is True
    watching = api.get(f"/api/v1/viewer/rooms/{room}/rtc-token", headers=bob)
    check(watching, account="u:b%2Fo%27b", privileges={agora.kJoinChannel}, ttl=cohost.TOKEN_TTL_SECONDS)
    assert watching.json()["can_publish"] is False
    moderator = api.get(f"/api/v1/rooms/{room}/rtc-token", headers=shop.headers(Role.MODERATOR))
    me = api.get("/api/v1/me", headers=shop.headers(Role.MODERATOR)).json()["staff"]["id"]
    check(moderator, account=f"s:{me}", privileges={agora.kJoinChannel}, ttl=cohost.TOKEN_TTL_SECONDS)
    host = api.get(f"/api/v1/rooms/{room}/rtc-token", headers=shop.headers(Role.HOST))
    assert set(_parse_agora(host.json()["token"]).messages) == publisher


def test_agora_issuer_caps_ttl_and_refuses_empty_accounts() -> None:
    issuer = make_rtc_issuer(AgoraConfig(app_id=AGORA["agora_app_id"], app_certificate="c" * 32))
    assert issuer.provider is RtcProvider.AGORA
    token = issuer.issue(room="r", identity="u:a", name="a", can_publish=True, ttl_seconds=3 * 86400)
    assert (token.expires_at - datetime.now(UTC)).total_seconds() == pytest.approx(MAX_TTL_SECONDS, abs=5)
    with pytest.raises(ValueError, match="account"):
        issuer.issue(room="r", identity="", name="", can_publish=False, ttl_seconds=60)
    assert agora_account("u:张三 (VIP)") == "u:%E5%BC%A0%E4%B8%89 (VIP)"
    livekit = make_rtc_issuer(LiveKitConfig(url="wss://x", api_key="k", api_secret="s" * 32))
    assert livekit.provider is RtcProvider.LIVEKIT
    with pytest.raises(ValueError, match="identity"):
        livekit.issue(room="r", identity="", name="", can_publish=False, ttl_seconds=60)
    assert "s" * 32 not in repr(LiveKitConfig(url="wss://x", api_key="k", api_secret="s" * 32))


def test_tokens_need_a_configured_provider(api: TestClient, shop: ShopKeys) -> None:
    room = make_room(api, shop)["id"]
    alice = viewer(api, shop, "alice")
    for _ in range(2):
        assert error(api.get(f"/api/v1/viewer/rooms/{room}/rtc-token", headers=alice), 409) == (
            "rooms.rtc_not_configured"
        )
        assert error(api.get(f"/api/v1/rooms/{room}/rtc-token", headers=shop.headers()), 409) == (
            "rooms.rtc_not_configured"
        )
        api.put("/api/v1/rtc-config", json=LIVEKIT, headers=shop.headers())
        assert api.get(f"/api/v1/rooms/{room}/rtc-token", headers=shop.headers()).status_code == 200
        off = api.put("/api/v1/rtc-config", json={"provider": None}, headers=shop.headers()).json()
        assert (off["provider"], off["livekit_api_secret"]["is_set"]) == (None, False)


def test_rtc_config_never_returns_secrets(api: TestClient, shop: ShopKeys) -> None:
    url, owner = "/api/v1/rtc-config", shop.headers()
    empty = api.get(url, headers=owner).json()
    assert empty["provider"] is None
    assert empty["livekit_api_secret"] == {"is_set": False, "last4": None}

    saved = api.put(url, json=LIVEKIT, headers=owner)
    assert saved.headers["cache-control"] == "no-store"
    for response in (saved, api.get(url, headers=owner)):
        body = response.json()
        assert LIVEKIT["livekit_api_secret"] not in response.text
        assert (body["provider"], body["livekit_url"], body["livekit_api_key"]) == (
            "livekit",
            LIVEKIT["livekit_url"],
            LIVEKIT["livekit_api_key"],
        )
        assert body["livekit_api_secret"] == {"is_set": True, "last4": "WXYZ"}

    # A secret left out keeps the stored one; the other settings are replaced.
    moved = api.put(
        url, json=LIVEKIT | {"livekit_url": "wss://eu.example.com", "livekit_api_secret": None}, headers=owner
    )
    assert moved.json()["livekit_url"] == "wss://eu.example.com"
    assert moved.json()["livekit_api_secret"]["last4"] == "WXYZ"

    switched = api.put(url, json=AGORA, headers=owner)
    assert AGORA["agora_app_certificate"] not in switched.text
    body = switched.json()
    assert (body["provider"], body["agora_app_id"], body["livekit_url"]) == (
        "agora",
        AGORA["agora_app_id"],
        None,
    )
    assert body["agora_app_certificate"] == {"is_set": True, "last4": "5d3b"}
    assert body["livekit_api_secret"] == {"is_set": False, "last4": None}

    missing = api.put(
        url, json={"provider": "livekit", "livekit_url": "wss://x", "livekit_api_key": "k"}, headers=owner
    )
    assert error(missing, 422) == "rooms.invalid_rtc_config"
    assert "livekit_api_secret" in missing.json()["error"]["message"]
    mixed = api.put(url, json=LIVEKIT | {"agora_app_id": AGORA["agora_app_id"]}, headers=owner)
    assert error(mixed, 422) == "rooms.invalid_rtc_config"
    assert error(api.put(url, json=AGORA | {"agora_app_id": "not-hex"}, headers=owner), 422) == (
        "request.validation_error"
    )
    assert error(api.put(url, json=LIVEKIT | {"livekit_api_secret": "short"}, headers=owner), 422) == (
        "request.validation_error"
    )
    assert error(api.put(url, json=LIVEKIT | {"livekit_url": "ftp://x"}, headers=owner), 422) == (
        "request.validation_error"
    )
    assert api.get(url, headers=owner).json() == body  # refused changes changed nothing

    for role in (Role.OPERATOR, Role.HOST, Role.MODERATOR):
        assert error(api.get(url, headers=shop.headers(role)), 403) == "auth.permission_denied"
        assert error(api.put(url, json=LIVEKIT, headers=shop.headers(role)), 403) == "auth.permission_denied"


SAMPLES = [
    CohostRequested(room_id=1, request_id=2, viewer_id="u:alice", nickname="小爱"),
    CohostApproved(room_id=1, request_id=2, viewer_id="u:alice", nickname="小爱"),
    CohostRejected(room_id=1, request_id=2, viewer_id="u:alice", nickname="小爱"),
    CohostCancelled(room_id=1, request_id=2, viewer_id="u:alice", nickname="小爱"),
    CohostEnded(room_id=1, request_id=2, viewer_id="u:alice", nickname="小爱"),
]


@pytest.mark.parametrize("payload", SAMPLES, ids=lambda p: type(p).TYPE)
def test_events_round_trip_through_the_envelope(payload: CohostRequested) -> None:
    event = make_event(payload, shop_id=1, room_id=1, show_id=3, actor="staff:9")
    wire = Event.model_validate_json(event.model_dump_json())
    assert wire == event
    assert type(payload).model_validate(wire.data) == payload
    assert {type(s).TYPE for s in SAMPLES} == {f"cohost.{s.value}" for s in cohost.SeatState}


def test_seat_state_machine() -> None:
    S, A = cohost.SeatState, cohost.SeatAction
    assert cohost.next_seat_state(S.REQUESTED, A.APPROVE) is S.APPROVED
    assert cohost.next_seat_state(S.APPROVED, A.LEAVE) is S.ENDED
    for state in (S.REJECTED, S.CANCELLED, S.ENDED):
        for action in A:
            with pytest.raises(IllegalTransition):
                cohost.next_seat_state(state, action)
