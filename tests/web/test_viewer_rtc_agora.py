"""Co-host media (连麦) on an Agora shop's viewer page, in real headless Chromium against a real
`liveloop serve`, with Agora's own web SDK (vendor/AgoraRTC_N-production.js).

Agora's cloud cannot be reached from here, so the page's requests to it (``*.agora.io``,
``*.sd-rtn.com``) are answered by ``page.route``: the SDK's join first asks an access point
(``POST /api/v2/transpond/webrtc``, a form field ``request`` with the app id, channel, token and
string uid) and the string-uid allocator (``POST /api/v1?action=stringuid``); both are recorded.
The access point then answers as Agora's does for a refused token (code 2010009, "invalid token,
authorized failed"), or never, or the network fails; nothing of Agora's media protocol is faked,
so a join never goes live. What is checked: the SDK loads only once the viewer is seated, the
join carries exactly the token this server issued for the seat (which rebuilds, with the
certificate, from that channel and account), the camera preview shows, every failure ends in the
"not connected" state with a toast, leaving stops the camera and microphone, and the page's
Content-Security-Policy lets the SDK reach Agora and nothing else.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import agora_token_builder.AccessToken as agora  # type: ignore[import-untyped]
import pytest
from playwright.sync_api import Browser, Page, Request, Route, expect

from liveloop.web.live_csp import AGORA_CONNECT_SOURCES
from tests.web.conftest import MEDIA_ARGS
from tests.web.test_viewer_page import OpenViewer, Site, Viewer, served_site, viewer_opener
from tests.web.test_viewer_rtc import AGORA, allow_media, deny_camera, seated, told_camera_denied

BROWSER_ARGS = MEDIA_ARGS  # the module's Chromium (tests/web/conftest.py)
SDK = "/static/vendor/AgoraRTC_N-production.js"
AGORA_HOSTS = re.compile(r"^https://[^/]+\.(agora\.io|sd-rtn\.com)(:\d+)?/")
INVALID_TOKEN = 2010009  # Agora's access point: "invalid token, authorized failed" (not retried)
WAIT = 10_000  # ms: the page joins (or fails) within this of the seat decision
# Before anything of the page runs: note every camera/microphone track and every policy violation.
WATCH = """
window.__tracks = [];
window.__violations = [];
const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = async (constraints) => {
  const stream = await gum(constraints);
  window.__tracks.push(...stream.getTracks());
  return stream;
};
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.effectiveDirective} ${e.blockedURI}`);
});
"""


@dataclass
class FakeAgora:
    """Agora's cloud as far as a joining client sees it before the gateway.

    ``ap``: how the access point answers: "refuse" (a refused token), "hold" (never) or "down"
    (connection refused, as every other Agora address is answered in every mode).
    """

    ap: str = "refuse"
    joins: list[dict[str, Any]] = field(default_factory=list)
    string_uids: list[dict[str, Any]] = field(default_factory=list)
    held: list[Route] = field(default_factory=list)
    sdk_loads: list[str] = field(default_factory=list)
    issued: list[dict[str, Any]] = field(default_factory=list)

    def install(self, page: Page) -> None:
        allow_media(page)
        page.add_init_script(WATCH)
        page.on("request", self.on_request)
        page.on("response", lambda r: self.issued.append(r.json()) if "/rtc-token" in r.url else None)
        page.route(AGORA_HOSTS, self.answer)

    def on_request(self, request: Request) -> None:
        if SDK in request.url:
            self.sdk_loads.append(request.url)

    def answer(self, route: Route) -> None:
        request = route.request
        parts = urlsplit(request.url)
        if parts.path.startswith("/api/v2/transpond/webrtc"):
            self.joins.append(_form_request(request.post_data_buffer or b""))
            if self.ap == "refuse":
                _json(route, _ap_answer(INVALID_TOKEN))
            elif self.ap == "hold":
                self.held.append(route)
            else:
                route.abort("connectionrefused")
        elif parse_qs(parts.query).get("action") == ["stringuid"] and self.ap != "down":
            self.string_uids.append(json.loads(request.post_data or "{}"))
            _json(route, {"code": 0, "uid": 4242})
        else:
            route.abort("connectionrefused")  # the SDK's event reports, and every address when down

    def release(self) -> None:
        for route in self.held:
            route.abort("connectionrefused")
        self.held.clear()


def _json(route: Route, body: dict[str, Any]) -> None:
    route.fulfill(
        status=200,
        content_type="application/json",
        body=json.dumps(body),
        headers={"Access-Control-Allow-Origin": "*"},
    )


def _ap_answer(code: int) -> dict[str, Any]:
    """The access point's answer to a join, refusing it for the gateway service (flag 4096)."""
    buffer = {"code": code, "flag": 4096, "edges_services": [], "cid": 0, "uid": 0, "cert": "", "detail": {}}
    return {
        "code": 0,
        "detail": {},
        "enter_ts": 0,
        "leave_ts": 0,
        "opid": 1,
        "response_body": [{"uri": 23, "buffer": buffer}],
    }


def _form_request(body: bytes) -> dict[str, Any]:
    """The ``request`` field of the SDK's multipart join form."""
    match = re.search(rb'name="request"\r\n\r\n(.*?)\r\n--', body, re.S)
    assert match is not None, body[:300]
    request: dict[str, Any] = json.loads(match.group(1))
    return request


def _parse_token(token: str) -> Any:
    parsed = agora.AccessToken()
    assert parsed.fromString(token)
    return parsed


def assert_issued_for(token: str, *, channel: str, account: str) -> None:
    """The token is the one Agora would accept from this shop's project for this channel and
    account only: rebuilt with the certificate from the same inputs it is the very same string."""
    parsed = _parse_token(token)
    rebuilt = agora.AccessToken(AGORA["agora_app_id"], AGORA["agora_app_certificate"], channel, account)
    rebuilt.salt, rebuilt.ts, rebuilt.messages = parsed.salt, parsed.ts, dict(parsed.messages)
    assert rebuilt.build() == token
    other = agora.AccessToken(AGORA["agora_app_id"], AGORA["agora_app_certificate"], channel, account + "x")
    other.salt, other.ts, other.messages = parsed.salt, parsed.ts, dict(parsed.messages)
    assert other.build() != token
    assert agora.kPublishAudioStream in parsed.messages
    assert agora.kPublishVideoStream in parsed.messages


def tracks_ended(page: Page) -> list[str]:
    return list(page.evaluate("window.__tracks.map((t) => t.readyState)"))


def until(page: Page, expression: str, timeout: float = WAIT / 1000) -> None:
    """Wait until ``expression`` is true in the page. (``wait_for_function`` polls with an
    eval, which the page's policy refuses, as it should.)"""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        page.wait_for_timeout(100)


def unexpected(viewer: Viewer) -> list[str]:
    """The page's errors, less what the failed joins make the browser and the SDK log by design:
    refused requests, the SDK's own error line for the failed join, and the inline style of the
    SDK's camera probe (refused by the policy, sized by live-rtc.css instead)."""
    expected = ("Failed to load resource", "Agora-SDK [ERROR]", "Applying inline style violates")
    return [e for e in viewer.errors if not (e.startswith("console: ") and any(x in e for x in expected))]


@pytest.fixture(scope="module")
def site(chromium: str, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Site]:
    with served_site(tmp_path_factory.mktemp("viewer-rtc-agora"), sqlite_template) as served:
        assert served.http.put("/api/v1/rtc-config", json=AGORA).status_code == 200
        yield served


@pytest.fixture
def open_viewer(browser: Browser) -> Iterator[OpenViewer]:
    yield from viewer_opener(browser)


def channel_of(site: Site, room: int) -> str:
    return f"liveloop-{site.http.get('/api/v1/shop').json()['id']}-{room}"


def test_a_seated_viewer_joins_agora_with_the_token_issued_for_it_and_a_refusal_is_told(
    site: Site, open_viewer: OpenViewer
) -> None:
    room = site.room("声网连麦")
    site.live_show(room, "声网试色")
    fake = FakeAgora(ap="refuse")
    viewer = open_viewer(site.page_url(room, token=site.token("mic", "麦霸")), before=fake.install)
    assert viewer.response is not None
    policy = viewer.response.headers["content-security-policy"]
    assert f"connect-src 'self' {' '.join(AGORA_CONNECT_SOURCES)};" in policy
    page = viewer.page
    expect(page.locator(".status")).to_be_hidden()
    assert fake.sdk_loads == []  # nothing of the SDK before a seat
    seated(site, room, viewer)

    expect(page.locator(".toast")).to_have_text("连麦连接失败，请稍后重试", timeout=WAIT)
    expect(page.locator(".seat-pill")).to_have_text("连麦未接通")
    expect(page.locator(".rtc-stage")).to_be_hidden()
    assert len(fake.sdk_loads) == 1
    # The page asked this server once, and handed Agora exactly what it answered.
    assert len(fake.issued) == 1
    grant = fake.issued[0]
    channel = channel_of(site, room)
    assert (grant["provider"], grant["app_id"], grant["room"], grant["identity"]) == (
        "agora",
        AGORA["agora_app_id"],
        channel,
        "u:mic",
    )
    assert grant["can_publish"] is True
    assert_issued_for(grant["token"], channel=channel, account="u:mic")
    assert fake.joins, "the SDK never asked an access point"
    for join in fake.joins:  # one per access point it tried
        assert join["appid"] == AGORA["agora_app_id"]
        (body,) = join["request_bodies"]
        assert body["buffer"]["cname"] == channel
        assert body["buffer"]["key"] == grant["token"]
        assert body["buffer"]["detail"]["6"] == "u:mic"  # the string uid the token was built for
    assert fake.string_uids
    assert {u["string_uid"] for u in fake.string_uids} == {"u:mic"}
    assert {u["appid"] for u in fake.string_uids} == {AGORA["agora_app_id"]}
    # The camera and microphone were opened for the join, and closed when it failed.
    until(page, "window.__tracks.length >= 2")
    assert set(tracks_ended(page)) == {"ended"}
    # Agora needed no more than the policy gives: its only violation is the camera probe's style.
    assert {v.split(" ")[0] for v in page.evaluate("window.__violations")} <= {"style-src-attr"}
    # The seat is still held: the viewer can leave it.
    page.get_by_role("button", name="更多").tap()
    expect(page.locator(".seat-state")).to_have_text("连麦未接通")
    page.get_by_role("button", name="下麦").tap()
    expect(page.locator(".seat-pill")).to_be_hidden()
    assert unexpected(viewer) == []


def test_the_seat_ending_mid_join_closes_camera_and_microphone_and_a_new_seat_joins_again(
    site: Site, open_viewer: OpenViewer
) -> None:
    room = site.room("声网下麦")
    fake = FakeAgora(ap="hold")
    viewer = open_viewer(
        site.page_url(room, token=site.token("mic-2", "二号"), lang="en"), before=fake.install
    )
    page = viewer.page
    expect(page.locator(".status")).to_be_hidden()
    try:
        for round_ in (1, 2):
            page.get_by_role("button", name="More").tap()
            page.get_by_role("button", name="Request to co-host").tap()
            # The server has the request once the page says so (it goes over the socket).
            expect(page.locator(".seat-pill")).to_have_text("Requested: waiting for the host")
            page.keyboard.press("Escape")
            pending = site.http.get(f"/api/v1/rooms/{room}/seat-requests", params={"state": "requested"})
            request_id = pending.json()["items"][0]["id"]
            site.http.post(f"/api/v1/rooms/{room}/seat-requests/{request_id}/approve").raise_for_status()
            expect(page.locator(".seat-pill")).to_have_text("Joining the call…")
            preview = page.locator(".rtc-stage .rtc-tile video")
            expect(preview).to_be_visible()
            until(page, "document.querySelector('.rtc-tile video').videoWidth > 0")
            expect(page.locator(".rtc-caption")).to_have_text("Your camera")
            # This seat's own token (a new one each seat) reaches an access point, which holds it.
            assert len(fake.issued) == round_
            token = fake.issued[-1]["token"]
            deadline = time.monotonic() + WAIT / 1000
            while token not in {j["request_bodies"][0]["buffer"]["key"] for j in fake.joins}:
                assert time.monotonic() < deadline, "the join never reached an access point"
                page.wait_for_timeout(100)
            assert page.evaluate("window.__tracks.filter((t) => t.readyState === 'live').length") == 2

            site.http.post(f"/api/v1/rooms/{room}/seat-requests/{request_id}/end").raise_for_status()
            expect(page.locator(".seat-pill")).to_be_hidden()
            expect(page.locator(".rtc-stage")).to_be_hidden()
            expect(page.locator(".rtc-tile")).to_have_count(0)
            until(page, "window.__tracks.every((t) => t.readyState === 'ended')")
        expect(page.locator(".toast")).to_be_hidden()
        assert len(fake.sdk_loads) == 1  # the SDK loads once per page, however many seats
        assert len(fake.issued) == 2
    finally:
        fake.release()
    assert unexpected(viewer) == []


def test_an_unreachable_agora_cloud_is_told_with_a_toast(site: Site, open_viewer: OpenViewer) -> None:
    room = site.room("连不上声网")
    fake = FakeAgora(ap="down")
    viewer = open_viewer(site.page_url(room, token=site.token("far", "远方")), before=fake.install)
    seated(site, room, viewer)
    page = viewer.page
    expect(page.locator(".seat-pill")).to_have_text("连麦接通中…")
    # The SDK retries unreachable access points without end; the page gives up after 15 s.
    expect(page.locator(".toast")).to_have_text("连麦连接失败，请稍后重试", timeout=25_000)
    expect(page.locator(".seat-pill")).to_have_text("连麦未接通")
    expect(page.locator(".rtc-stage")).to_be_hidden()
    assert fake.joins
    assert {j["request_bodies"][0]["buffer"]["key"] for j in fake.joins} == {fake.issued[0]["token"]}
    until(page, "window.__tracks.length >= 2 && window.__tracks.every((t) => t.readyState === 'ended')")
    assert unexpected(viewer) == []


def test_a_denied_camera_is_told_and_nothing_joins(site: Site, open_viewer: OpenViewer) -> None:
    room = site.room("声网没有摄像头")
    fake = FakeAgora(ap="refuse")

    def deny(page: Page) -> None:
        fake.install(page)
        deny_camera(page)

    viewer = open_viewer(site.page_url(room, token=site.token("no-cam", "害羞")), before=deny)
    seated(site, room, viewer)
    told_camera_denied(viewer.page)
    viewer.page.wait_for_timeout(1000)
    assert fake.joins == []
    assert unexpected(viewer) == []


def test_only_a_signed_in_viewer_of_an_agora_shop_gets_agoras_cloud_in_connect_src(site: Site) -> None:
    room = site.room("声网策略")
    signed_in = site.http.get(f"/live/{room}", params={"token": site.token("csp", "策略")})
    guest = site.http.get(f"/live/{room}")
    policy = signed_in.headers["content-security-policy"]
    assert (
        "connect-src 'self' https://*.agora.io wss://*.agora.io:* https://*.sd-rtn.com wss://*.sd-rtn.com:*;"
        in policy
    )
    assert "worker-src" not in policy
    assert "blob:" not in policy.split("connect-src")[1]
    assert 'data-rtc="agora"' in signed_in.text
    assert "connect-src 'self';" in guest.headers["content-security-policy"]
