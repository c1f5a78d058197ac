"""The comment hot path (check_comment) and the staff use cases, on the real database."""

from __future__ import annotations

import pytest

from liveloop.core.errors import LiveloopError
from liveloop.interactions import (
    AlreadyBanned,
    Banned,
    BanNotFound,
    CommentDecision,
    CommentRateLimited,
    ContainsBlockedWord,
    FilterMode,
    InteractionsContext,
    InvalidLikes,
    InvalidShareChannel,
    ModerationAction,
    Muted,
    NothingPinned,
    SlowMode,
    check_comment,
    check_join,
    comment_blocked_event,
    comment_posted_event,
    do_add_words,
    do_ban,
    do_delete_comment,
    do_kick,
    do_mute,
    do_pin,
    do_remove_words,
    do_set_slow_mode,
    do_unban,
    do_unpin,
    do_update_moderation_settings,
    follow_event,
    get_room_moderation,
    like_event,
    share_event,
)
from liveloop.rooms import RoomNotFound
from liveloop.shops import Principal, Role
from tests.conftest import ShopKeys
from tests.interactions.conftest import Harness
from tests.rooms.test_api import make_room

ALICE, BOB = "u:alice", "d:device-bob"


def comment(
    h: Harness, ctx: InteractionsContext, shop: ShopKeys, room_id: int, text: str, viewer: str = ALICE
) -> CommentDecision:
    return h.run(
        lambda: check_comment(ctx, shop_id=shop.shop_id, room_id=room_id, viewer_id=viewer, text=text)
    )


def refused(
    h: Harness, ctx: InteractionsContext, shop: ShopKeys, room_id: int, text: str, viewer: str = ALICE
) -> LiveloopError:
    with pytest.raises(LiveloopError) as caught:
        comment(h, ctx, shop, room_id, text, viewer)
    return caught.value


def test_a_comment_passes_stripped_and_becomes_an_event(
    harness: Harness, shop: ShopKeys, room_id: int
) -> None:
    ctx = harness.context()
    decision = comment(harness, ctx, shop, room_id, "  主播好美！\u3000")
    assert (decision.text, decision.masked) == ("主播好美！", False)
    event = comment_posted_event(decision, offset=12, show_id=3)
    assert (event.type, event.actor, event.room_id, event.shop_id) == (
        "comment.posted",
        ALICE,
        room_id,
        shop.shop_id,
    )
    assert event.data == {"text": "主播好美！", "masked": False, "offset": 12}


def test_text_rules(harness: Harness, shop: ShopKeys, room_id: int) -> None:
    ctx = harness.context()
    assert refused(harness, ctx, shop, room_id, " \u3000\n").code == "interactions.comment_empty"
    too_long = refused(harness, ctx, shop, room_id, "好" * 101)
    assert (too_long.code, too_long.status, too_long.details) == (
        "interactions.comment_too_long",
        422,
        {"max_length": 100},
    )
    assert refused(harness, ctx, shop, room_id, "a\x07b").code == "interactions.comment_invalid"
    assert refused(harness, ctx, shop, room_id, "a\u202eb").code == "interactions.comment_invalid"
    harness.clock.advance(10)
    assert comment(harness, ctx, shop, room_id, "好" * 100).text == "好" * 100


def test_rate_limit_is_a_token_bucket_per_viewer(harness: Harness, shop: ShopKeys, room_id: int) -> None:
    ctx = harness.context()
    for _ in range(3):
        comment(harness, ctx, shop, room_id, "666")
    error = refused(harness, ctx, shop, room_id, "666")
    assert isinstance(error, CommentRateLimited)
    assert (error.code, error.status) == ("interactions.rate_limited", 429)
    assert error.details == {"retry_after_seconds": pytest.approx(1.0)}
    comment(harness, ctx, shop, room_id, "666", viewer=BOB)
    harness.clock.advance(1.0)
    comment(harness, ctx, shop, room_id, "666")
    assert isinstance(refused(harness, ctx, shop, room_id, "666"), CommentRateLimited)


def test_rate_follows_the_shop_settings(
    harness: Harness, shop: ShopKeys, room_id: int, owner: Principal
) -> None:
    ctx = harness.context()
    harness.run(
        lambda: do_update_moderation_settings(ctx, owner, comment_rate_per_second=0.5, comment_burst=1)
    )
    comment(harness, ctx, shop, room_id, "1")
    error = refused(harness, ctx, shop, room_id, "2")
    assert isinstance(error, CommentRateLimited)
    assert error.retry_after_seconds == pytest.approx(2.0)


