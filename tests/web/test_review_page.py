"""The review page (/console/shows/{id}/review) in real headless Chromium against a real `liveloop serve`.

One show is played for real: a viewer joins the room over its WebSocket, comments and likes, leaves;
the show ends; the events reach the event store through the server's own ingest. Then the page is
opened with the console's cookie and must show Chinese text and the figures.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, expect
from websockets.sync.client import ClientConnection, connect

from liveloop import bootstrap
from liveloop.settings import Settings
from liveloop.shops import do_create_shop
from liveloop.web.review_render import echarts_vendored
from tests.conftest import created, run_async
from tests.servers import Server, running_server

#: Draw two characters in the page's font; true when their pixels differ (real glyphs, not tofu).
DIFFERENT_GLYPHS = """([a, b]) => {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 48;
  const g = canvas.getContext("2d");
  const draw = (ch) => {
    g.clearRect(0, 0, 48, 48);
    g.font = "40px " + getComputedStyle(document.body).fontFamily;
    g.fillText(ch, 2, 40);
    return g.getImageData(0, 0, 48, 48).data.join(",");
  };
  return draw(a) !== draw(b);
}"""


@dataclass
class Played:
    server: Server
    key: str
    show_id: int


def ack(ws: ClientConnection, frame: dict[str, Any]) -> None:
    ws.send(json.dumps(frame))
    for _ in range(200):
        answer = json.loads(ws.recv(timeout=5))
        if answer.get("ref") == frame["ref"]:
            assert answer["type"] == "ack", answer
            return
    raise AssertionError(f"no ack for {frame}")


@pytest.fixture(scope="module")
def played(
    chromium: str, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[Played]:
    data_dir = tmp_path_factory.mktemp("review-page")
    shutil.copy(sqlite_template, data_dir / "liveloop.db")

    async def owner_key() -> str:
        db = await bootstrap.prepare_database(Settings(data_dir=data_dir, database_url=None))
        try:
            return (await do_create_shop(db, name="星光美妆 Starlight Beauty")).api_key
        finally:
            await db.dispose()

    key = run_async(owner_key)
    with (
        running_server(data_dir, env={"LIVELOOP_EVENT_FLUSH_SECONDS": "0.1"}) as server,
        httpx2.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=10) as http,
    ):
        room = created(http.post("/api/v1/rooms", json={"name": "星光直播间"}))
        body = {
            "room_id": room["id"],
            "title": "春季新品专场",
            "planned_start": "2026-12-01T12:00:00Z",
            "planned_end": "2026-12-01T14:00:00Z",
        }
        show = created(http.post("/api/v1/shows", json=body))
        assert http.post(f"/api/v1/shows/{show['id']}/start").status_code == 200
        token = created(http.post("/api/v1/viewer-tokens", json={"user_id": "alice", "nickname": "爱丽丝"}))[
            "token"
        ]
        url = f"{server.ws_url}/ws/rooms/{room['id']}?v=1&token={token}&source=share"
        with connect(url) as ws:
            ws.send(json.dumps({"type": "like", "count": 10}))  # likes are not acknowledged
            ack(ws, {"type": "comment", "text": "这个色号好看！", "ref": "c1"})
        assert http.post(f"/api/v1/shows/{show['id']}/end").status_code == 200
        deadline = time.monotonic() + 15
        while True:  # the leave and the comment reach the store within a flush
            review = http.get(f"/api/v1/shows/{show['id']}/review").json()
            if review["totals"]["sessions"] == 1 and review["totals"]["comments"] == 1:
                break
            assert time.monotonic() < deadline, review["totals"]
            time.sleep(0.2)
        yield Played(server=server, key=key, show_id=show["id"])


def open_page(
    browser: Browser, played: Played, path: str, *, signed_in: bool = True
) -> tuple[Page, list[str]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    if signed_in:
        context.add_cookies([{"name": "ll_staff_key", "value": played.key, "url": played.server.url}])
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "pageerror", lambda error: errors.append(f"pageerror: {error}") if isinstance(error, Error) else None
    )

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text}")

    page.on("console", on_console)
    page.goto(f"{played.server.url}{path}")
    return page, errors


@pytest.mark.browser
def test_the_review_renders_in_chinese_with_its_figures(
    browser: Browser, played: Played, tmp_path_factory: pytest.TempPathFactory
) -> None:
    page, errors = open_page(browser, played, f"/console/shows/{played.show_id}/review")
    expect(page).to_have_title("直播复盘 · 春季新品专场")
    expect(page.locator("#rv-title")).to_have_text("春季新品专场")
    expect(page.get_by_role("heading", name="核心指标")).to_be_visible()
    uv = page.locator('[data-kpi="uv"]')
    expect(uv.locator(".rv-kpi-label")).to_have_text("观看人数")
    expect(uv.locator(".rv-kpi-value")).to_have_text("1")
    expect(page.locator('[data-kpi="pv"] .rv-kpi-label')).to_have_text("场观（观看人次）")
    expect(page.locator("#sources")).to_contain_text("分享")
    expect(page.locator("#timeline")).to_contain_text("在线人数")
    # CJK glyphs really render: with no CJK font, two different characters draw the same tofu box
    assert page.evaluate(DIFFERENT_GLYPHS, ["直", "播"])
    if echarts_vendored():  # the charts are redrawn with ECharts; else the SVG stays
        expect(page.locator("#rv-chart-ccu canvas")).to_have_count(1)
    else:
        expect(page.locator("#timeline svg.rv-svg")).to_be_visible()
    page.screenshot(path=str(tmp_path_factory.mktemp("shots") / "review.png"), full_page=True)
    assert errors == []
    page.context.close()


@pytest.mark.browser
def test_english_and_signing_in(browser: Browser, played: Played) -> None:
    page, errors = open_page(browser, played, f"/console/shows/{played.show_id}/review?lang=en")
    expect(page.get_by_role("heading", name="Headline figures")).to_be_visible()
    expect(page.locator('[data-kpi="uv"] .rv-kpi-label')).to_have_text("Viewers (UV)")
    assert errors == []
    page.context.close()
    page, _ = open_page(browser, played, f"/console/shows/{played.show_id}/review", signed_in=False)
    assert "/console/login" in page.url
    page.context.close()
    foreign = httpx2.get(
        f"{played.server.url}/console/shows/{played.show_id + 1000}/review",
        headers={"Authorization": f"Bearer {played.key}"},
        timeout=10,
    )
    assert foreign.status_code == 404
    assert 'data-code="rooms.show_not_found"' in foreign.text
    bad_key = httpx2.get(
        f"{played.server.url}/console/shows/{played.show_id}/review",
        headers={"Authorization": "Bearer llk_not_a_key"},
        timeout=10,
    )
    assert bad_key.status_code == 401
