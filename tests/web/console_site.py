"""A real `liveloop serve` with two shops, and the browser, for the console's Chromium tests.

Shop A holds the shows; shop B exists to prove that its keys see none of them. Viewers are real
WebSocket clients of the room socket (``websockets``), as a phone's page would be.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Error, Page, expect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from liveloop import bootstrap
from liveloop.settings import Settings
from liveloop.shops import do_create_shop
from tests.conftest import created
from tests.servers import Server, running_server

LAPTOP: dict[str, Any] = {"viewport": {"width": 1440, "height": 1000}, "device_scale_factor": 1}
Frame = dict[str, Any]


@dataclass
class Site:
    server: Server
    key_a: str
    key_b: str
    http: httpx2.Client  # shop A's owner

    def room(self, name: str) -> int:
        return int(created(self.http.post("/api/v1/rooms", json={"name": name}))["id"])

    def show(self, room_id: int, title: str, *, live: bool) -> int:
        body = {
            "room_id": room_id,
            "title": title,
            "planned_start": "2026-12-01T12:00:00Z",
            "planned_end": "2026-12-01T14:00:00Z",
        }
        show_id = int(created(self.http.post("/api/v1/shows", json=body))["id"])
        if live:
            assert self.http.post(f"/api/v1/shows/{show_id}/start").status_code == 200
        return show_id

    def token(self, user_id: str, nickname: str) -> str:
        body = {"user_id": user_id, "nickname": nickname}
        return str(created(self.http.post("/api/v1/viewer-tokens", json=body))["token"])

    def url(self, path: str) -> str:
        return f"{self.server.url}{path}"

    @contextmanager
    def viewer(self, room_id: int, user_id: str, nickname: str) -> Iterator[Viewer]:
        url = f"{self.server.ws_url}/ws/rooms/{room_id}?v=1&token={self.token(user_id, nickname)}"
        with connect(url) as ws:
            yield Viewer(ws)


@dataclass
class Viewer:
    ws: ClientConnection
    refs: int = 0

    def say(self, text: str) -> Frame:
        """Comment and return the server's answer to it (an ack or an error frame)."""
        self.refs += 1
        ref = f"v{self.refs}"
        self.ws.send(json.dumps({"type": "comment", "text": text, "ref": ref}))
        return self.wait(lambda f: f.get("ref") == ref)

    def wait(self, match: Callable[[Frame], bool], timeout: float = 10) -> Frame:
        deadline = time.monotonic() + timeout
        while True:
            frame: Frame = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if match(frame):
                return frame

    def closed_code(self, timeout: float = 10) -> int | None:
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        except ConnectionClosed:
            return self.ws.close_code
        return None


@dataclass
class Tab:
    page: Page
    errors: list[str] = field(default_factory=list)

    def on_page_error(self, error: Error) -> None:
        self.errors.append(f"pageerror: {error}")

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def kpi(self, key: str) -> Any:
        return self.page.locator(f'[data-kpi="{key}"] .kpi-value')

    def sign_in(self, site: Site, key: str, path: str = "/console") -> None:
        self.page.goto(site.url(path))
        expect(self.page.get_by_role("heading", name="登录运营控制台")).to_be_visible()
        self.page.get_by_label("员工 API 密钥").fill(key)
        self.page.get_by_role("button", name="登录").click()


def start_site(data_dir: Path, sqlite_template: Path) -> Iterator[Site]:
    shutil.copy(sqlite_template, data_dir / "liveloop.db")

    async def keys() -> tuple[str, str]:
        db = await bootstrap.prepare_database(Settings(data_dir=data_dir, database_url=None))
        try:
            a = await do_create_shop(db, name="星光美妆 Starlight Beauty")
            b = await do_create_shop(db, name="别家小店")
            return a.api_key, b.api_key
        finally:
            await db.dispose()

    key_a, key_b = asyncio.run(keys())
    with (
        running_server(data_dir) as server,
        httpx2.Client(base_url=server.url, headers={"Authorization": f"Bearer {key_a}"}, timeout=10) as http,
    ):
        yield Site(server=server, key_a=key_a, key_b=key_b, http=http)


def open_tab(browser: Browser, contexts: list[BrowserContext], **options: Any) -> Tab:
    context = browser.new_context(**(LAPTOP | {"locale": "zh-CN"} | options))
    contexts.append(context)
    page = context.new_page()
    tab = Tab(page)
    page.on("pageerror", tab.on_page_error)
    page.on("console", tab.on_console)
    return tab


#: Draws two CJK characters and a code point no font has on a canvas with the page's own font:
#: without a CJK font both characters come out as the same "tofu" box (or nothing at all).
GLYPHS_JS = """() => {
  const canvas = document.createElement("canvas");
  canvas.width = 64; canvas.height = 40;
  const ctx = canvas.getContext("2d");
  const family = getComputedStyle(document.body).fontFamily;
  const draw = (ch) => {
    ctx.clearRect(0, 0, 64, 40);
    ctx.font = `28px ${family}`;
    ctx.fillStyle = "#000";
    ctx.fillText(ch, 4, 32);
    const data = ctx.getImageData(0, 0, 64, 40).data;
    let ink = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) ink += 1;
    return { ink, sig: Array.from(data.filter((_, i) => i % 4 === 3)).join(",") };
  };
  const a = draw("在"), b = draw("线"), none = draw("\\u{10FFFD}");
  return { inkA: a.ink, inkB: b.ink, same: a.sig === b.sig, likeTofu: a.sig === none.sig };
}"""

#: How many pixels of a chart's canvas differ from its background (the top-left pixel).
CANVAS_INK_JS = """(id) => {
  const canvas = document.querySelector(`#${id} canvas`);
  if (!canvas) return -1;
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  const data = ctx.getImageData(0, 0, width, height).data;
  const [r0, g0, b0, a0] = data.slice(0, 4);
  let ink = 0;
  for (let i = 0; i < data.length; i += 4) {
    const d = Math.abs(data[i] - r0) + Math.abs(data[i + 1] - g0) + Math.abs(data[i + 2] - b0);
    if (d + Math.abs(data[i + 3] - a0) > 60) ink += 1;
  }
  return ink;
}"""

#: The series colour of the "live" CCU line (COLORS[1] in console.js) counted on the canvas.
SERIES_PIXELS_JS = """([id, rgb]) => {
  const canvas = document.querySelector(`#${id} canvas`);
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let hits = 0;
  for (let i = 0; i < data.length; i += 4) {
    const d = Math.abs(data[i] - rgb[0]) + Math.abs(data[i + 1] - rgb[1]) + Math.abs(data[i + 2] - rgb[2]);
    if (d < 40 && data[i + 3] > 200) hits += 1;
  }
  return hits;
}"""


OpenTab = Callable[..., Tab]


def tab_opener(browser: Browser) -> Iterator[OpenTab]:
    """The body of a ``tab`` fixture: open tabs (each in its own context), all closed afterwards."""
    contexts: list[BrowserContext] = []

    def open_(**options: Any) -> Tab:
        return open_tab(browser, contexts, **options)

    yield open_
    for context in contexts:
        context.close()
