"""The operator console in real headless Chromium against a real `liveloop serve`.

Sign-in with real keys, the show list, the live view in Chinese (a CJK font must really draw),
the comment stream with moderation, the live tools, English, and another shop's key kept out.
Every page's JS errors and console errors are collected and must stay empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.web.console_site import GLYPHS_JS, OpenTab, Site, start_site, tab_opener

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(chromium: str, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Site]:
    yield from start_site(tmp_path_factory.mktemp("console"), sqlite_template)


@pytest.fixture
def tab(browser: Browser) -> Iterator[OpenTab]:
    yield from tab_opener(browser)


def test_sign_in_with_a_real_key_then_the_show_list(site: Site, tab: OpenTab) -> None:
    room = site.room("星光美妆官方直播间")
    live = site.show(room, "秋冬新品口红试色专场", live=True)
    site.show(site.room("周末直播间"), "周末囤货节", live=False)
    t = tab()
    t.page.goto(site.url("/console"))
    expect(t.page).to_have_url(re.compile(r"/console/login\?next=%2Fconsole$"))

    t.page.get_by_label("员工 API 密钥").fill("llk_0123456789abcdef_" + "x" * 43)
    t.page.get_by_role("button", name="登录").click()
    expect(t.page.get_by_role("alert")).to_have_text("密钥无效：格式不对、不存在或已被撤销")
    assert not t.page.context.cookies()
    # The refused sign-in answers 401, which Chromium reports on its console: expected, then reset.
    assert [e for e in t.errors if "status of 401" not in e] == []
    t.errors.clear()

    t.page.get_by_label("员工 API 密钥").fill(site.key_a)
    t.page.get_by_role("button", name="登录").click()
    expect(t.page).to_have_url(site.url("/console"))
    cookie = next(c for c in t.page.context.cookies() if c["name"] == "ll_staff_key")
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["value"]) == (True, "Strict", site.key_a)
    assert "llk_" not in t.page.evaluate("document.cookie")  # scripts never see the key

    rows = t.page.locator(".show-row")
    expect(rows.first).to_contain_text("秋冬新品口红试色专场")  # live first
    expect(rows.first.locator(".state")).to_have_text("直播中")
    expect(t.page.locator(".show-row", has_text="周末囤货节").locator(".state")).to_have_text("未开始")
    expect(t.page.locator(".shop-name")).to_have_text("星光美妆 Starlight Beauty")
    rows.first.get_by_role("link", name="实时大屏").click()
    expect(t.page).to_have_url(site.url(f"/console/shows/{live}"))

    t.page.get_by_role("button", name="退出登录").click()
    expect(t.page).to_have_url(site.url("/console/login"))
    assert not [c for c in t.page.context.cookies() if c["name"] == "ll_staff_key"]
    t.page.goto(site.url(f"/console/shows/{live}"))
    expect(t.page.get_by_role("heading", name="登录运营控制台")).to_be_visible()
    assert t.errors == []


def test_the_live_view_speaks_chinese_and_draws_it(site: Site, tab: OpenTab, tmp_path: Path) -> None:
    show = site.show(site.room("中文直播间"), "新品首发会", live=True)
    t = tab()
    t.sign_in(site, site.key_a, f"/console/shows/{show}")
    expect(t.page.locator(".show-name")).to_have_text("新品首发会")
    for label in (
        "在线人数",
        "峰值在线",
        "观看人数",
        "场观",
        "人均观看时长",
        "互动率",
        "商品点击率",
        "客单价",
    ):
        expect(t.page.locator(".kpi-label", has_text=label).first).to_be_visible()
    expect(t.page.locator(".conn")).to_have_text(re.compile("^(实时更新中|本服务器未启用实时数据)$"))
    expect(t.page.locator(".comments-empty")).to_have_text("还没有评论")
    expect(t.page.locator(".stream-status")).to_be_hidden()  # the staff room socket is up
    glyphs = t.page.evaluate(GLYPHS_JS)
    assert min(glyphs["inkA"], glyphs["inkB"]) > 20, glyphs  # both characters have ink
    assert not glyphs["same"], glyphs  # and are different shapes
    assert not glyphs["likeTofu"], glyphs  # not the box of a character no font has
    for chart in ("chart-ccu", "chart-interactions", "chart-funnel"):
        expect(t.page.locator(f"#{chart} canvas")).to_have_count(1)
    t.page.screenshot(path=str(tmp_path / "console-zh.png"), full_page=True)
    assert t.errors == []


def test_comments_arrive_and_staff_moderate_them(site: Site, tab: OpenTab) -> None:
    room = site.room("场控直播间")
    show = site.show(room, "场控演练", live=True)
    t = tab()
    t.sign_in(site, site.key_a, f"/console/shows/{show}")
    expect(t.page.locator(".stream-status")).to_be_hidden()
    comments = t.page.locator(".comment-list .comment")
    with site.viewer(room, "alice", "爱丽丝") as alice, site.viewer(room, "spam", "广告号") as spammer:
        assert alice.say("这个色号有现货吗？")["type"] == "ack"
        spam = spammer.say("加我微信买更便宜")
        assert spam["type"] == "ack"
        line = comments.filter(has_text="加我微信买更便宜")
        expect(line).to_contain_text("广告号")
        line.get_by_role("button", name="删除").click()
        expect(line).to_have_count(0)
        expect(t.page.locator(".toast")).to_have_text("评论已删除")
        alice.wait(lambda f: any(i["data"].get("type") == "comment_deleted" for i in f.get("items", [])))

        question = comments.filter(has_text="这个色号有现货吗？")
        question.get_by_role("button", name="置顶").click()
        expect(t.page.locator(".pinned-text")).to_have_text("这个色号有现货吗？")
        t.page.locator(".pinned").get_by_role("button", name="取消置顶").click()
        expect(t.page.locator(".pinned")).to_be_hidden()

        spammer.say("再发一条广告")
        comments.filter(has_text="再发一条广告").get_by_role("button", name="禁言").click()
        expect(t.page.locator(".toast")).to_have_text("已禁言 广告号 10 分钟")
        assert spammer.say("我被禁言了吗")["code"] == "interactions.muted"

        ban = comments.filter(has_text="再发一条广告").get_by_role("button", name="封禁")
        ban.click()
        expect(ban).to_have_text("确认封禁")  # the first click only arms it
        ban.click()
        expect(t.page.locator(".toast")).to_have_text("已封禁 广告号")
        assert spammer.closed_code() == 4003

        t.page.get_by_placeholder("以员工身份在直播间发言…").fill("欢迎新朋友，关注主播不迷路")
        t.page.get_by_role("button", name="发送").click()
        host_line = comments.filter(has_text="欢迎新朋友")
        expect(host_line.locator(".badge")).to_have_text("主播")
        expect(host_line.get_by_role("button", name="禁言")).to_have_count(0)  # no muting staff
    assert t.errors == []


def test_live_tools_start_the_show_and_run_games(site: Site, tab: OpenTab) -> None:
    room = site.room("工具直播间")
    show = site.show(room, "工具演练", live=False)
    t = tab()
    t.sign_in(site, site.key_a, f"/console/shows/{show}")
    page = t.page
    expect(page.locator("[data-show-state]")).to_have_text("未开始")
    expect(page.get_by_role("button", name="结束直播")).to_be_disabled()
    expect(page.get_by_role("link", name="复盘")).to_be_hidden()
    page.get_by_role("button", name="开始直播").click()
    expect(page.locator("[data-show-state]")).to_have_text("直播中")
    expect(page.get_by_role("button", name="开始直播")).to_be_disabled()
    assert site.http.get(f"/api/v1/shows/{show}").json()["state"] == "live"

    page.locator("summary", has_text="投票").click()
    page.get_by_label("问题").fill("下一个讲哪款？")
    page.get_by_label("选项（每行一个，2-6 个）").fill("丝绒口红\n气垫粉底")
    page.get_by_role("button", name="发起投票").click()
    expect(page.locator(".toast")).to_have_text("投票已发起")
    polls = site.http.get(f"/api/v1/rooms/{room}/polls").json()["items"]
    assert [(p["question"], p["state"]) for p in polls] == [("下一个讲哪款？", "open")]
    page.get_by_role("button", name="结束投票").click()
    expect(page.locator(".toast")).to_have_text("投票已结束")

    page.locator("summary", has_text="红包").click()
    page.get_by_label("总金额（元）").fill("6.66")
    page.get_by_label("个数").fill("3")
    page.get_by_role("button", name="发红包").click()
    expect(page.locator(".toast")).to_have_text("红包已发出")
    packets = site.http.get(f"/api/v1/rooms/{room}/red-packets").json()["items"]
    assert [(p["total_cents"], p["count"]) for p in packets] == [(666, 3)]

    page.locator("summary", has_text="抽奖").click()
    page.get_by_label("奖品").fill("正装口红一支")
    page.get_by_role("button", name="开始抽奖").click()
    expect(page.locator(".toast")).to_have_text("抽奖已开始")
    page.get_by_role("button", name="立即开奖").click()
    expect(page.locator(".toast")).to_have_text("已开奖：无人中奖")

    page.get_by_role("button", name="结束直播").click()
    expect(page.get_by_role("button", name="确认结束")).to_be_visible()  # armed, not ended yet
    assert site.http.get(f"/api/v1/shows/{show}").json()["state"] == "live"
    page.get_by_role("button", name="确认结束").click()
    expect(page.locator("[data-show-state]")).to_have_text("已结束")
    expect(page.get_by_role("link", name="复盘")).to_have_attribute("href", f"/console/shows/{show}/review")
    assert site.http.get(f"/api/v1/shows/{show}").json()["state"] == "ended"
    assert t.errors == []


def test_english_and_a_phone_sized_screen(site: Site, tab: OpenTab) -> None:
    show = site.show(site.room("English room"), "Autumn launch", live=True)
    t = tab(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    t.sign_in(site, site.key_a, f"/console/shows/{show}")
    t.page.get_by_role("link", name="切换到英文").click()
    expect(t.page.locator("html")).to_have_attribute("lang", "en")
    expect(t.page.locator(".kpi-label", has_text="Online (CCU)")).to_be_visible()
    expect(t.page.get_by_role("heading", name="Live comments")).to_be_visible()
    expect(t.page.get_by_role("button", name="Sign out")).to_be_visible()
    width = t.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    assert t.errors == []


def test_a_key_of_another_shop_sees_neither_the_page_nor_the_socket(site: Site, tab: OpenTab) -> None:
    show = site.show(site.room("A 店直播间"), "A 店的直播", live=True)
    t = tab()
    t.sign_in(site, site.key_b)
    expect(t.page.locator(".shop-name")).to_have_text("别家小店")
    expect(t.page.locator(".show-row")).to_have_count(0)
    response = t.page.goto(site.url(f"/console/shows/{show}"))
    assert response is not None
    assert response.status == 404
    expect(t.page.get_by_role("heading", name="找不到这场直播")).to_be_visible()
    closed = t.page.evaluate(
        """(id) => new Promise((resolve) => {
            const ws = new WebSocket(`ws://${location.host}/ws/console/shows/${id}`);
            ws.onclose = (event) => resolve(event.code);
        })""",
        show,
    )
    assert closed == 4004
    assert [e for e in t.errors if "status of 404" not in e] == []
