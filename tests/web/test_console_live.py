"""The console's live view showing numbers, in real headless Chromium against a real `liveloop serve`.

First with a known snapshot played into the page's metrics socket (every tile's figure and its
denominator checked to the character), then end to end: real viewers join the room socket,
comment and like, an order is paid, and the tiles and the CCU chart move (needs LiveMetrics).
"""

from __future__ import annotations

import importlib.util
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, WebSocketRoute, expect

from tests.conftest import created
from tests.web.console_site import (
    CANVAS_INK_JS,
    SERIES_PIXELS_JS,
    OpenTab,
    Site,
    start_site,
    tab_opener,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(chromium: str, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Site]:
    yield from start_site(tmp_path_factory.mktemp("console-live"), sqlite_template)


@pytest.fixture
def tab(browser: Browser) -> Iterator[OpenTab]:
    yield from tab_opener(browser)


LIVE_SERIES_RGB = [0xF4, 0x3F, 0x5E]  # COLORS[1] in console.js: the per-second CCU line


def ratio(numerator: float, denominator: float, base: str, scale: float = 1) -> dict[str, Any]:
    value = numerator / denominator * scale if denominator else None
    return {"value": value, "numerator": numerator, "denominator": denominator, "base": base}


def known_snapshot(show_id: int, product_ids: list[int]) -> dict[str, Any]:
    first, second = product_ids
    minutes = [
        {
            "minute": f"2026-12-01T12:0{i}:00+00:00",
            "index": i,
            "ccu": c,
            "comments": 3 * i,
            "likes": 40 * i,
            "shares": i,
        }
        for i, c in enumerate([120, 260, 310, 298, 321])
    ]
    products = [
        {"product_id": first, "exposure_uv": 500, "click_uv": 60, "paid_uv": 25, "gmv_cents": 890000,
         "ctr": ratio(60, 500, "exposure_uv"), "explaining": False},
        {"product_id": second, "exposure_uv": 300, "click_uv": 60, "paid_uv": 15, "gmv_cents": 344500,
         "ctr": ratio(60, 300, "exposure_uv"), "explaining": True},
    ]  # fmt: skip
    totals = {
        "uv": 1234, "pv": 1500, "ccu": 321, "pcu": 456, "exposure_uv": 800, "click_uv": 120, "order_uv": 50,
        "paid_uv": 40, "paid_orders": 45, "gmv_cents": 1234500,
        "avg_watch_seconds": ratio(185100, 1234, "uv"),
        "interaction_rate": ratio(300, 1234, "uv"),
        "ctr": ratio(120, 800, "exposure_uv"),
        "gpm": ratio(1234500, 1500, "pv", 1000),
        "aov_per_order": ratio(1234500, 45, "paid_orders"),
        "aov_per_buyer": ratio(1234500, 40, "paid_uv"),
        "view_to_paid": ratio(40, 1234, "uv"),
    }  # fmt: skip
    return {
        "show_id": show_id, "status": "live", "as_of": "2026-12-01T12:04:30+00:00", "totals": totals,
        "explaining_product_id": second, "products": products, "minutes": minutes,
    }  # fmt: skip


ALERT = {
    "rule": "traffic_drop",
    "severity": "critical",
    "message_zh": "在线人数 5 分钟内从 460 降到 300",
    "message_en": "Online viewers fell from 460 to 300 in 5 minutes",
    "figures": {"ccu_now": 300, "ccu_before": 460},
    "suggestion_zh": "马上发一轮红包或上福利款留人",
    "suggestion_en": "Drop a red packet or a deal now",
    "at": "2026-12-01T12:04:00+00:00",
}


def test_a_known_snapshot_fills_every_tile_with_its_denominator(
    site: Site, tab: OpenTab, tmp_path: Path
) -> None:
    room = site.room("数据直播间")
    show = site.show(room, "大促数据演示", live=True)
    products = []
    for title in ("丝绒口红", "气垫粉底"):
        body = {"sku": uuid.uuid4().hex[:12], "title": title, "price_cents": 8900, "stock": 100}
        products.append(int(created(site.http.post("/api/v1/products", json=body))["id"]))
    assert site.http.put(f"/api/v1/shows/{show}/lineup", json={"product_ids": products}).status_code == 200

    def metrics_socket(ws: WebSocketRoute) -> None:
        # Stands in for the server's socket: the hello, one snapshot, the alerts.
        ws.send(json.dumps({"type": "hello", "show": {"id": show, "state": "live"}, "interval_ms": 1000}))
        ws.send(json.dumps({"type": "metrics", "metrics": known_snapshot(show, products)}))
        ws.send(json.dumps({"type": "alerts", "alerts": [ALERT]}))

    t = tab()
    t.page.route_web_socket(f"**/ws/console/shows/{show}", metrics_socket)
    t.sign_in(site, site.key_a, f"/console/shows/{show}")
    expected = {
        "ccu": "321", "pcu": "456", "uv": "1,234", "pv": "1,500", "avg_watch": "2分30秒",
        "interaction": "24.3%", "ctr": "15.0%", "gmv": "¥12,345.00", "gpm": "¥8,230.00",
        "aov": "¥274.33", "conversion": "3.24%",
    }  # fmt: skip
    for key, text in expected.items():
        expect(t.kpi(key)).to_have_text(text)
    sub = {
        "interaction": "300 / 1,234 观看人数",
        "ctr": "120 / 800 曝光人数",
        "gpm": "/千次观看 · GMV ¥12,345.00 / 1,500 场观",
        "aov": "GMV / 45 支付订单 · 按买家 ¥308.63",
        "conversion": "40 / 1,234 观看人数",
        "avg_watch": "51小时25分 / 1,234 观看人数",
        "gmv": "已支付订单 45 笔，未扣退款",
    }
    for key, text in sub.items():
        expect(t.page.locator(f'[data-kpi="{key}"] .kpi-sub')).to_have_text(text)
        expect(t.page.locator(f'[data-kpi="{key}"]')).to_have_attribute("title", text)

    rows = t.page.locator(".products tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_text("丝绒口红50060" + "12.0%" + "25¥8,900.00")  # by GMV
    expect(rows.nth(1).locator(".badge-explaining")).to_have_text("讲解中")
    expect(rows.nth(1)).to_contain_text("气垫粉底")
    expect(rows.nth(0).locator(".badge-explaining")).to_have_count(0)

    alert = t.page.locator(".alert")
    expect(alert.locator(".alert-rule")).to_have_text("流量下滑")
    expect(alert.locator(".alert-message")).to_have_text("在线人数 5 分钟内从 460 降到 300")
    expect(alert.locator(".alert-suggestion")).to_have_text("建议：马上发一轮红包或上福利款留人")
    expect(alert.locator(".chip")).to_have_text(["ccu_now: 300", "ccu_before: 460"])
    expect(t.page.locator("#chart-ccu")).to_have_attribute("data-points", "6")  # 5 minutes + now
    expect(t.page.locator("#chart-funnel")).to_have_attribute("data-points", "1234")
    t.page.wait_for_timeout(600)  # the charts' update animation (300 ms)
    for chart in ("chart-ccu", "chart-interactions", "chart-funnel"):
        assert t.page.evaluate(CANVAS_INK_JS, chart) > 2000, chart
    t.page.screenshot(path=str(tmp_path / "console-known.png"), full_page=True)
    assert t.errors == []


def read_until(ws: Any, match: Callable[[dict[str, Any]], bool], timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        frame: dict[str, Any] = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if match(frame):
            return frame


@pytest.mark.skipif(
    importlib.util.find_spec("liveloop.analytics.live") is None,
    reason="liveloop.analytics.live (LiveMetrics) has not landed: the console has no live metrics to show",
)
def test_tiles_and_the_ccu_chart_move_while_viewers_act(site: Site, tab: OpenTab, tmp_path: Path) -> None:
    room = site.room("实况直播间")
    show = site.show(room, "实况：观众进场", live=True)
    body = {"sku": uuid.uuid4().hex[:12], "title": "丝绒口红", "price_cents": 8900, "stock": 100}
    product = int(created(site.http.post("/api/v1/products", json=body))["id"])
    assert site.http.put(f"/api/v1/shows/{show}/lineup", json={"product_ids": [product]}).status_code == 200

    t = tab()
    t.sign_in(site, site.key_a, f"/console/shows/{show}")
    expect(t.page.locator(".conn")).to_have_text("实时更新中")
    expect(t.kpi("ccu")).to_have_text("0")
    expect(t.kpi("uv")).to_have_text("0")
    chart = t.page.locator("#chart-ccu")
    before = chart.screenshot(path=str(tmp_path / "ccu-before.png"), animations="disabled")

    names = ["爱丽丝", "小明", "小红", "阿杰", "娜娜"]
    with ExitStack() as stack:
        viewers = [stack.enter_context(site.viewer(room, f"fan{i}", n)) for i, n in enumerate(names)]
        expect(t.kpi("ccu")).to_have_text("5", timeout=15_000)
        expect(t.kpi("uv")).to_have_text("5")
        for i, viewer in enumerate(viewers[:3]):
            assert viewer.say(f"第 {i + 1} 条：这个颜色好看！")["type"] == "ack"
        viewers[3].ws.send(json.dumps({"type": "like", "count": 30}))
        expect(t.page.locator(".comment-list .comment")).to_have_count(3)
        expect(t.kpi("interaction")).not_to_have_text("—")
        expect(t.page.locator('[data-kpi="interaction"] .kpi-sub')).to_contain_text("/ 5 观看人数")

        buyer = site.token("fan0", "爱丽丝")
        order = site.http.post(
            "/api/v1/buyer/orders",
            json={"product_id": product, "quantity": 2, "show_id": show},
            headers={"Authorization": f"Bearer {buyer}", "Idempotency-Key": uuid.uuid4().hex},
        )
        order_id = created(order)["id"]
        deadline = time.monotonic() + 15  # the embedded payment simulator confirms in about 2 s
        while site.http.get(f"/api/v1/orders/{order_id}").json()["state"] != "paid":
            assert time.monotonic() < deadline, "the simulated payment never arrived"
            time.sleep(0.2)
        expect(t.kpi("gmv")).to_have_text("¥178.00", timeout=15_000)
        expect(t.page.locator('[data-kpi="gmv"] .kpi-sub')).to_have_text("已支付订单 1 笔，未扣退款")
        expect(t.kpi("conversion")).to_have_text("20.0%")  # 1 paying of 5 viewers

        # The CCU line has points (per-minute buckets and the per-second samples) and is drawn.
        expect(chart).not_to_have_attribute("data-points", "0")
        assert int(chart.get_attribute("data-points") or 0) >= 3
        t.page.wait_for_timeout(600)
        assert t.page.evaluate(SERIES_PIXELS_JS, ["chart-ccu", LIVE_SERIES_RGB]) > 50
        after = chart.screenshot(path=str(tmp_path / "ccu-after.png"), animations="disabled")
        assert after != before
        t.page.screenshot(path=str(tmp_path / "console-live.png"), full_page=True)
        assert (tmp_path / "console-live.png").stat().st_size > 50_000
    expect(t.kpi("ccu")).to_have_text("0", timeout=15_000)  # everyone left
    expect(t.kpi("pcu")).to_have_text("5")
    assert t.errors == []