def test_slow_mode_says_when_to_post_again(
    harness: Harness, shop: ShopKeys, room_id: int, owner: Principal
) -> None:
    ctx = harness.context()
    decision = harness.run(lambda: do_set_slow_mode(ctx, owner, room_id, seconds=10))
    assert [e.type for e in decision.events] == ["slow_mode.changed"]
    comment(harness, ctx, shop, room_id, "first")
    error = refused(harness, ctx, shop, room_id, "second")
    assert isinstance(error, SlowMode)
    assert (error.code, error.status) == ("interactions.slow_mode", 429)
    assert error.retry_after_seconds == pytest.approx(10.0)
    assert "10 s" in error.message
    harness.clock.advance(4)
    assert isinstance(again := refused(harness, ctx, shop, room_id, "second"), SlowMode)
    assert again.details == {"retry_after_seconds": pytest.approx(6.0)}
    comment(harness, ctx, shop, room_id, "hi", viewer=BOB)
    harness.clock.advance(6)
    comment(harness, ctx, shop, room_id, "second")
    harness.run(lambda: do_set_slow_mode(ctx, owner, room_id, seconds=0))
    harness.clock.advance(3)
    for _ in range(3):
        comment(harness, ctx, shop, room_id, "fast again")
    assert isinstance(refused(harness, ctx, shop, room_id, "too fast"), CommentRateLimited)


def test_mutes_expire(harness: Harness, shop: ShopKeys, room_id: int) -> None:
    ctx = harness.context()
    host = harness.principal(shop, Role.HOST)
    other_room: int = make_room(harness.client, shop, "二号间")["id"]
    decision = harness.run(lambda: do_mute(ctx, host, room_id, viewer_id=ALICE, seconds=60))
    assert (decision.action, decision.viewer_id, decision.disconnect) == (ModerationAction.MUTE, ALICE, False)
    assert [e.type for e in decision.events] == ["viewer.muted"]
    assert decision.events[0].actor == f"staff:{host.staff_id}"
    error = refused(harness, ctx, shop, room_id, "hello")
    assert isinstance(error, Muted)
    assert (error.code, error.status, error.seconds_left) == ("interactions.muted", 403, 60)
    comment(harness, ctx, shop, room_id, "hello", viewer=BOB)
    comment(harness, ctx, shop, other_room, "hello")
    harness.wall.advance(59)
    assert refused(harness, ctx, shop, room_id, "hello").details["seconds_left"] == 1
    harness.wall.advance(1.5)
    assert comment(harness, ctx, shop, room_id, "back").text == "back"


def test_bans_last_until_unbanned(harness: Harness, shop: ShopKeys, room_id: int) -> None:
    ctx = harness.context()
    moderator = harness.principal(shop, Role.MODERATOR)
    decision = harness.run(lambda: do_ban(ctx, moderator, room_id, viewer_id=BOB, reason=" 广告 "))
    assert (decision.disconnect, decision.reason, decision.staff_id) == (True, "广告", moderator.staff_id)
    assert decision.events[0].data == {"viewer_id": BOB, "reason": "广告"}
    assert refused(harness, ctx, shop, room_id, "hi", viewer=BOB).code == "interactions.banned"
    with pytest.raises(Banned):
        harness.run(lambda: check_join(ctx, shop_id=shop.shop_id, room_id=room_id, viewer_id=BOB))
    harness.wall.advance(86400 * 365)
    assert isinstance(refused(harness, ctx, shop, room_id, "hi", viewer=BOB), Banned)
    with pytest.raises(AlreadyBanned):
        harness.run(lambda: do_ban(ctx, moderator, room_id, viewer_id=BOB))
    unbanned = harness.run(lambda: do_unban(ctx, moderator, room_id, viewer_id=BOB))
    assert [e.type for e in unbanned.events] == ["viewer.unbanned"]
    comment(harness, ctx, shop, room_id, "hi", viewer=BOB)
    with pytest.raises(BanNotFound):
        harness.run(lambda: do_unban(ctx, moderator, room_id, viewer_id=BOB))


def test_block_or_mask(harness: Harness, shop: ShopKeys, room_id: int, owner: Principal) -> None:
    ctx = harness.context()
    added = harness.run(lambda: do_add_words(ctx, owner, words=["微信", "ＶＸ", " 微 信 ", "返现"]))
    assert (added.words, added.total) == (("微信", "vx", "返现"), 3)
    masked = comment(harness, ctx, shop, room_id, "加微 信 Vx 好评返现")
    assert (masked.text, masked.masked) == ("加* * ** 好评**", True)
    assert comment_posted_event(masked).data["masked"] is True
    harness.run(lambda: do_update_moderation_settings(ctx, owner, filter_mode=FilterMode.BLOCK))
    error = refused(harness, ctx, shop, room_id, "加ｖｘ")
    assert isinstance(error, ContainsBlockedWord)
    assert (error.code, error.status) == ("interactions.comment_blocked", 422)
    blocked = comment_blocked_event(error, shop_id=shop.shop_id, room_id=room_id, viewer_id=ALICE)
    assert (blocked.type, blocked.data) == ("comment.blocked", {"reason": "interactions.comment_blocked"})
    removed = harness.run(lambda: do_remove_words(ctx, owner, words=["VX", "never listed"]))
    assert (removed.words, removed.total) == (("vx",), 2)
    assert comment(harness, ctx, shop, room_id, "加vx", viewer=BOB).masked is False


