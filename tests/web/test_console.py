"""The operator console without a browser: sign-in, the cookie session, pages, the metrics socket.

The browser tests (test_console_page.py) drive the same pages in Chromium; here every rule is
checked directly: cookie attributes, redirects, other shops' shows, the socket's frames and closes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from liveloop.realtime.protocol import CloseCode
from liveloop.shops import Role
from liveloop.web import console_socket
from liveloop.web.console_auth import STAFF_COOKIE
from liveloop.web.console_i18n import CONSOLE_STRINGS
from tests.conftest import ShopKeys, created, make_shop

FORM = {"content-type": "application/x-www-form-urlencoded"}
CONSOLE = {"X-Liveloop-Console": "1"}


def sign_in(client: TestClient, key: str, *, next_page: str = "") -> Any:
    body = f"key={key}" + (f"&next={next_page}" if next_page else "")
    return client.post("/console/login", content=body, headers=FORM, follow_redirects=False)


def make_show(client: TestClient, shop: ShopKeys, title: str, *, start: bool = False) -> dict[str, Any]:
    room = created(client.post("/api/v1/rooms", json={"name": f"{title}的直播间"}, headers=shop.headers()))
    body = {
        "room_id": room["id"],
        "title": title,
        "planned_start": "2026-12-01T12:00:00Z",
        "planned_end": "2026-12-01T14:00:00Z",
    }
    show = created(client.post("/api/v1/shows", json=body, headers=shop.headers()))
    if start:
        started = client.post(f"/api/v1/shows/{show['id']}/start", headers=shop.headers())
        assert started.status_code == 200, started.text
        show = started.json()
    return show


def ratio(numerator: float, denominator: float, base: str, *, scale: float = 1) -> dict[str, Any]:
    value = numerator / denominator * scale if denominator else None
    return {"value": value, "numerator": numerator, "denominator": denominator, "base": base}


def snapshot(show_id: int, *, ccu: int) -> dict[str, Any]:
    """A small snapshot in the contract's schema (contracts.md), as LiveMetrics pushes it."""
    totals = {
        "uv": 10,
        "pv": 12,
        "ccu": ccu,
        "pcu": max(ccu, 7),
        "gmv_cents": 17800,
        "paid_orders": 2,
        "avg_watch_seconds": ratio(600, 10, "uv"),
        "interaction_rate": ratio(4, 10, "uv"),
        "ctr": ratio(3, 6, "exposure_uv"),
        "gpm": ratio(17800, 12, "pv", scale=1000),
        "aov_per_order": ratio(17800, 2, "paid_orders"),
        "view_to_paid": ratio(2, 10, "uv"),
    }
    minute = {"minute": "2026-12-01T12:00:00+00:00", "index": 0, "ccu": ccu, "comments": 3, "likes": 9}
    return {"show_id": show_id, "status": "live", "totals": totals, "products": [], "minutes": [minute]}


class FakeLiveMetrics:
    """Stands in for analytics' LiveMetrics: the same method, counting calls, optionally failing."""

    def __init__(self, *, fail: bool = False) -> None:
        self.calls: list[tuple[int, int]] = []
        self.fail = fail

    async def snapshot(self, shop_id: int, show_id: int) -> Mapping[str, Any]:
        self.calls.append((shop_id, show_id))
        if self.fail:
            raise RuntimeError("boom")
        return snapshot(show_id, ccu=len(self.calls))


