"""Shops API: identity, staff management, API keys, viewer tokens."""

from __future__ import annotations

from starlette.testclient import TestClient

from liveloop.shops import Role
from tests.conftest import ShopKeys, created


def test_me_names_shop_role_and_permissions(client: TestClient, shop: ShopKeys) -> None:
    me = client.get("/api/v1/me", headers=shop.headers(Role.HOST)).json()
    assert me["shop"]["id"] == shop.shop_id
    assert me["staff"]["role"] == "host"
    assert "shows.control" in me["permissions"]
    assert "catalog.write" not in me["permissions"]


def test_missing_and_malformed_credentials_are_401(client: TestClient, shop: ShopKeys) -> None:
    assert client.get("/api/v1/me").json()["error"]["code"] == "auth.missing_credentials"
    bad = client.get("/api/v1/me", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "auth.invalid_api_key"
    forged = shop.keys[Role.OWNER][:-4] + "AAAA"
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_revoked_key_stops_working(client: TestClient, shop: ShopKeys) -> None:
    owner = shop.headers()
    staff_id = client.get("/api/v1/me", headers=shop.headers(Role.HOST)).json()["staff"]["id"]
    keys = client.get(f"/api/v1/staff/{staff_id}/api-keys", headers=owner).json()
    assert len(keys) == 1
    assert "key" not in keys[0]
    assert "secret_hash" not in keys[0]
    assert client.delete(f"/api/v1/api-keys/{keys[0]['id']}", headers=owner).status_code == 204
    assert client.get("/api/v1/me", headers=shop.headers(Role.HOST)).status_code == 401


def test_deactivated_staff_is_locked_out(client: TestClient, shop: ShopKeys) -> None:
    staff_id = client.get("/api/v1/me", headers=shop.headers(Role.OPERATOR)).json()["staff"]["id"]
    patched = client.patch(f"/api/v1/staff/{staff_id}", json={"active": False}, headers=shop.headers())
    assert patched.json()["active"] is False
    assert client.get("/api/v1/me", headers=shop.headers(Role.OPERATOR)).status_code == 401


def test_shop_keeps_an_owner(client: TestClient, shop: ShopKeys) -> None:
    me = client.get("/api/v1/me", headers=shop.headers()).json()
    demote = client.patch(f"/api/v1/staff/{me['staff']['id']}", json={"role": "host"}, headers=shop.headers())
    assert demote.status_code == 409
    assert demote.json()["error"]["code"] == "shops.last_owner"


def test_staff_list_paginates(client: TestClient, shop: ShopKeys) -> None:
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/staff", params=params, headers=shop.headers()).json()
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 4 == len(set(seen))
    assert seen == sorted(seen)
    bad = client.get("/api/v1/staff", params={"cursor": "!!"}, headers=shop.headers())
    assert bad.status_code == 422


def test_shop_update_validates_timezone(client: TestClient, shop: ShopKeys) -> None:
    ok = client.patch("/api/v1/shop", json={"timezone": "Asia/Tokyo"}, headers=shop.headers())
    assert ok.json()["timezone"] == "Asia/Tokyo"
    bad = client.patch("/api/v1/shop", json={"timezone": "Mars/Olympus"}, headers=shop.headers())
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "request.invalid"


def test_viewer_token_round_trip(client: TestClient, shop: ShopKeys) -> None:
    from liveloop.shops import get_viewer
    from tests.conftest import run_in_app

    issued = created(
        client.post(
            "/api/v1/viewer-tokens",
            json={"user_id": "alice-01", "nickname": "爱丽丝"},
            headers=shop.headers(Role.OPERATOR),
        )
    )
    assert issued["viewer_id"] == "u:alice-01"
    viewer = run_in_app(client, lambda c: get_viewer(c.db, issued["token"]))
    assert (viewer.shop_id, viewer.user_id, viewer.nickname) == (shop.shop_id, "alice-01", "爱丽丝")
    # A rotated key keeps old tokens valid; a second rotation retires them.
    client.post("/api/v1/shop/rotate-viewer-key", headers=shop.headers())
    assert run_in_app(client, lambda c: get_viewer(c.db, issued["token"])).user_id == "alice-01"
    client.post("/api/v1/shop/rotate-viewer-key", headers=shop.headers())
    from liveloop.shops import InvalidViewerToken

    try:
        run_in_app(client, lambda c: get_viewer(c.db, issued["token"]))
    except InvalidViewerToken:
        pass
    else:
        raise AssertionError("a token signed with a retired key was accepted")


def test_hosts_cannot_issue_viewer_tokens(client: TestClient, shop: ShopKeys) -> None:
    denied = client.post("/api/v1/viewer-tokens", json={"user_id": "u1"}, headers=shop.headers(Role.HOST))
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "auth.permission_denied"
