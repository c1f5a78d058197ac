"""Co-host media (连麦) on the viewer page, in real headless Chromium against a real `liveloop serve`.

Chromium runs with a fake camera and microphone. The shop's LiveKit server is a small WebSocket
server started here: it records each join attempt (path and access token) and either leaves the
upgrade unanswered or refuses the join. It cannot complete LiveKit's handshake, so a join never
goes live: what is checked is that the page joins the configured server with the
token issued for the seated viewer, shows the local preview, leaves when the seat ends, and shows
its "not connected" state with a toast when the server fails it. A provider the page does not
know is left to the app (Agora has its own module, test_viewer_rtc_agora.py). Plus the page's
Content-Security-Policy, which names the LiveKit server only when needed.
"""

from __future__ import annotations

import queue
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, urlsplit

import pytest
from livekit.api import TokenVerifier
from playwright.sync_api import Browser, Page, Request, Route, expect
from websockets.datastructures import Headers
from websockets.http11 import Request as WsRequest
from websockets.http11 import Response as WsResponse
from websockets.sync.server import ServerConnection, serve

from liveloop.web.live_csp import rtc_connect_sources
from tests.web.conftest import MEDIA_ARGS
from tests.web.test_viewer_page import OpenViewer, Site, Viewer, served_site, viewer_opener

API_KEY = "APIliveloopTest"
API_SECRET = "s3cret-for-the-fake-livekit-server-0123456789"
AGORA = {
    "provider": "agora",
    "agora_app_id": "970ca35de60c44645bbae8a215061b33",
    "agora_app_certificate": "5cfd2fd1755d40ecb72977518be15d3b",
}
BROWSER_ARGS = MEDIA_ARGS  # the module's Chromium (tests/web/conftest.py)
SDK = "/static/vendor/livekit-client.umd.js"
WAIT = 10.0  # s: the page joins within this of the seat decision
HOLD = 30.0  # s: the fake holds an upgrade at most this long


@dataclass
class Join:
    path: str
    token: str


@dataclass
class FakeLiveKit:
    """LiveKit's signalling endpoint as far as a client sees it before the handshake.

    ``hold``: never answer the upgrade, until the client gives up the socket (its own limit for an
    upgrade is 15 s; an opened socket would have to answer the join within 5 s). ``refuse``: an
    old server without the v1 path: the upgrade on ``/rtc/v1`` and the SDK's ``.../validate``
    probe answer 404, which sends the SDK to the v0 path ``/rtc``, where the socket opens and
    closes at once. Every join attempt lands in ``joins``; when a held client went away, in
    ``closed``.
    """

    mode: Literal["hold", "refuse"] = "hold"
    joins: queue.Queue[Join] = field(default_factory=queue.Queue)
    closed: queue.Queue[float] = field(default_factory=queue.Queue)
    probes: list[str] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def process_request(self, connection: ServerConnection, request: WsRequest) -> WsResponse | None:
        parts = urlsplit(request.path)
        headers = Headers({"Access-Control-Allow-Origin": "*", "Content-Type": "text/plain"})
        if parts.path.endswith("/validate"):
            self.probes.append(parts.path)
            return WsResponse(HTTPStatus.NOT_FOUND, "Not Found", headers, b"not found")
        token = parse_qs(parts.query).get("access_token", [""])[0]
        self.joins.put(Join(path=parts.path, token=token))
        if self.mode == "refuse":
            return (
                WsResponse(HTTPStatus.NOT_FOUND, "Not Found", headers, b"")
                if parts.path == "/rtc/v1"
                else None
            )
        # The connection's reader ends when the client closes the socket.
        connection.recv_events_thread.join(timeout=HOLD)
        if not connection.recv_events_thread.is_alive():
            self.closed.put(time.monotonic())
        return WsResponse(HTTPStatus.SERVICE_UNAVAILABLE, "Service Unavailable", headers, b"")

    def handler(self, connection: ServerConnection) -> None:
        connection.close(1011, "not a LiveKit server")  # only ``refuse`` opens a socket