class FakeAlerts:
    def __init__(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        self.alerts = list(alerts)

    async def recent(self, shop_id: int, show_id: int) -> Sequence[Mapping[str, Any]]:
        return self.alerts


def closed_with(ws: Any) -> int:
    """Read frames until the server closes; the close code."""
    for _ in range(100):
        try:
            ws.receive_json()
        except WebSocketDisconnect as closed:
            return int(closed.code)
    raise AssertionError("the socket was not closed")


def test_sign_in_sets_a_strict_http_only_cookie_and_sign_out_clears_it(
    client: TestClient, shop: ShopKeys
) -> None:
    page = client.get("/console", follow_redirects=False)
    assert (page.status_code, page.headers["location"]) == (303, "/console/login?next=%2Fconsole")
    assert "登录运营控制台" in client.get("/console/login").text

    empty = sign_in(client, "")
    assert (empty.status_code, "请粘贴你的员工 API 密钥" in empty.text) == (400, True)
    for bad in ("nonsense", "llk_0123456789abcdef_" + "A" * 43, shop.keys[Role.OWNER] + "x"):
        refused = sign_in(client, bad)
        assert refused.status_code == 401, bad
        assert "密钥无效" in refused.text
        assert STAFF_COOKIE not in refused.headers.get("set-cookie", "")

    signed = sign_in(client, shop.keys[Role.MODERATOR], next_page="/console/shows/1")
    assert (signed.status_code, signed.headers["location"]) == (303, "/console/shows/1")
    cookie = signed.headers["set-cookie"]
    assert cookie.startswith(f"{STAFF_COOKIE}={shop.keys[Role.MODERATOR]};")
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/", "Max-Age="):
        assert attribute in cookie
    page = client.get("/console")
    assert page.status_code == 200
    assert "场控" in page.text  # the moderator's role, as the top bar shows it
    assert client.get("/console/login", follow_redirects=False).status_code == 303  # already in

    out = client.post("/console/logout", follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/console/login")
    assert f'{STAFF_COOKIE}=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_sign_in_refuses_foreign_origins_and_foreign_next_pages(client: TestClient, shop: ShopKeys) -> None:
    key = shop.keys[Role.OWNER]
    forged = client.post(
        "/console/login", content=f"key={key}", headers=FORM | {"Origin": "https://evil.example"}
    )
    assert forged.status_code == 403
    assert STAFF_COOKIE not in forged.headers.get("set-cookie", "")
    for target in ("https://evil.example/", "//evil.example/console", "/api/v1/me", "/console\\@evil"):
        answer = sign_in(client, key, next_page=target)
        assert answer.headers["location"] == "/console", target
    assert client.post("/console/logout", headers={"Origin": "https://evil.example"}).status_code == 403


def test_the_cookie_calls_the_api_only_with_the_console_header(
    client: TestClient, shop: ShopKeys, other_shop: ShopKeys
) -> None:
    sign_in(client, shop.keys[Role.HOST])
    assert client.get("/api/v1/me").status_code == 401  # a cookie alone is not a credential
    me = client.get("/api/v1/me", headers=CONSOLE)
    assert me.status_code == 200
    assert me.json()["shop"]["id"] == shop.shop_id
    assert me.json()["staff"]["role"] == "host"
    # Roles still apply: a host may not manage staff.
    assert client.get("/api/v1/staff", headers=CONSOLE).status_code == 403
    # An explicit Authorization header wins over the cookie.
    explicit = client.get("/api/v1/me", headers=CONSOLE | other_shop.headers())
    assert explicit.json()["shop"]["id"] == other_shop.shop_id
    client.cookies.clear()
    assert client.get("/api/v1/me", headers=CONSOLE).status_code == 401


def test_show_list_has_only_this_shops_shows_live_first(
    client: TestClient, shop: ShopKeys, other_shop: ShopKeys
) -> None:
    later = make_show(client, shop, "周末专场")
    live = make_show(client, shop, "秋冬新品首发", start=True)
    foreign = make_show(client, other_shop, "别家的直播")
    sign_in(client, shop.keys[Role.OPERATOR])
    page = client.get("/console").text
    assert "别家的直播" not in page
    assert page.index("秋冬新品首发") < page.index("周末专场")
    assert f'href="/console/shows/{live["id"]}"' in page
    assert f'href="/console/shows/{later["id"]}"' in page
    assert "直播中" in page
    assert "未开始" in page
    assert "2026-12-01 20:00 – 22:00" in page  # planned times in the shop's zone (Asia/Shanghai)
    english = client.get("/console?lang=en").text
    assert "Shows" in english
    assert "Live view" in english
    assert f'href="/console/shows/{foreign["id"]}' not in english


def test_a_key_of_another_shop_cannot_open_the_show_page_or_socket(
    client: TestClient, shop: ShopKeys, other_shop: ShopKeys
) -> None:
    show = make_show(client, shop, "本店直播", start=True)
    sign_in(client, other_shop.keys[Role.OWNER])
    page = client.get(f"/console/shows/{show['id']}")
    assert page.status_code == 404
    assert "找不到这场直播" in page.text
    assert "本店直播" not in page.text
    for missing in ("0", "abc", "99999999999999999999", "424242"):
        assert client.get(f"/console/shows/{missing}").status_code == 404, missing
    with client.websocket_connect(f"/ws/console/shows/{show['id']}") as ws:
        assert ws.receive_json()["code"] == "rooms.show_not_found"
        assert closed_with(ws) == CloseCode.NOT_FOUND
    foreign_token = created(client.post("/api/v1/socket-tokens", headers=other_shop.headers()))["token"]
    client.cookies.clear()
    with client.websocket_connect(f"/ws/console/shows/{show['id']}?token={foreign_token}") as ws:
        assert ws.receive_json()["type"] == "error"
        assert closed_with(ws) == CloseCode.NOT_FOUND
    sign_in(client, shop.keys[Role.OWNER])
    assert client.get(f"/console/shows/{show['id']}").status_code == 200


def test_the_socket_refuses_missing_bad_and_cross_origin_credentials(
    client: TestClient, shop: ShopKeys
) -> None:
    show = make_show(client, shop, "直播")
    path = f"/ws/console/shows/{show['id']}"
    with client.websocket_connect(path) as ws:
        assert ws.receive_json()["code"] == "auth.missing_credentials"
        assert closed_with(ws) == CloseCode.UNAUTHORIZED
    viewer = created(client.post("/api/v1/viewer-tokens", json={"user_id": "ann"}, headers=shop.headers()))
    with client.websocket_connect(f"{path}?token={viewer['token']}") as ws:
        assert ws.receive_json()["code"] == "auth.staff_required"
        assert closed_with(ws) == CloseCode.UNAUTHORIZED
    with client.websocket_connect(f"{path}?token=garbage") as ws:
        assert ws.receive_json()["type"] == "error"
        assert closed_with(ws) == CloseCode.UNAUTHORIZED
    sign_in(client, shop.keys[Role.OWNER])
    with client.websocket_connect(path, headers={"Origin": "https://evil.example"}) as ws:
        assert ws.receive_json()["code"] == "auth.bad_origin"
        assert closed_with(ws) == CloseCode.FORBIDDEN


def test_the_socket_says_once_when_no_live_metrics_exist(client: TestClient, shop: ShopKeys) -> None:
    show = make_show(client, shop, "直播", start=True)
    sign_in(client, shop.keys[Role.OWNER])
    app: Any = client.app
    app.state.live_metrics = app.state.alerts = None
    with client.websocket_connect(f"/ws/console/shows/{show['id']}") as ws:
        hello = ws.receive_json()
        assert hello["show"] == {
            "id": show["id"],
            "room_id": show["room_id"],
            "title": "直播",
            "state": "live",
        }
        assert ws.receive_json()["code"] == "metrics.unavailable"
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}  # not a second "unavailable"


def test_the_socket_pushes_a_snapshot_every_second_and_alerts_when_they_change(
    client: TestClient, shop: ShopKeys
) -> None:
    show = make_show(client, shop, "直播", start=True)
    app: Any = client.app
    metrics = FakeLiveMetrics()
    alert = {
        "rule": "traffic_drop",
        "message": "在线人数下滑",
        "figures": {"ccu": 50},
        "suggestion": "发红包",
        "at": "x",
    }
    app.state.live_metrics, app.state.alerts = metrics, FakeAlerts([alert])
    token = created(client.post("/api/v1/socket-tokens", headers=shop.headers(Role.MODERATOR)))["token"]
    with client.websocket_connect(f"/ws/console/shows/{show['id']}?token={token}") as ws:
        assert ws.receive_json()["type"] == "hello"
        frames = [ws.receive_json() for _ in range(4)]  # metrics, alerts, metrics, metrics
    kinds = [f["type"] for f in frames]
    assert kinds == ["metrics", "alerts", "metrics", "metrics"]
    assert frames[1]["alerts"] == [alert]
    assert [f["metrics"]["totals"]["ccu"] for f in frames if f["type"] == "metrics"] == [1, 2, 3]
    assert set(metrics.calls) == {(shop.shop_id, show["id"])}


def test_a_failing_snapshot_is_an_error_frame_and_the_socket_lives_on(
    client: TestClient, shop: ShopKeys
) -> None:
    show = make_show(client, shop, "直播", start=True)
    app: Any = client.app
    app.state.live_metrics, app.state.alerts = FakeLiveMetrics(fail=True), None
    sign_in(client, shop.keys[Role.OWNER])
    with client.websocket_connect(f"/ws/console/shows/{show['id']}") as ws:
        ws.receive_json()
        assert ws.receive_json()["code"] == "metrics.failed"
        app.state.live_metrics = FakeLiveMetrics()
        assert ws.receive_json()["type"] == "metrics"


def test_a_key_revoked_while_connected_ends_the_socket(
    client: TestClient, shop: ShopKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console_socket, "RECHECK_SECONDS", 0.0)
    show = make_show(client, shop, "直播", start=True)
    app: Any = client.app
    app.state.live_metrics, app.state.alerts = FakeLiveMetrics(), None
    sign_in(client, shop.keys[Role.HOST])
    me = client.get("/api/v1/me", headers=CONSOLE).json()
    with client.websocket_connect(f"/ws/console/shows/{show['id']}") as ws:
        assert ws.receive_json()["type"] == "hello"
        assert ws.receive_json()["type"] == "metrics"
        keys = client.get(f"/api/v1/staff/{me['staff']['id']}/api-keys", headers=shop.headers()).json()
        for key in keys:
            client.delete(f"/api/v1/api-keys/{key['id']}", headers=shop.headers())
        assert closed_with(ws) == CloseCode.UNAUTHORIZED


def test_the_live_view_renders_its_config_in_either_language(client: TestClient, shop: ShopKeys) -> None:
    show = make_show(client, shop, "<b>口红</b>专场", start=True)
    sign_in(client, shop.keys[Role.MODERATOR])
    page = client.get(f"/console/shows/{show['id']}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'self';" in page.headers["content-security-policy"]
    assert "&lt;b&gt;口红&lt;/b&gt;专场" in page.text
    for label in (
        "在线人数",
        "峰值在线",
        "观看人数",
        "场观",
        "人均观看时长",
        "互动率",
        "商品点击率",
        "GPM",
        "客单价",
    ):
        assert label in page.text
    assert '"control": false' in page.text
    assert '"moderate": true' in page.text
    assert 'data-tool="start"' not in page.text
    assert "/static/vendor/echarts.min.js" in page.text
    english = client.get(f"/console/shows/{show['id']}?lang=en").text
    assert "Online (CCU)" in english
    assert 'lang="en"' in english
    assert CONSOLE_STRINGS["zh-CN"].keys() == CONSOLE_STRINGS["en"].keys()


def test_other_shops_are_isolated_even_when_both_are_signed_in_somewhere(client: TestClient) -> None:
    a, b = make_shop(client, "A 店"), make_shop(client, "B 店")
    show_a = make_show(client, a, "A 的直播", start=True)
    sign_in(client, b.keys[Role.OWNER])
    assert client.post(f"/api/v1/shows/{show_a['id']}/end", headers=CONSOLE).status_code == 404
    assert (
        client.post(
            f"/api/v1/rooms/{show_a['room_id']}/mutes",
            json={"viewer_id": "u:x", "seconds": 60},
            headers=CONSOLE,
        ).status_code
        == 404
    )