def test_another_shops_words_never_apply(
    harness: Harness, shop: ShopKeys, other_shop: ShopKeys, room_id: int, owner: Principal
) -> None:
    ctx = harness.context()
    harness.run(lambda: do_add_words(ctx, owner, words=["微信"]))
    other_room: int = make_room(harness.client, other_shop)["id"]
    assert comment(harness, ctx, other_shop, other_room, "加微信").masked is False
    assert comment(harness, ctx, shop, room_id, "加微信").text == "加**"
    with pytest.raises(RoomNotFound):
        comment(harness, ctx, other_shop, room_id, "hello", viewer=BOB)


def test_changes_reach_another_node_within_the_refresh(
    harness: Harness, shop: ShopKeys, room_id: int, owner: Principal
) -> None:
    staff_node, gateway_node = harness.context(), harness.context(refresh_seconds=1.0)
    assert comment(harness, gateway_node, shop, room_id, "加微信").masked is False
    harness.run(lambda: do_add_words(staff_node, owner, words=["微信"]))
    harness.run(lambda: do_ban(staff_node, owner, room_id, viewer_id=BOB))
    harness.clock.advance(0.5)
    assert comment(harness, gateway_node, shop, room_id, "加微信", viewer=BOB).masked is False  # not yet
    harness.clock.advance(0.5)
    assert comment(harness, gateway_node, shop, room_id, "加微信").text == "加**"
    assert isinstance(refused(harness, gateway_node, shop, room_id, "hi", viewer=BOB), Banned)


def test_messages_pin_unpin_delete_and_kick(harness: Harness, shop: ShopKeys, room_id: int) -> None:
    ctx = harness.context()
    host = harness.principal(shop, Role.HOST)
    pinned = harness.run(lambda: do_pin(ctx, host, room_id, offset=5, text=" 今晚8点秒杀 "))
    assert pinned.events[0].data == {"offset": 5, "text": "今晚8点秒杀"}
    state = harness.run(lambda: get_room_moderation(ctx, host, room_id))
    assert (state.pinned_offset, state.pinned_text, state.slow_mode_seconds) == (5, "今晚8点秒杀", 0)
    deleted = harness.run(lambda: do_delete_comment(ctx, host, room_id, offset=5, reason="过期"))
    assert [e.type for e in deleted.events] == ["comment.deleted", "message.unpinned"]
    assert harness.run(lambda: get_room_moderation(ctx, host, room_id)).pinned_offset is None
    with pytest.raises(NothingPinned):
        harness.run(lambda: do_unpin(ctx, host, room_id))
    harness.run(lambda: do_pin(ctx, host, room_id, offset=6, text="x"))
    assert [e.data for e in harness.run(lambda: do_unpin(ctx, host, room_id)).events] == [{"offset": 6}]
    only = harness.run(lambda: do_delete_comment(ctx, host, room_id, offset=7))
    assert [e.type for e in only.events] == ["comment.deleted"]
    with pytest.raises(LiveloopError, match="offset"):
        harness.run(lambda: do_delete_comment(ctx, host, room_id, offset=-1))
    kicked = harness.run(lambda: do_kick(ctx, host, room_id, viewer_id=ALICE, reason="刷屏"))
    assert (kicked.disconnect, kicked.events[0].type) == (True, "viewer.kicked")
    comment(harness, ctx, shop, room_id, "still allowed to come back and talk")


def test_staff_roles(harness: Harness, shop: ShopKeys, other_shop: ShopKeys, room_id: int) -> None:
    ctx = harness.context()
    moderator = harness.principal(shop, Role.MODERATOR)
    with pytest.raises(LiveloopError) as denied:
        harness.run(lambda: do_add_words(ctx, moderator, words=["x"]))
    assert denied.value.code == "auth.permission_denied"
    outsider = harness.principal(other_shop, Role.MODERATOR)
    with pytest.raises(RoomNotFound):
        harness.run(lambda: do_mute(ctx, outsider, room_id, viewer_id=ALICE, seconds=10))
    with pytest.raises(LiveloopError) as bad_viewer:
        harness.run(lambda: do_ban(ctx, moderator, room_id, viewer_id="alice"))
    assert bad_viewer.value.code == "interactions.invalid_viewer_id"


def test_likes_shares_follows() -> None:
    likes = like_event(shop_id=1, room_id=2, viewer_id=ALICE, count=500)
    assert (likes.type, likes.data, likes.actor, likes.room_id) == ("like.batched", {"count": 500}, ALICE, 2)
    for bad in (0, 501, -3):
        with pytest.raises(InvalidLikes):
            like_event(shop_id=1, room_id=2, viewer_id=ALICE, count=bad)
    shared = share_event(shop_id=1, room_id=2, viewer_id=ALICE, channel="moments")
    assert (shared.type, shared.data) == ("share.made", {"channel": "moments"})
    with pytest.raises(InvalidShareChannel):
        share_event(shop_id=1, room_id=2, viewer_id=ALICE, channel="tiktok")
    assert follow_event(shop_id=1, room_id=2, viewer_id=BOB).type == "follow.made"