@contextmanager
def fake_livekit(mode: Literal["hold", "refuse"]) -> Iterator[FakeLiveKit]:
    fake = FakeLiveKit(mode=mode)
    with serve(fake.handler, "127.0.0.1", 0, process_request=fake.process_request) as server:
        fake.port = server.socket.getsockname()[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield fake
        finally:
            server.shutdown()
            thread.join(timeout=10)


@pytest.fixture(scope="module")
def site(chromium: str, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Site]:
    with served_site(tmp_path_factory.mktemp("viewer-rtc"), sqlite_template) as served:
        yield served


@pytest.fixture
def open_viewer(browser: Browser) -> Iterator[OpenViewer]:
    yield from viewer_opener(browser)


def use_livekit(site: Site, url: str) -> None:
    body = {
        "provider": "livekit",
        "livekit_url": url,
        "livekit_api_key": API_KEY,
        "livekit_api_secret": API_SECRET,
    }
    assert site.http.put("/api/v1/rtc-config", json=body).status_code == 200


def allow_media(page: Page) -> None:
    page.context.grant_permissions(["camera", "microphone"])


def seated(site: Site, room: int, viewer: Viewer) -> int:
    """The viewer asks for a seat on the page and the host approves it; returns the request id."""
    page = viewer.page
    expect(page.locator(".status")).to_be_hidden()
    page.get_by_role("button", name="更多").tap()
    page.get_by_role("button", name="申请连麦").tap()
    expect(page.locator(".seat-pill")).to_have_text("已申请，等待主播同意")
    page.keyboard.press("Escape")
    requests = site.http.get(f"/api/v1/rooms/{room}/seat-requests", params={"state": "requested"}).json()
    request_id = int(requests["items"][0]["id"])
    answer = site.http.post(f"/api/v1/rooms/{room}/seat-requests/{request_id}/approve")
    assert answer.status_code == 200, answer.text
    return request_id


def only_expected(errors: list[str], port: int) -> list[str]:
    """The page's errors, less the browser's own lines about the RTC server's sockets and probes
    (Chromium logs every failed socket and request; the SDK's own log stays at warnings)."""
    return [e for e in errors if f"127.0.0.1:{port}" not in e and "Failed to load resource" not in e]


def deny_camera(page: Page) -> None:
    """The browser refuses the camera and microphone, as a viewer who said no."""
    page.add_init_script(
        "navigator.mediaDevices.getUserMedia = () =>"
        " Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));"
    )


def told_camera_denied(page: Page) -> None:
    """The page says so, shows "not connected" and no media stage."""
    expect(page.locator(".toast")).to_have_text("无法使用摄像头或麦克风，请在浏览器中允许后重试")
    expect(page.locator(".seat-pill")).to_have_text("连麦未接通")
    expect(page.locator(".rtc-stage")).to_be_hidden()


def test_a_seated_viewer_joins_the_livekit_room_with_its_token_and_leaves_when_the_seat_ends(
    site: Site, open_viewer: OpenViewer
) -> None:
    room = site.room("连麦直播间")
    site.live_show(room, "连麦试色")
    with fake_livekit("hold") as fake:
        use_livekit(site, fake.url)
        sdk_loads: list[str] = []

        def before(page: Page) -> None:
            allow_media(page)
            page.on("request", lambda r: sdk_loads.append(r.url) if SDK in r.url else None)

        viewer = open_viewer(site.page_url(room, token=site.token("mic", "麦霸")), before=before)
        assert viewer.response is not None
        expect(viewer.page.locator(".status")).to_be_hidden()
        assert sdk_loads == []  # nothing of the SDK before a seat
        assert (
            f"connect-src 'self' {fake.url} http://127.0.0.1:{fake.port};"
            in (viewer.response.headers["content-security-policy"])
        )
        request_id = seated(site, room, viewer)

        join = fake.joins.get(timeout=WAIT)
        assert join.path == "/rtc/v1"
        claims = TokenVerifier(API_KEY, API_SECRET).verify(join.token)
        assert claims.identity == "u:mic"
        assert claims.name == "麦霸"
        assert claims.video is not None
        assert claims.video.room == f"liveloop-{site.http.get('/api/v1/shop').json()['id']}-{room}"
        assert (claims.video.room_join, claims.video.can_publish) == (True, True)
        page = viewer.page
        expect(page.locator(".seat-pill")).to_have_text("连麦接通中…")
        preview = page.locator(".rtc-stage .rtc-tile video")
        expect(preview).to_be_visible()
        page.wait_for_function("document.querySelector('.rtc-tile video').videoWidth > 0")
        assert len(sdk_loads) == 1

        ended_at = time.monotonic()
        site.http.post(f"/api/v1/rooms/{room}/seat-requests/{request_id}/end").raise_for_status()
        # The page closed its signalling socket because the seat ended (not because the fake never
        # answered: that would come with the failure toast and the "not connected" pill).
        assert fake.closed.get(timeout=WAIT) >= ended_at
        expect(page.locator(".seat-pill")).to_be_hidden()
        expect(page.locator(".rtc-stage")).to_be_hidden()
        expect(page.locator(".rtc-tile")).to_have_count(0)
        expect(page.locator(".toast")).to_be_hidden()
        assert fake.joins.empty()
        assert viewer.errors == []


def test_leaving_the_seat_on_the_page_closes_the_call_and_a_new_seat_joins_again(
    site: Site, open_viewer: OpenViewer
) -> None:
    room = site.room("自己下麦")
    with fake_livekit("hold") as fake:
        use_livekit(site, fake.url)
        viewer = open_viewer(site.page_url(room, token=site.token("mic-2", "二号")), before=allow_media)
        page = viewer.page
        for _ in range(2):
            seated(site, room, viewer)
            assert (
                TokenVerifier(API_KEY, API_SECRET).verify(fake.joins.get(timeout=WAIT).token).identity
                == "u:mic-2"
            )
            expect(page.locator(".rtc-tile video")).to_be_visible()
            left_at = time.monotonic()
            page.get_by_role("button", name="更多").tap()
            page.get_by_role("button", name="下麦").tap()
            assert fake.closed.get(timeout=WAIT) >= left_at
            expect(page.locator(".rtc-stage")).to_be_hidden()
            expect(page.locator(".seat-state")).to_have_text("连麦已结束")
            page.keyboard.press("Escape")
        assert (
            site.http.get(f"/api/v1/rooms/{room}/seat-requests", params={"state": "approved"}).json()["items"]
            == []
        )
        assert fake.joins.empty()
        assert viewer.errors == []


def test_a_failed_join_shows_not_connected_and_a_toast_and_the_viewer_can_leave(
    site: Site, open_viewer: OpenViewer
) -> None:
    room = site.room("连麦失败")
    with fake_livekit("refuse") as fake:
        use_livekit(site, fake.url)
        viewer = open_viewer(site.page_url(room, token=site.token("mic-fail", "小麦")), before=allow_media)
        seated(site, room, viewer)
        page = viewer.page
        expect(page.locator(".toast")).to_have_text("连麦连接失败，请稍后重试", timeout=20_000)
        expect(page.locator(".seat-pill")).to_have_text("连麦未接通")
        expect(page.locator(".rtc-stage")).to_be_hidden()
        tried = []
        while not fake.joins.empty():
            join = fake.joins.get()
            assert TokenVerifier(API_KEY, API_SECRET).verify(join.token).identity == "u:mic-fail"
            tried.append(join.path)
        # v1 first; the 404 on its validate probe sends the SDK to the v0 path <url>/rtc.
        assert tried == ["/rtc/v1", "/rtc"]
        assert fake.probes == ["/rtc/v1/validate"]
        # The seat is still held: the viewer can leave it.
        page.get_by_role("button", name="更多").tap()
        expect(page.locator(".seat-state")).to_have_text("连麦未接通")
        page.get_by_role("button", name="下麦").tap()
        expect(page.locator(".seat-pill")).to_be_hidden()
        assert only_expected(viewer.errors, fake.port) == []


def test_an_unreachable_livekit_server_is_told_with_a_toast(site: Site, open_viewer: OpenViewer) -> None:
    room = site.room("连不上")
    with socket.socket() as closed:  # a port nothing listens on once the socket is closed
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    use_livekit(site, f"ws://127.0.0.1:{port}")
    viewer = open_viewer(site.page_url(room, token=site.token("far", "远方")), before=allow_media)
    seated(site, room, viewer)
    page = viewer.page
    expect(page.locator(".toast")).to_have_text("连麦连接失败，请稍后重试", timeout=20_000)
    expect(page.locator(".seat-pill")).to_have_text("连麦未接通")
    expect(page.locator(".rtc-stage")).to_be_hidden()
    assert only_expected(viewer.errors, port) == []


def test_a_denied_camera_is_told_and_nothing_joins(site: Site, open_viewer: OpenViewer) -> None:
    room = site.room("没有摄像头")

    with fake_livekit("hold") as fake:
        use_livekit(site, fake.url)
        viewer = open_viewer(site.page_url(room, token=site.token("no-cam", "害羞")), before=deny_camera)
        seated(site, room, viewer)
        told_camera_denied(viewer.page)
        with pytest.raises(queue.Empty):
            fake.joins.get(timeout=1)
        assert viewer.errors == []


def test_a_provider_the_page_does_not_know_sends_its_co_hosts_to_the_app_and_loads_no_sdk(
    site: Site, open_viewer: OpenViewer
) -> None:
    """The server knows only LiveKit and Agora; a newer one (here: the token answer rewritten on
    its way to the page) is left to the app, with nothing of any SDK loaded."""
    room = site.room("未知服务商")
    assert site.http.put("/api/v1/rtc-config", json=AGORA).status_code == 200
    loaded: list[Request] = []

    def another_provider(route: Route) -> None:
        answer = route.fetch()
        route.fulfill(response=answer, json={**answer.json(), "provider": "another"})

    def before(page: Page) -> None:
        page.on("request", lambda r: loaded.append(r) if re.search(r"/vendor/|/live-rtc-", r.url) else None)
        page.route("**/rtc-token", another_provider)

    viewer = open_viewer(site.page_url(room, token=site.token("other", "小声"), lang="en"), before=before)
    page = viewer.page
    expect(page.locator(".status")).to_be_hidden()
    page.get_by_role("button", name="More").tap()
    page.get_by_role("button", name="Request to co-host").tap()
    expect(page.locator(".seat-pill")).to_have_text("Requested: waiting for the host")
    requests = site.http.get(f"/api/v1/rooms/{room}/seat-requests", params={"state": "requested"}).json()
    site.http.post(
        f"/api/v1/rooms/{room}/seat-requests/{requests['items'][0]['id']}/approve"
    ).raise_for_status()
    expect(page.locator(".toast")).to_have_text("Co-hosting in this room works in the shop's app")
    expect(page.locator(".seat-state")).to_have_text("Co-host in the app")
    expect(page.locator(".rtc-stage")).to_be_hidden()
    assert loaded == []
    assert viewer.errors == []


def test_only_a_signed_in_viewer_of_a_livekit_shop_gets_its_server_in_connect_src(site: Site) -> None:
    room = site.room("策略")
    use_livekit(site, "wss://rtc.shop.example:7443/base?x=1")
    signed_in = site.http.get(f"/live/{room}", params={"token": site.token("csp", "策略")})
    guest = site.http.get(f"/live/{room}")
    policy = signed_in.headers["content-security-policy"]
    assert "connect-src 'self' wss://rtc.shop.example:7443 https://rtc.shop.example:7443;" in policy
    assert "connect-src 'self';" in guest.headers["content-security-policy"]
    assert 'data-rtc="livekit"' in signed_in.text
    assert site.http.put("/api/v1/rtc-config", json={"provider": None}).status_code == 200
    plain = site.http.get(f"/live/{room}", params={"token": site.token("csp", "策略")})
    assert "connect-src 'self';" in plain.headers["content-security-policy"]
    assert 'data-rtc=""' in plain.text


@pytest.mark.parametrize(
    ("url", "sources"),
    [
        ("wss://lk.example.com", ("wss://lk.example.com", "https://lk.example.com")),
        ("https://LK.example.com/path?q=1", ("wss://lk.example.com", "https://lk.example.com")),
        ("ws://127.0.0.1:7880", ("ws://127.0.0.1:7880", "http://127.0.0.1:7880")),
        ("http://[::1]:7880/", ("ws://[::1]:7880", "http://[::1]:7880")),
        ("wss://lk.example.com;script-src", ()),
        ("wss://lk.example.com'unsafe-inline'", ()),
        ("wss://user:pw@lk.example.com", ()),
        ("wss://lk.example.com:99999", ()),
        ("ftp://lk.example.com", ()),
        ("wss://*.example.com", ()),
        ("", ()),
        (None, ()),
    ],
)
def test_only_a_plain_scheme_host_and_port_reach_the_policy(
    url: str | None, sources: tuple[str, ...]
) -> None:
    assert rtc_connect_sources(url) == sources
