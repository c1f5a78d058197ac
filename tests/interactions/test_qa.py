"""Live Q&A: asking, upvoting, the queue's order, staff answers, pins and dismissals; roles and tenancy."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.testclient import TestClient

from liveloop.core.container import Container
from liveloop.core.events import Event, EventData, make_event
from liveloop.interactions import (
    EVENT_TYPES,
    AlreadyUpvoted,
    Banned,
    FilterMode,
    InteractionsContext,
    Muted,
    OwnQuestion,
    QuestionAnswered,
    QuestionAsked,
    QuestionChange,
    QuestionDismissed,
    QuestionPinned,
    QuestionRateLimited,
    QuestionUnpinned,
    QuestionUpvoted,
    SignInRequired,
    Upvote,
    do_add_words,
    do_answer_question,
    do_ask,
    do_ban,
    do_mute,
    do_update_moderation_settings,
    do_upvote,
    get_queue,
)
from liveloop.shops import Principal, Role
from tests.conftest import ShopKeys, run_in_app
from tests.interactions.conftest import Harness
from tests.interactions.test_polls import collect_events, error_code, event_types, viewer


def ask(client: TestClient, headers: dict[str, str], room_id: int, text: str) -> Any:
    return client.post(f"/api/v1/viewer/rooms/{room_id}/questions", json={"text": text}, headers=headers)


def asked(client: TestClient, headers: dict[str, str], room_id: int, text: str) -> dict[str, Any]:
    response = ask(client, headers, room_id, text)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def upvote(client: TestClient, headers: dict[str, str], question_id: int) -> Any:
    return client.post(f"/api/v1/viewer/questions/{question_id}/upvotes", headers=headers)


def staff(client: TestClient, shop: ShopKeys, question_id: int, action: str, role: Role = Role.HOST) -> Any:
    body = {"answer": "有的,链接已上架"} if action == "answer" else None
    return client.post(f"/api/v1/questions/{question_id}/{action}", json=body, headers=shop.headers(role))


def texts(queue: list[dict[str, Any]]) -> list[str]:
    return [q["text"] for q in queue]


# -- the routes ----------------------------------------------------------------------------------


def test_the_queue_orders_by_pin_votes_then_age(api: TestClient, shop: ShopKeys, room_id: int) -> None:
    events = collect_events(api)
    alice, bob, carol, dave = (viewer(api, shop, name) for name in ("alice", "bob", "carol", "dave"))
    first = asked(api, alice, room_id, "  有没有小样?  ")
    assert (first["text"], first["votes"], first["state"], first["mine"]) == ("有没有小样?", 0, "open", True)
    assert first["nickname"] == "昵称alice"
    second = asked(api, bob, room_id, "敏感肌能用吗")
    third = asked(api, carol, room_id, "什么时候发货")
    fourth = asked(api, alice, room_id, "还有优惠券吗")  # alice's second question: the burst allows two

    for votes, voter in enumerate((alice, carol, dave), start=1):
        assert upvote(api, voter, second["id"]).json() == {"question_id": second["id"], "votes": votes}
    assert upvote(api, dave, third["id"]).status_code == 201
    queue = api.get(f"/api/v1/viewer/rooms/{room_id}/questions", headers=dave).json()
    assert texts(queue["open"]) == ["敏感肌能用吗", "什么时候发货", "有没有小样?", "还有优惠券吗"]
    assert [q["votes"] for q in queue["open"]] == [3, 1, 0, 0]
    assert [q["mine"] for q in queue["open"]] == [False, False, False, False]
    assert "viewer_id" not in queue["open"][0]

    pinned = staff(api, shop, fourth["id"], "pin")
    assert pinned.status_code == 200, pinned.text
    assert pinned.json()["pinned"] is True
    assert staff(api, shop, fourth["id"], "pin").status_code == 200  # again: nothing changes
    queue = api.get(f"/api/v1/rooms/{room_id}/questions", headers=shop.headers(Role.MODERATOR)).json()
    assert texts(queue["open"]) == ["还有优惠券吗", "敏感肌能用吗", "什么时候发货", "有没有小样?"]
    assert queue["open"][0]["viewer_id"] == "u:alice"

    answered = staff(api, shop, second["id"], "answer")
    assert answered.status_code == 200, answered.text
    assert (answered.json()["state"], answered.json()["answer"]) == ("answered", "有的,链接已上架")
    assert staff(api, shop, fourth["id"], "unpin").json()["pinned"] is False
    dismissed = staff(api, shop, third["id"], "dismiss", Role.MODERATOR)
    assert dismissed.json()["state"] == "dismissed"
    queue = api.get(f"/api/v1/viewer/rooms/{room_id}/questions", headers=alice).json()
    assert texts(queue["open"]) == ["有没有小样?", "还有优惠券吗"]
    assert [q["mine"] for q in queue["open"]] == [True, True]
    assert [(q["text"], q["answer"]) for q in queue["answered"]] == [("敏感肌能用吗", "有的,链接已上架")]

    expected = ["question.asked"] * 4 + ["question.upvoted"] * 4
    expected += ["question.pinned", "question.answered", "question.unpinned", "question.dismissed"]
    assert event_types(api, events, len(expected)) == expected
    answered_event = next(e for e in events if e.type == "question.answered")
    assert answered_event.data == {
        "question_id": second["id"],
        "nickname": "昵称bob",
        "text": "敏感肌能用吗",
        "answer": "有的,链接已上架",
    }
    assert answered_event.actor is not None
    assert answered_event.actor.startswith("staff:")
    assert events[0].actor == "u:alice"
    assert events[0].room_id == room_id


def test_bad_questions_and_upvotes_change_nothing(api: TestClient, shop: ShopKeys, room_id: int) -> None:
    alice, bob = viewer(api, shop, "alice"), viewer(api, shop, "bob")
    assert error_code(ask(api, alice, room_id, "   "), 422) == "interactions.question_empty"
    assert error_code(ask(api, alice, room_id, "问" * 201), 422) == "interactions.question_too_long"
    assert error_code(ask(api, alice, room_id, "hi\u202e"), 422) == "interactions.question_invalid"
    question = asked(api, alice, room_id, "问" * 200)
    assert error_code(upvote(api, alice, question["id"]), 409) == "interactions.own_question"
    assert upvote(api, bob, question["id"]).json() == {"question_id": question["id"], "votes": 1}
    assert error_code(upvote(api, bob, question["id"]), 409) == "interactions.already_upvoted"
    assert staff(api, shop, question["id"], "dismiss").json()["state"] == "dismissed"
    assert (
        error_code(upvote(api, viewer(api, shop, "carol"), question["id"]), 409)
        == "interactions.question_not_open"
    )
    assert error_code(staff(api, shop, question["id"], "answer"), 409) == "interactions.question_not_open"
    assert error_code(staff(api, shop, question["id"], "pin"), 409) == "interactions.question_not_open"
    blank = api.post(
        f"/api/v1/questions/{question['id']}/answer", json={"answer": " "}, headers=shop.headers()
    )
    assert blank.status_code == 422

    # Two at once, then one every 30 s.
    asked(api, bob, room_id, "一")
    asked(api, bob, room_id, "二")
    limited = ask(api, bob, room_id, "三")
    assert error_code(limited, 429) == "interactions.question_rate_limited"
    assert 0 < limited.json()["error"]["details"]["retry_after_seconds"] <= 30
    queue = api.get(f"/api/v1/rooms/{room_id}/questions", headers=shop.headers()).json()
    assert texts(queue["open"]) == ["一", "二"]
    assert [q["votes"] for q in queue["open"]] == [0, 0]


def test_roles_tokens_and_tenancy(
    api: TestClient, shop: ShopKeys, other_shop: ShopKeys, room_id: int
) -> None:
    alice = viewer(api, shop, "alice")
    question = asked(api, alice, room_id, "能试色吗")
    for action in ("answer", "pin", "unpin"):
        denied = staff(api, shop, question["id"], action, Role.MODERATOR)
        assert error_code(denied, 403) == "auth.permission_denied", action
    # Staff routes need a staff key; viewer routes need a viewer token.
    assert api.get(f"/api/v1/rooms/{room_id}/questions", headers=alice).status_code == 401
    assert api.post(f"/api/v1/questions/{question['id']}/dismiss", headers=alice).status_code == 401
    assert ask(api, shop.headers(), room_id, "staff key").status_code == 401
    assert ask(api, {}, room_id, "no token").status_code == 401
    assert api.get(f"/api/v1/viewer/rooms/{room_id}/questions").status_code == 401

    stranger = viewer(api, other_shop, "mallory")
    assert error_code(ask(api, stranger, room_id, "hello"), 404) == "rooms.room_not_found"
    assert error_code(upvote(api, stranger, question["id"]), 404) == "interactions.question_not_found"
    assert api.get(f"/api/v1/viewer/rooms/{room_id}/questions", headers=stranger).status_code == 404
    theirs = other_shop.headers()
    for action in ("answer", "pin", "unpin", "dismiss"):
        refused = staff(api, other_shop, question["id"], action, Role.OWNER)
        assert error_code(refused, 404) == "interactions.question_not_found", action
    assert api.get(f"/api/v1/rooms/{room_id}/questions", headers=theirs).status_code == 404
    queue = api.get(f"/api/v1/rooms/{room_id}/questions", headers=shop.headers()).json()
    assert [(q["state"], q["pinned"], q["votes"]) for q in queue["open"]] == [("open", False, 0)]


# -- the service ---------------------------------------------------------------------------------


def ask_as(
    h: Harness, ctx: InteractionsContext, shop: ShopKeys, room_id: int, viewer_id: str, text: str
) -> QuestionChange:
    return h.run(
        lambda: do_ask(
            ctx,
            shop_id=shop.shop_id,
            room_id=room_id,
            show_id=None,
            viewer_id=viewer_id,
            nickname="n",
            text=text,
        )
    )


def test_moderation_applies_to_questions(
    harness: Harness, shop: ShopKeys, room_id: int, owner: Principal
) -> None:
    ctx = harness.context()
    for who in ("d:device-1", "s:3"):
        with pytest.raises(SignInRequired):
            ask_as(harness, ctx, shop, room_id, who, "hi")
    harness.run(lambda: do_ban(ctx, owner, room_id, viewer_id="u:troll"))
    with pytest.raises(Banned):
        ask_as(harness, ctx, shop, room_id, "u:troll", "hi")
    harness.run(lambda: do_mute(ctx, owner, room_id, viewer_id="u:loud", seconds=60))
    with pytest.raises(Muted):
        ask_as(harness, ctx, shop, room_id, "u:loud", "hi")
    question = ask_as(harness, ctx, shop, room_id, "u:alice", "hi").question
    with pytest.raises(Banned):
        harness.run(
            lambda: do_upvote(ctx, shop_id=shop.shop_id, question_id=question.id, viewer_id="u:troll")
        )

    harness.run(lambda: do_add_words(ctx, owner, words=["微信"]))
    masked = ask_as(harness, ctx, shop, room_id, "u:bob", "加微信聊")
    assert masked.question.text == "加**聊"
    assert masked.events[0].data["masked"] is True
    harness.run(lambda: do_update_moderation_settings(ctx, owner, filter_mode=FilterMode.BLOCK))
    with pytest.raises(Exception, match="does not allow") as blocked:
        ask_as(harness, ctx, shop, room_id, "u:carol", "加微信聊")
    assert getattr(blocked.value, "code", None) == "interactions.question_blocked"

    ask_as(
        harness, ctx, shop, room_id, "u:carol", "一"
    )  # her refused question spent a token: this is the last
    with pytest.raises(QuestionRateLimited):
        ask_as(harness, ctx, shop, room_id, "u:carol", "二")
    harness.clock.advance(30)
    ask_as(harness, ctx, shop, room_id, "u:carol", "三")
    queue = harness.run(lambda: get_queue(ctx, shop_id=shop.shop_id, room_id=room_id))
    assert [q.text for q in queue.open] == ["hi", "加**聊", "一", "三"]


def test_concurrent_upvotes_count_each_viewer_once(
    harness: Harness, shop: ShopKeys, room_id: int, owner: Principal
) -> None:
    ctx = harness.context()
    question = ask_as(harness, ctx, shop, room_id, "u:asker", "今晚有福袋吗").question
    voters = [f"u:fan{i}" for i in range(50)] * 2 + ["u:asker"]

    async def storm() -> list[Upvote | BaseException]:
        return await asyncio.gather(
            *(do_upvote(ctx, shop_id=shop.shop_id, question_id=question.id, viewer_id=v) for v in voters),
            return_exceptions=True,
        )

    results = harness.run(storm)
    assert sum(isinstance(r, Upvote) for r in results) == 50
    assert sum(isinstance(r, AlreadyUpvoted) for r in results) == 50
    assert sum(isinstance(r, OwnQuestion) for r in results) == 1
    assert sorted(r.votes for r in results if isinstance(r, Upvote)) == list(range(1, 51))
    queue = harness.run(lambda: get_queue(ctx, shop_id=shop.shop_id, room_id=room_id))
    assert queue.open[0].votes == 50
    done = harness.run(lambda: do_answer_question(ctx, owner, question.id, answer="有"))
    assert done.question.votes == 50


# -- events --------------------------------------------------------------------------------------

SAMPLES: list[EventData] = [
    QuestionAsked(question_id=1, nickname="小美", text="有**吗", masked=True),
    QuestionUpvoted(question_id=1, votes=3),
    QuestionAnswered(question_id=1, nickname="小美", text="有小样吗", answer="有"),
    QuestionPinned(question_id=1, nickname="小美", text="有小样吗", votes=3),
    QuestionUnpinned(question_id=1),
    QuestionDismissed(question_id=1),
]


@pytest.mark.parametrize("payload", SAMPLES, ids=lambda p: f"{type(p).TYPE}")
def test_question_events_round_trip_through_the_envelope(payload: EventData) -> None:
    event = make_event(payload, shop_id=1, room_id=2, show_id=3, actor="staff:9")
    wire = Event.model_validate_json(event.model_dump_json())
    assert wire == event
    assert EVENT_TYPES[wire.type].model_validate(wire.data) == payload


def test_the_app_context_serves_the_queue(api: TestClient, shop: ShopKeys, room_id: int) -> None:
    asked(api, viewer(api, shop, "alice"), room_id, "一")

    async def read(container: Container) -> list[str]:
        ctx: InteractionsContext = api.app.state.interactions  # type: ignore[attr-defined]
        queue = await get_queue(ctx, shop_id=shop.shop_id, room_id=room_id)
        return [q.text for q in queue.open]

    assert run_in_app(api, read) == ["一"]
