"""The live tools on the viewer page, in real headless Chromium against a real `liveloop serve`.

Staff act over REST (as the console does); viewers act on the page, whose frames go over the room
socket: polls, red packets, the lucky bag, the product bag, 讲解中, flash sales and buying with the
simulated payment, coupons, Q&A and co-host requests. Every page's JS and console errors must stay
empty.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, expect
from starlette.testclient import TestClient

from tests.conftest import ShopKeys, created
from tests.web.test_viewer_page import OpenViewer, Site, Viewer, served_site, viewer_opener

SLOW = 15_000  # ms: a simulated payment confirms after 2 s; polls of the order every second


@pytest.fixture(scope="module")
def site(chromium: str, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Site]:
    with served_site(tmp_path_factory.mktemp("viewer-tools"), sqlite_template) as served:
        yield served


@pytest.fixture
def open_viewer(browser: Browser) -> Iterator[OpenViewer]:
    yield from viewer_opener(browser)


def post(site: Site, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    answer = site.http.post(path, json=body)
    assert answer.status_code in (200, 201), answer.text
    result: dict[str, Any] = answer.json()
    return result


def product(site: Site, title: str, price_cents: int, stock: int = 50) -> dict[str, Any]:
    body = {"sku": uuid.uuid4().hex[:12], "title": title, "price_cents": price_cents, "stock": stock}
    return created(site.http.post("/api/v1/products", json=body))


def joined(viewer: Viewer) -> None:
    """The socket is up (the status line hides once the snapshot arrived)."""
    expect(viewer.page.locator(".status")).to_be_hidden()


def tile(viewer: Viewer, kind: str) -> Locator:
    return viewer.page.locator(f".tool-rail .{kind}")


def test_a_poll_card_takes_votes_and_shows_live_results(
    site: Site, open_viewer: OpenViewer, tmp_path: Path
) -> None:
    room = site.room("投票")
    site.live_show(room, "下一款讲什么")
    a = open_viewer(site.page_url(room, token=site.token("poll-a", "小安")))
    b = open_viewer(site.page_url(room, token=site.token("poll-b", "小白")))
    joined(a)
    joined(b)
    body = {"question": "下一个讲哪款？", "options": [{"text": "口红"}, {"text": "眼影"}]}
    poll = created(site.http.post(f"/api/v1/rooms/{room}/polls", json=body))
    post(site, f"/api/v1/polls/{poll['id']}/open")
    for viewer in (a, b):
        expect(viewer.page.locator(".poll-card .poll-question")).to_have_text("下一个讲哪款？")

    a.page.locator(".poll-option", has_text="眼影").tap()
    mine = a.page.locator(".poll-option.is-mine")
    expect(mine).to_contain_text("眼影")
    expect(mine).to_contain_text("100%")
    expect(b.page.locator(".poll-foot")).to_contain_text("1 人参与")  # a poll_tally item, before voting
    expect(b.page.locator(".poll-option", has_text="口红")).to_be_enabled()

    b.page.locator(".poll-option", has_text="口红").tap()
    expect(a.page.locator(".poll-foot")).to_contain_text("2 人参与")
    expect(a.page.locator(".poll-option", has_text="口红")).to_contain_text("50%")
    expect(a.page.locator(".poll-option", has_text="眼影")).to_contain_text("50%")

    a.page.screenshot(path=str(tmp_path / "poll.png"), animations="disabled")
    late = open_viewer(site.page_url(room))  # the open poll and its counts come with the page
    expect(late.page.locator(".poll-card .poll-foot")).to_contain_text("2 人参与")
    post(site, f"/api/v1/polls/{poll['id']}/close")
    for viewer in (a, b, late):
        expect(viewer.page.locator(".poll-card.is-closed .poll-foot")).to_contain_text("投票已结束")
    assert a.errors == []
    assert b.errors == []
    assert late.errors == []


def test_a_red_packet_is_grabbed_once_and_the_room_sees_who_got_it(
    site: Site, open_viewer: OpenViewer, tmp_path: Path
) -> None:
    room = site.room("红包")
    fast = open_viewer(site.page_url(room, token=site.token("rp-fast", "阿美")))
    slow = open_viewer(site.page_url(room, token=site.token("rp-slow", "小明")))
    guest = open_viewer(site.page_url(room))
    for viewer in (fast, slow, guest):
        joined(viewer)
    post(site, f"/api/v1/rooms/{room}/red-packets", {"total_cents": 888, "count": 1})
    for viewer in (fast, slow, guest):
        expect(tile(viewer, "red-packet")).to_contain_text("¥8.88 · 1 个")

    guest.page.locator(".red-packet .tile-action").tap()
    expect(guest.page.locator(".toast")).to_have_text("登录后才能参与")

    fast.page.locator(".red-packet .tile-action").tap()
    expect(tile(fast, "red-packet")).to_contain_text("抢到 ¥8.88")
    expect(slow.comment("阿美 抢到了 ¥8.88 红包")).to_be_visible()
    fast.page.screenshot(path=str(tmp_path / "red-packet.png"), animations="disabled")
    # The last share is gone: the slow viewer is told so, whether by its grab or by the packet's end.
    expect(tile(slow, "red-packet")).to_contain_text("手慢了，红包已抢完")
    for viewer in (fast, slow, guest):
        assert viewer.errors == []


def test_the_lucky_bag_is_entered_with_its_keyword_and_the_draw_can_be_verified(
    site: Site, open_viewer: OpenViewer, tmp_path: Path
) -> None:
    room = site.room("福袋")
    viewer = open_viewer(site.page_url(room, token=site.token("lucky", "锦鲤")))
    joined(viewer)
    rules = [{"kind": "keyword", "keyword": "想要"}]
    opened = post(
        site,
        f"/api/v1/rooms/{room}/lotteries",
        {"prize": "口红一支", "winners_count": 1, "duration_seconds": 600, "rules": rules},
    )
    page = viewer.page
    expect(tile(viewer, "lottery-tile")).to_contain_text("后开奖")
    tile(viewer, "lottery-tile").tap()
    sheet = page.locator('.sheet[data-sheet="lottery"]')
    expect(sheet).to_contain_text("奖品：口红一支")
    expect(sheet.locator(".lottery-rules")).to_contain_text("在评论区发送口令「想要」")
    expect(sheet.locator(".lottery-entry")).to_have_text("未参与")
    sheet.get_by_role("button", name="一键发送口令").tap()
    expect(sheet.locator(".lottery-entry")).to_have_text("已参与，等待开奖")
    expect(viewer.comment("想要")).to_be_visible()

    post(site, f"/api/v1/lotteries/{opened['id']}/draw")
    expect(sheet.locator(".lottery-outcome")).to_have_text("恭喜你中奖了！")
    expect(sheet.locator(".lottery-winners")).to_have_text("锦鲤")
    expect(sheet.locator(".lottery-proof")).to_contain_text(opened["seed_hash"])
    expect(sheet.locator(".lottery-verdict")).to_have_text("✓ 种子与开奖前公布的哈希一致")
    expect(viewer.comment("福袋开奖：锦鲤 获得 口红一支")).to_be_visible()
    page.screenshot(path=str(tmp_path / "lottery.png"), animations="disabled")
    assert viewer.errors == []


def test_the_bag_explaining_card_and_flash_sale_buy_with_the_simulated_payment(
    site: Site, open_viewer: OpenViewer, tmp_path: Path
) -> None:
    room = site.room("带货")
    show = site.live_show(room, "秋冬口红专场")
    lipstick = product(site, "丝绒雾面口红", 8900)
    palette = product(site, "大地色眼影盘", 12900)
    assert site.http.put(
        f"/api/v1/shows/{show}/lineup", json={"product_ids": [lipstick["id"], palette["id"]]}
    ).is_success
    viewer = open_viewer(site.page_url(room, token=site.token("buyer", "买买买")))
    joined(viewer)
    page = viewer.page

    page.get_by_role("button", name="购物袋").tap()
    bag = page.locator('.sheet[data-sheet="bag"]')
    expect(bag.locator(".bag-item")).to_have_count(2)
    expect(bag.locator(".bag-item").first).to_contain_text("丝绒雾面口红")
    expect(bag.locator(".bag-item").first).to_contain_text("¥89")
    page.screenshot(path=str(tmp_path / "bag.png"), animations="disabled")
    bag.locator(".bag-item", has_text="大地色眼影盘").get_by_role("button", name="购买").tap()
    order = page.locator('.sheet[data-sheet="order"]')
    expect(order.locator(".order-title")).to_have_text("下单成功")
    expect(order.locator(".order-amount")).to_have_text("实付 ¥129")
    expect(order.locator(".order-simulated")).to_have_text("模拟支付 · 不产生真实扣款")
    expect(order.locator(".order-state")).to_have_text("支付成功", timeout=SLOW)
    page.locator('.sheet[data-sheet="order"] .sheet-close').tap()

    assert site.http.put(f"/api/v1/shows/{show}/explaining", json={"product_id": lipstick["id"]}).is_success
    card = page.locator(".explaining-card")
    expect(card).to_contain_text("讲解中")
    expect(card).to_contain_text("丝绒雾面口红")
    late = open_viewer(site.page_url(room))  # a guest arriving now sees the card too
    expect(late.page.locator(".explaining-card")).to_contain_text("丝绒雾面口红")
    page.get_by_role("button", name="购物袋").tap()  # the bag comes from the showcase API
    expect(bag.locator(".bag-item.is-explaining")).to_contain_text("讲解中")
    expect(bag.locator(".bag-item.is-explaining")).to_contain_text("丝绒雾面口红")
    bag.locator(".sheet-close").tap()

    sale_body = {
        "product_id": lipstick["id"],
        "show_id": show,
        "price_cents": 990,
        "stock": 5,
        "duration_seconds": 600,
    }
    post(site, "/api/v1/flash-sales", sale_body)
    flash = page.locator(".flash-card")
    expect(flash).to_contain_text("限时秒杀")
    expect(flash).to_contain_text("¥9.9")
    expect(flash.locator(".flash-countdown")).to_have_text(re.compile(r"^距结束 (10:00|09:\d\d)$"))
    page.screenshot(path=str(tmp_path / "flash-sale.png"), animations="disabled")
    flash.get_by_role("button", name="马上抢").tap()
    expect(order.locator(".order-amount")).to_have_text("实付 ¥9.9")
    expect(order.locator(".order-state")).to_have_text("支付成功", timeout=SLOW)
    # The per-buyer limit (1) holds on the page too.
    page.locator('.sheet[data-sheet="order"] .sheet-close').tap()
    flash.get_by_role("button", name="马上抢").tap()
    expect(order.locator(".order-error")).to_have_text("超出限购数量")
    orders = site.http.get("/api/v1/orders", params={"show_id": show}).json()["items"]
    assert sorted((o["amount_cents"], o["state"]) for o in orders) == [(990, "paid"), (12900, "paid")]
    assert viewer.errors == []
    assert late.errors == []


def test_a_coupon_drop_is_claimed_and_taken_off_the_next_order(site: Site, open_viewer: OpenViewer) -> None:
    room = site.room("发券")
    show = site.live_show(room, "福利券专场")
    serum = product(site, "精华液", 19900)
    assert site.http.put(f"/api/v1/shows/{show}/lineup", json={"product_ids": [serum["id"]]}).is_success
    viewer = open_viewer(site.page_url(room, token=site.token("saver", "省钱达人")))
    guest = open_viewer(site.page_url(room))
    joined(viewer)
    joined(guest)
    template = post(
        site,
        "/api/v1/coupon-templates",
        {
            "name": "直播间专享券",
            "kind": "amount_off",
            "amount_off_cents": 2000,
            "valid_days": 7,
            "total_quantity": 100,
        },
    )
    post(site, f"/api/v1/rooms/{room}/coupon-drops", {"template_id": template["id"], "quantity": 10})
    expect(tile(viewer, "coupon-tile")).to_contain_text("直播间专享券")
    expect(tile(guest, "coupon-tile")).to_contain_text("立减券")
    guest.page.locator(".coupon-tile .tile-action").tap()
    expect(guest.page.locator(".toast")).to_have_text("登录后才能参与")

    viewer.page.locator(".coupon-tile .tile-action").tap()
    expect(tile(viewer, "coupon-tile")).to_contain_text("已领取")
    viewer.page.get_by_role("button", name="购物袋").tap()
    viewer.page.locator(".bag-item", has_text="精华液").get_by_role("button", name="购买").tap()
    order = viewer.page.locator('.sheet[data-sheet="order"]')
    expect(order.locator(".order-amount")).to_have_text("实付 ¥179")
    expect(order.locator(".order-discount")).to_have_text("优惠券已减 ¥20")
    expect(order.locator(".order-state")).to_have_text("支付成功", timeout=SLOW)
    assert viewer.errors == []
    assert guest.errors == []


def test_a_late_joiner_sees_the_flash_sale_and_the_coupon_drop_opened_before_it_came(
    site: Site, open_viewer: OpenViewer, tmp_path: Path
) -> None:
    room = site.room("晚到的人")
    show = site.live_show(room, "晚场福利")
    cream = product(site, "晚霜", 25900)
    assert site.http.put(f"/api/v1/shows/{show}/lineup", json={"product_ids": [cream["id"]]}).is_success
    sale_body = {
        "product_id": cream["id"],
        "show_id": show,
        "price_cents": 1990,
        "stock": 8,
        "duration_seconds": 600,
    }
    sale = post(site, "/api/v1/flash-sales", sale_body)
    template = post(
        site,
        "/api/v1/coupon-templates",
        {
            "name": "晚场专享券",
            "kind": "amount_off",
            "amount_off_cents": 500,
            "valid_days": 7,
            "total_quantity": 50,
        },
    )
    drop = post(site, f"/api/v1/rooms/{room}/coupon-drops", {"template_id": template["id"], "quantity": 6})
    early = site.http.post("/api/v1/viewer-tokens", json={"user_id": "early", "nickname": "早到"}).json()[
        "token"
    ]
    joined(open_viewer(site.page_url(room, token=early)))  # a drop is claimed from inside the room
    claimed = site.http.post(
        f"/api/v1/coupon-drops/{drop['id']}/claim", headers={"Authorization": f"Bearer {early}"}
    )
    assert claimed.status_code == 201, claimed.text

    # Opened before the viewer came: no stream item will announce them again.
    viewer = open_viewer(site.page_url(room, token=site.token("late", "晚来的")))
    joined(viewer)
    page = viewer.page
    flash = page.locator(f'.flash-card[data-sale="{sale["id"]}"]')
    expect(flash).to_contain_text("限时秒杀")
    expect(flash).to_contain_text("晚霜")
    expect(flash).to_contain_text("¥19.9")
    expect(flash.locator(".flash-countdown")).to_have_text(re.compile(r"^距结束 (10:00|0\d:\d\d)$"))
    coupon = page.locator(f'.coupon-tile[data-drop="{drop["id"]}"]')
    expect(coupon).to_contain_text("晚场专享券")
    expect(coupon.locator(".tile-status")).to_have_text("剩 5 张")
    page.screenshot(path=str(tmp_path / "late-joiner.png"), animations="disabled")
    coupon.locator(".tile-action").tap()
    expect(coupon).to_contain_text("已领取")
    flash.get_by_role("button", name="马上抢").tap()
    order = page.locator('.sheet[data-sheet="order"]')
    expect(order.locator(".order-amount")).to_have_text("实付 ¥14.9")  # the claimed coupon took ¥5 off
    assert viewer.errors == []


def test_questions_are_asked_upvoted_and_answered(
    site: Site, open_viewer: OpenViewer, tmp_path: Path
) -> None:
    room = site.room("问答")
    asker = open_viewer(site.page_url(room, token=site.token("qa-a", "提问者")))
    voter = open_viewer(site.page_url(room, token=site.token("qa-b", "围观者")))
    joined(asker)
    joined(voter)

    asker.page.get_by_role("button", name="更多").tap()
    asker.page.locator(".qa-open-button").tap()
    sheet = asker.page.locator('.sheet[data-sheet="qa"]')
    expect(sheet.locator(".qa-empty")).to_be_visible()
    sheet.locator(".qa-input").fill("干皮能用吗？")
    sheet.get_by_role("button", name="提问").tap()
    mine = sheet.locator(".qa-open .qa-item", has_text="干皮能用吗？")
    expect(mine).to_contain_text("我的")
    expect(mine.locator(".qa-upvote")).to_be_disabled()  # not one's own question

    voter.page.get_by_role("button", name="更多").tap()
    voter.page.locator(".qa-open-button").tap()
    theirs = voter.page.locator('.sheet[data-sheet="qa"] .qa-open .qa-item', has_text="干皮能用吗？")
    expect(theirs.locator(".qa-votes")).to_have_text("0")
    theirs.locator(".qa-upvote").tap()
    expect(theirs.locator(".qa-votes")).to_have_text("1")
    expect(theirs.locator(".qa-upvote")).to_be_disabled()

    queue = site.http.get(f"/api/v1/rooms/{room}/questions").json()
    assert [(q["text"], q["votes"]) for q in queue["open"]] == [("干皮能用吗？", 1)]
    post(site, f"/api/v1/questions/{queue['open'][0]['id']}/answer", {"answer": "可以，很滋润"})
    for viewer in (asker, voter):
        expect(viewer.comment("可以，很滋润")).to_contain_text("主播回答了 提问者 的问题")
    expect(sheet.locator(".qa-answered .qa-item")).to_contain_text("答：可以，很滋润")
    voter.page.screenshot(path=str(tmp_path / "qa.png"), animations="disabled")
    assert asker.errors == []
    assert voter.errors == []


def test_a_seat_request_shows_its_state_until_the_host_seats_the_viewer(
    site: Site, open_viewer: OpenViewer, tmp_path: Path
) -> None:
    room = site.room("连麦")
    viewer = open_viewer(site.page_url(room, token=site.token("mic", "麦霸")))
    other = open_viewer(site.page_url(room, token=site.token("ear", "听众")))
    joined(viewer)
    joined(other)
    page = viewer.page
    page.get_by_role("button", name="更多").tap()
    page.get_by_role("button", name="申请连麦").tap()
    expect(page.locator(".seat-state")).to_have_text("已申请，等待主播同意")
    expect(page.locator(".seat-action")).to_have_text("取消申请")
    expect(page.locator(".seat-pill")).to_have_text("已申请，等待主播同意")

    requests = site.http.get(f"/api/v1/rooms/{room}/seat-requests", params={"state": "requested"}).json()
    assert [(r["viewer_id"], r["nickname"]) for r in requests["items"]] == [("u:mic", "麦霸")]
    post(site, f"/api/v1/rooms/{room}/seat-requests/{requests['items'][0]['id']}/approve")
    expect(page.locator(".seat-pill")).to_have_text("已上麦")
    page.screenshot(path=str(tmp_path / "seat.png"), animations="disabled")
    expect(other.comment("麦霸 上麦了")).to_be_visible()
    page.get_by_role("button", name="下麦").tap()
    expect(page.locator(".seat-pill")).to_be_hidden()
    expect(other.comment("麦霸 下麦了")).to_be_visible()
    assert viewer.errors == []
    assert other.errors == []


def test_the_page_carries_the_open_tools_and_its_assets_are_served(
    client: TestClient, shop: ShopKeys
) -> None:
    owner = shop.headers()
    room = created(client.post("/api/v1/rooms", json={"name": "晚到"}, headers=owner))["id"]
    body = {"question": "选哪个？", "options": [{"text": "A"}, {"text": "B"}]}
    poll = created(client.post(f"/api/v1/rooms/{room}/polls", json=body, headers=owner))
    assert client.post(f"/api/v1/polls/{poll['id']}/open", headers=owner).status_code == 200
    packet = created(
        client.post(f"/api/v1/rooms/{room}/red-packets", json={"total_cents": 500, "count": 5}, headers=owner)
    )
    lottery_body = {"prize": "面膜", "winners_count": 3, "duration_seconds": 600}
    lottery = created(client.post(f"/api/v1/rooms/{room}/lotteries", json=lottery_body, headers=owner))
    page = client.get(f"/live/{room}")
    config = json.loads(re.search(r'id="live-config">(.*?)</script>', page.text, re.S).group(1))  # type: ignore[union-attr]
    live = config["live"]
    assert [(p["poll_id"], p["question"], p["counts"], p["total"]) for p in live["polls"]] == [
        (poll["id"], "选哪个？", [0, 0], 0)
    ]
    assert [(r["packet_id"], r["total_cents"], r["count"]) for r in live["red_packets"]] == [
        (packet["id"], 500, 5)
    ]
    assert (live["lottery"]["lottery_id"], live["lottery"]["seed_hash"]) == (
        lottery["id"],
        lottery["seed_hash"],
    )
    assert live["products"] == []  # no live show: no bag
    assert config["strings"]["explaining"] == "讲解中"
    for name in (
        "live-kit.js",
        "live-games.js",
        "live-polls.js",
        "live-shop.js",
        "live-coupons.js",
        "live-qa.js",
    ):
        asset = client.get(f"/static/{name}")
        assert asset.status_code == 200, name
        assert asset.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript")
        assert f'src="/static/{name}?v=' in page.text
    for name in ("live-tools.css", "live-sheets.css"):
        assert client.get(f"/static/{name}").headers["content-type"].startswith("text/css")
        assert f'href="/static/{name}?v=' in page.text


def test_a_claim_while_the_room_socket_is_down_is_refused_and_stays_open_to_a_retry(
    site: Site, open_viewer: OpenViewer
) -> None:
    """A drop is for the room's audience: a page whose socket cannot reach the room is not in it."""
    room = site.room("断线领券")
    site.live_show(room, "断线专场")
    template = post(
        site,
        "/api/v1/coupon-templates",
        {
            "name": "在场专享券",
            "kind": "amount_off",
            "amount_off_cents": 300,
            "valid_days": 7,
            "total_quantity": 20,
        },
    )
    drop = post(site, f"/api/v1/rooms/{room}/coupon-drops", {"template_id": template["id"], "quantity": 5})

    def no_room_socket(page: Any) -> None:
        page.route_web_socket(re.compile(r"/ws/rooms/"), lambda socket: socket.close())

    viewer = open_viewer(site.page_url(room, token=site.token("offline", "掉线的人")), before=no_room_socket)
    coupon = viewer.page.locator(f'.coupon-tile[data-drop="{drop["id"]}"]')
    expect(coupon).to_contain_text("在场专享券")
    coupon.locator(".tile-action").tap()
    expect(viewer.page.locator(".toast")).to_have_text("正在重新连接直播间，请稍后再领")
    expect(coupon.locator(".tile-action")).to_be_enabled()
    assert site.http.get(f"/api/v1/coupon-drops/{drop['id']}").json()["claimed"] == 0
