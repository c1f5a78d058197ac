"""The viewer page (/live/{room_id}) in real headless Chromium against a real `liveloop serve`.

One server and one browser for the module; each viewer is its own browser context (a phone at
390x844). Every page's JS errors and console errors are collected and must stay empty. The last
two tests need no browser: the static files and the server-rendered HTML.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Locator,
    Page,
    Response,
    Route,
    WebSocket,
    WebSocketRoute,
    expect,
)
from starlette.testclient import TestClient
from websockets.sync.client import ClientConnection, connect

from liveloop import bootstrap
from liveloop.settings import Settings
from liveloop.shops import do_create_shop
from liveloop.web.i18n import STRINGS
from liveloop.web.pages import player_for
from tests.conftest import ShopKeys, created
from tests.servers import Server, running_server

PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
MEDIA_HOST = "https://media.example.com"
Frame = dict[str, Any]


@dataclass
class Site:
    """The running server and its one shop, with helpers to set up rooms, shows and viewers."""

    server: Server
    http: httpx2.Client

    def room(self, name: str) -> int:
        return int(created(self.http.post("/api/v1/rooms", json={"name": name}))["id"])

    def live_show(self, room_id: int, title: str, playback_url: str | None = None) -> int:
        body = {
            "room_id": room_id,
            "title": title,
            "planned_start": "2026-12-01T12:00:00Z",
            "planned_end": "2026-12-01T14:00:00Z",
            "playback_url": playback_url,
        }
        show_id = int(created(self.http.post("/api/v1/shows", json=body))["id"])
        assert self.http.post(f"/api/v1/shows/{show_id}/start").status_code == 200
        return show_id

    def token(self, user_id: str, nickname: str) -> str:
        body = {"user_id": user_id, "nickname": nickname}
        return str(created(self.http.post("/api/v1/viewer-tokens", json=body))["token"])

    def page_url(self, room_id: int | str, **params: str) -> str:
        query = f"?{urlencode(params)}" if params else ""
        return f"{self.server.url}/live/{room_id}{query}"

    @contextmanager
    def host_socket(self, room_id: int) -> Iterator[Staff]:
        """A host's socket (a staff member with the host role), as the host's console would open it."""
        staff = created(self.http.post("/api/v1/staff", json={"name": "小美", "role": "host"}))
        key = created(self.http.post(f"/api/v1/staff/{staff['id']}/api-keys", json={}))["key"]
        issued = self.http.post("/api/v1/socket-tokens", headers={"Authorization": f"Bearer {key}"})
        with connect(f"{self.server.ws_url}/ws/rooms/{room_id}?v=1&token={created(issued)['token']}") as ws:
            yield Staff(ws)


@dataclass
class Staff:
    ws: ClientConnection
    refs: int = 0

    def do(self, **frame: Any) -> Frame:
        """Send a frame and return its ack (fails on an error frame)."""
        self.refs += 1
        ref = f"s{self.refs}"
        self.ws.send(json.dumps({**frame, "ref": ref}))
        for _ in range(500):
            answer: Frame = json.loads(self.ws.recv(timeout=5))
            if answer.get("ref") == ref:
                assert answer["type"] == "ack", answer
                return answer
        raise AssertionError(f"no answer to {frame}")


@dataclass
class Viewer:
    page: Page
    response: Response | None
    errors: list[str] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)

    def on_page_error(self, error: Error) -> None:
        self.errors.append(f"pageerror: {error}")

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def on_websocket(self, socket: WebSocket) -> None:
        self.sockets.append(socket.url)

    def count(self, name: str) -> Locator:
        return self.page.locator(f'[data-count="{name}"]')

    def comment(self, text: str) -> Locator:
        return self.page.locator(".comments .comment", has_text=text)

    def say(self, text: str) -> None:
        self.page.locator(".composer-input").fill(text)
        self.page.locator(".composer-input").press("Enter")


OpenViewer = Callable[..., Viewer]


@pytest.fixture(scope="module")
def site(chromium: str, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Site]:
    """Only the browser tests need the real server, hence ``chromium`` first: no server without it."""
    with served_site(tmp_path_factory.mktemp("viewer-page"), sqlite_template) as served:
        yield served


@contextmanager
def served_site(data_dir: Path, sqlite_template: Path) -> Iterator[Site]:
    """A real `liveloop serve` on a copy of the migrated database, with one shop and its owner key."""
    shutil.copy(sqlite_template, data_dir / "liveloop.db")

    async def owner_key() -> str:
        db = await bootstrap.prepare_database(Settings(data_dir=data_dir, database_url=None))
        try:
            return (await do_create_shop(db, name="星光美妆 Starlight Beauty")).api_key
        finally:
            await db.dispose()

    key = asyncio.run(owner_key())
    with (
        running_server(data_dir) as server,
        httpx2.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=10) as http,
    ):
        yield Site(server=server, http=http)


@pytest.fixture
def open_viewer(browser: Browser) -> Iterator[OpenViewer]:
    """Open a page in a fresh context (a separate phone); its errors and sockets are recorded."""
    yield from viewer_opener(browser)


def viewer_opener(browser: Browser) -> Iterator[OpenViewer]:
    contexts: list[BrowserContext] = []

    def open_(url: str, *, before: Callable[[Page], None] | None = None) -> Viewer:
        context = browser.new_context(**PHONE, locale="zh-CN")
        contexts.append(context)
        # The CDN of playback URLs is not reachable here: answer with an empty (unplayable) file.
        context.route(f"{MEDIA_HOST}/**", _empty_media)
        page = context.new_page()
        viewer = Viewer(page=page, response=None)
        page.on("pageerror", viewer.on_page_error)
        page.on("console", viewer.on_console)
        page.on("websocket", viewer.on_websocket)
        if before is not None:
            before(page)
        viewer.response = page.goto(url)
        return viewer

    yield open_
    for context in contexts:
        context.close()


def _empty_media(route: Route) -> None:
    route.fulfill(status=200, content_type="video/mp4", body=b"")


def test_two_viewers_chat_like_and_see_each_other(
    site: Site, open_viewer: OpenViewer, tmp_path: Path
) -> None:
    room = site.room("星光美妆官方直播间")
    site.live_show(room, "秋冬新品口红试色专场")
    a = open_viewer(site.page_url(room, token=site.token("alice", "爱丽丝"), source="share"))
    expect(a.page.locator(".status")).to_be_hidden()
    b = open_viewer(site.page_url(room, token=site.token("bob", "小明")))
    expect(a.page.locator(".entrance")).to_contain_text("小明")
    expect(a.page.locator(".entrance")).to_contain_text("进入直播间")
    for viewer in (a, b):
        expect(viewer.page.locator(".online")).to_have_text("在线人数 2")
        expect(viewer.page.locator(".show-title")).to_contain_text("秋冬新品口红试色专场")

    a.say("这个口红色号好看！")
    expect(b.comment("这个口红色号好看！")).to_contain_text("爱丽丝")
    expect(a.page.locator(".composer-input")).to_have_value("")

    heart = b.page.get_by_role("button", name="点赞")
    for _ in range(5):
        heart.tap()
    expect(a.count("likes")).to_have_text("5")
    expect(b.count("likes")).to_have_text("5")

    with site.host_socket(room) as host:
        said = host.do(type="host_message", text="欢迎来到直播间，今晚全场包邮！")
        host_line = b.page.locator(".comment.is-host", has_text="今晚全场包邮")
        expect(host_line.locator(".badge")).to_have_text("主播")
        expect(host_line).to_contain_text("小美")
        host.do(type="moderate", action="pin", offset=said["offset"])
        expect(b.page.locator(".pinned")).to_have_text(re.compile(r"置顶\s*欢迎来到直播间"))

        a.say("加我微信买更便宜")
        spam = b.comment("加我微信买更便宜")
        expect(spam).to_be_visible()
        host.do(type="moderate", action="delete", offset=int(spam.get_attribute("data-offset") or 0))
        expect(spam).to_have_count(0)
        expect(a.comment("加我微信买更便宜")).to_have_count(0)
        a.say("有没有试色图？")
        expect(b.comment("有没有试色图？")).to_be_visible()

    b.page.screenshot(path=str(tmp_path / "viewer-b.png"), animations="disabled")
    assert a.errors == []
    assert b.errors == []
    assert "source=share" in a.sockets[0]


def test_slow_mode_is_explained_inline(site: Site, open_viewer: OpenViewer) -> None:
    room = site.room("慢速模式")
    moderation = site.http.patch(f"/api/v1/rooms/{room}/moderation", json={"slow_mode_seconds": 30})
    assert moderation.status_code == 200, moderation.text
    viewer = open_viewer(site.page_url(room, token=site.token("carol", "小红")))
    viewer.say("第一条")
    expect(viewer.comment("第一条")).to_be_visible()
    viewer.say("第二条")
    expect(viewer.page.locator(".composer-error")).to_have_text(
        re.compile(r"^慢速模式：(30|29|28) 秒后可再次发言$")
    )
    expect(viewer.page.locator(".composer-input")).to_have_value("第二条")
    assert viewer.errors == []


def test_a_guest_watches_but_must_sign_in_to_comment(site: Site, open_viewer: OpenViewer) -> None:
    room = site.room("游客")
    guest = open_viewer(site.page_url(room))
    expect(guest.count("online")).to_have_text("1")
    composer = guest.page.locator(".composer-input")
    expect(composer).to_be_disabled()
    expect(composer).to_have_attribute("placeholder", "登录后才能发言")
    expect(guest.page.locator(".placeholder-title")).to_have_text("直播即将开始")
    device_id = guest.page.evaluate("localStorage.getItem('liveloop.device_id')")
    assert re.fullmatch(r"[0-9a-f]{32}", device_id)
    assert parse_qs(urlsplit(guest.sockets[0]).query)["device_id"] == [device_id]
    guest.page.get_by_role("button", name="点赞").tap()
    expect(guest.count("likes")).to_have_text("1")
    assert guest.errors == []


def test_english_with_lang_en_and_a_toggle_back(site: Site, open_viewer: OpenViewer) -> None:
    room = site.room("Starlight Live")
    viewer = open_viewer(site.page_url(room, lang="en", token=site.token("dave", "Dave")))
    page = viewer.page
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".placeholder-title")).to_have_text("The show starts soon")
    expect(page.locator(".online")).to_have_text("online 1")
    expect(page.locator(".composer-input")).to_have_attribute("placeholder", "Say something…")
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
    expect(page.get_by_role("button", name="Like")).to_be_visible()
    viewer.say("Love this shade")
    expect(viewer.comment("Love this shade")).to_have_text("DaveLove this shade")
    page.get_by_role("link", name="Switch to Chinese").click()
    expect(page.locator(".placeholder-title")).to_have_text("直播即将开始")
    assert "token=" in page.url
    assert "lang=" not in page.url
    assert viewer.errors == []


def test_unknown_room_is_a_friendly_404(site: Site, open_viewer: OpenViewer) -> None:
    viewer = open_viewer(site.page_url(987654))
    assert viewer.response is not None
    assert viewer.response.status == 404
    assert viewer.response.headers["content-type"].startswith("text/html")
    expect(viewer.page.get_by_role("heading")).to_have_text("直播间不存在")
    # The browser reports the 404 document itself as a failed resource; nothing else may fail.
    assert [e for e in viewer.errors if "status of 404" not in e] == []


def test_a_live_show_with_a_playback_url_plays_in_a_video(site: Site, open_viewer: OpenViewer) -> None:
    room = site.room("新品首发")
    url = f"{MEDIA_HOST}/live/launch.mp4"
    site.live_show(room, "新品首发会", url)
    viewer = open_viewer(site.page_url(room))
    expect(viewer.page.locator("video.player-video")).to_have_attribute("src", url)
    expect(viewer.page.locator(".live-badge")).to_have_text("直播中")
    expect(viewer.page.locator(".show-title")).to_contain_text("新品首发会")

    hls_room = site.room("HLS")
    site.live_show(hls_room, "HLS 专场", f"{MEDIA_HOST}/live/index.m3u8")
    hls = open_viewer(site.page_url(hls_room))
    native = hls.page.evaluate("document.createElement('video').canPlayType('application/vnd.apple.mpegurl')")
    if native:  # Chromium 14x+ and Safari play HLS themselves
        expect(hls.page.locator("video.player-video")).to_have_attribute(
            "src", f"{MEDIA_HOST}/live/index.m3u8"
        )
    else:
        expect(hls.page.locator("video")).to_have_count(0)
    # Unplayable here (empty file) or not playable at all: either way the viewer is sent to the app.
    expect(hls.page.locator(".placeholder-hint")).to_have_text("该直播流（HLS）需要在商家 App 内观看")
    assert viewer.errors == []
    assert hls.errors == []


def test_a_kicked_viewer_is_told_why_and_stays_out(site: Site, open_viewer: OpenViewer) -> None:
    room = site.room("踢出")
    viewer = open_viewer(
        site.page_url(room, token=site.token("erin", "阿琳")), before=lambda page: page.clock.install()
    )
    expect(viewer.page.locator(".composer-input")).to_be_enabled()
    with site.host_socket(room) as host:
        host.do(type="moderate", action="kick", viewer_id="u:erin", reason="spam")
    expect(viewer.page.locator(".status")).to_have_text("你已被移出直播间")
    expect(viewer.page.locator(".composer-input")).to_be_disabled()
    viewer.page.clock.fast_forward(60_000)  # past every backoff step: no new socket may open
    expect(viewer.page.locator(".status")).to_have_text("你已被移出直播间")
    assert len(viewer.sockets) == 1
    assert viewer.errors == []


def test_a_refused_token_is_explained_and_not_retried(site: Site, open_viewer: OpenViewer) -> None:
    room = site.room("无效令牌")
    viewer = open_viewer(site.page_url(room, token="not-a-token"), before=lambda page: page.clock.install())
    expect(viewer.page.locator(".status")).to_have_text("登录已失效，请从 App 重新进入直播间")
    viewer.page.clock.fast_forward(60_000)
    assert len(viewer.sockets) == 1
    assert viewer.errors == []


def test_an_unexpected_close_reconnects_and_resumes(site: Site, open_viewer: OpenViewer) -> None:
    room = site.room("断线重连")
    routes: list[WebSocketRoute] = []

    def through(route: WebSocketRoute) -> None:
        routes.append(route)
        route.connect_to_server()

    def intercept(page: Page) -> None:
        page.route_web_socket(re.compile(r"/ws/rooms/"), through)

    viewer = open_viewer(site.page_url(room, token=site.token("fay", "小芳")), before=intercept)
    viewer.say("断线前")
    expect(viewer.comment("断线前")).to_be_visible()

    routes[0].close(code=4008, reason="slow_consumer")
    expect(viewer.page.locator(".status")).to_have_text("已断开，正在重连…")
    expect(viewer.page.locator(".status")).to_be_hidden()
    viewer.say("断线后")
    expect(viewer.comment("断线后")).to_be_visible()
    expect(viewer.comment("断线前")).to_have_count(1)
    assert len(routes) == 2
    resumed = parse_qs(urlsplit(routes[1].url).query)
    assert resumed["resume_epoch"][0]
    assert int(resumed["resume_offset"][0]) >= 1
    assert viewer.errors == []


def test_static_assets_are_served_with_their_types(client: TestClient) -> None:
    js = client.get("/static/live.js")
    assert js.status_code == 200
    assert js.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript")
    css = client.get("/static/live.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")


def test_pages_render_on_the_server(client: TestClient, shop: ShopKeys) -> None:
    assert STRINGS["zh-CN"].keys() == STRINGS["en"].keys()
    room = created(client.post("/api/v1/rooms", json={"name": "<b>星光</b>"}, headers=shop.headers()))
    page = client.get(f"/live/{room['id']}?lang=en")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "&lt;b&gt;星光&lt;/b&gt;" in page.text
    assert "The show starts soon" in page.text
    for missing in ("/live/0", "/live/abc", "/live/99999999999999999999", "/live/424242"):
        answer = client.get(missing)
        assert answer.status_code == 404, missing
        assert answer.headers["content-type"].startswith("text/html")
    assert player_for("https://cdn.example.com/a/live.MP4?sig=1").kind == "video"
    assert player_for("https://cdn.example.com/a/index.m3u8").kind == "hls"
    assert player_for("https://cdn.example.com/a/live.flv").kind == "app_only"
    assert player_for("javascript:alert(1)").kind == "none"
    assert player_for(None).kind == "none"
