"""Live polls: the staff and viewer routes, the vote hot path under real concurrency, and a model."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from starlette.testclient import TestClient

from liveloop.adapters.redis import RedisCounters, make_redis
from liveloop.core.container import Container
from liveloop.core.counters import Counters
from liveloop.core.events import Event, EventData, make_event
from liveloop.interactions import (
    EVENT_TYPES,
    AlreadyVoted,
    InteractionsContext,
    InvalidOption,
    LineupReordered,
    PollAlreadyClosed,
    PollClosed,
    PollKind,
    PollNotFound,
    PollNotOpen,
    PollOpened,
    PollOption,
    PollVoted,
    SignInRequired,
    VoteCast,
    do_ban,
    do_close_due_polls,
    do_close_poll,
    do_create_poll,
    do_open_poll,
    do_vote,
    get_tally,
    storage,
)
from liveloop.rooms import RoomNotFound
from liveloop.shops import Principal, Role
from tests.backends import REDIS_ENV, backend_url
from tests.commerce.test_api import make_product
from tests.conftest import ShopKeys, created, run_in_app
from tests.interactions.conftest import Harness
from tests.rooms.test_api import make_show

THREE = [{"text": "红色"}, {"text": "蓝色"}, {"text": "绿色"}]


def collect_events(client: TestClient) -> list[Event]:
    """Events the app emits from now on."""
    seen: list[Event] = []

    async def collect(batch: Sequence[Event]) -> None:
        seen.extend(batch)

    async def subscribe(container: Container) -> None:
        container.events.subscribe(collect)

    run_in_app(client, subscribe)
    return seen


def event_types(client: TestClient, events: list[Event], count: int) -> list[str]:
    for _ in range(200):
        if len(events) >= count:
            break
        run_in_app(client, lambda _c: asyncio.sleep(0.01))
    return [e.type for e in events]


def viewer(client: TestClient, shop: ShopKeys, user: str) -> dict[str, str]:
    """Headers carrying a viewer token for ``u:<user>``."""
    body = {"user_id": user, "nickname": f"昵称{user}"}
    issued = created(client.post("/api/v1/viewer-tokens", json=body, headers=shop.headers()))
    return {"Authorization": f"Bearer {issued['token']}"}


def error_code(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    code: str = response.json()["error"]["code"]
    return code


def make_poll(client: TestClient, shop: ShopKeys, room_id: int, **overrides: Any) -> dict[str, Any]:
    body = {"question": "下一支口红试什么色?", "options": THREE} | overrides
    return created(client.post(f"/api/v1/rooms/{room_id}/polls", json=body, headers=shop.headers()))


def open_poll(client: TestClient, shop: ShopKeys, poll_id: int, **body: Any) -> dict[str, Any]:
    opened = client.post(f"/api/v1/polls/{poll_id}/open", json=body or None, headers=shop.headers(Role.HOST))
    assert opened.status_code == 200, opened.text
    result: dict[str, Any] = opened.json()
    return result


def vote(client: TestClient, headers: dict[str, str], poll_id: int, option: int) -> Any:
    return client.post(f"/api/v1/viewer/polls/{poll_id}/votes", json={"option": option}, headers=headers)


def sql_counts(client: TestClient, poll_id: int, options: int) -> list[int]:
    async def count(container: Container) -> list[int]:
        vote_row = storage.PollVoteRow
        async with container.db.read() as session:
            rows = await session.execute(
                select(vote_row.option, func.count())
                .where(vote_row.poll_id == poll_id)
                .group_by(vote_row.option)
            )
        counts = [0] * options
        for option, n in rows:
            counts[option] = int(n)
        return counts

    return run_in_app(client, count)


# -- the routes ----------------------------------------------------------------------------------


def test_a_poll_runs_from_draft_to_result(api: TestClient, shop: ShopKeys, room_id: int) -> None:
    events = collect_events(api)
    poll = make_poll(api, shop, room_id)
    assert (poll["state"], poll["kind"], poll["result"]) == ("draft", "normal", None)
    assert [o["text"] for o in poll["options"]] == ["红色", "蓝色", "绿色"]
    alice, bob = viewer(api, shop, "alice"), viewer(api, shop, "bob")
    assert error_code(vote(api, alice, poll["id"], 0), 409) == "interactions.poll_not_open"

    opened = open_poll(api, shop, poll["id"], duration_seconds=600)
    assert opened["state"] == "open"
    assert opened["closes_at"] is not None
    assert opened["tally"] == {"counts": [0, 0, 0], "total": 0, "final": False}
    cast = vote(api, alice, poll["id"], 2)
    assert cast.status_code == 201, cast.text
    assert cast.json() == {
        "poll_id": poll["id"],
        "option": 2,
        "tally": {"counts": [0, 0, 1], "total": 1, "final": False},
    }
    assert vote(api, bob, poll["id"], 2).json()["tally"]["counts"] == [0, 0, 2]

    # Refusals change nothing.
    assert error_code(vote(api, alice, poll["id"], 0), 409) == "interactions.already_voted"
    carol = viewer(api, shop, "carol")
    assert error_code(vote(api, carol, poll["id"], 3), 422) == "interactions.invalid_option"
    assert error_code(vote(api, carol, poll["id"], -1), 422) == "request.validation_error"
    assert error_code(open_poll_raw(api, shop, poll["id"]), 409) == "interactions.poll_already_open"
    live = api.get(f"/api/v1/polls/{poll['id']}", headers=shop.headers(Role.MODERATOR)).json()
    assert live["tally"] == {"counts": [0, 0, 2], "total": 2, "final": False}

    closed = api.post(f"/api/v1/polls/{poll['id']}/close", headers=shop.headers(Role.OPERATOR))
    assert closed.status_code == 200, closed.text
    assert closed.json()["state"] == "closed"
    assert closed.json()["result"] == {"counts": [0, 0, 2], "total": 2, "winner": 2}
    assert closed.json()["tally"] == {"counts": [0, 0, 2], "total": 2, "final": True}
    assert error_code(vote(api, carol, poll["id"], 0), 409) == "interactions.poll_closed"
    assert error_code(open_poll_raw(api, shop, poll["id"]), 409) == "interactions.poll_closed"
    again = api.post(f"/api/v1/polls/{poll['id']}/close", headers=shop.headers())
    assert error_code(again, 409) == "interactions.poll_closed"

    listed = api.get(f"/api/v1/rooms/{room_id}/polls", headers=shop.headers(Role.MODERATOR)).json()
    assert [(p["id"], p["state"]) for p in listed["items"]] == [(poll["id"], "closed")]
    assert event_types(api, events, 4) == ["poll.opened", "poll.voted", "poll.voted", "poll.closed"]
    opened_event, voted, _, closed_event = events
    assert opened_event.data["options"] == [{"text": t["text"], "product_id": None} for t in THREE]
    assert (voted.actor, voted.data, voted.room_id) == (
        "u:alice",
        {"poll_id": poll["id"], "option": 2},
        room_id,
    )
    assert closed_event.data["result"] == {"counts": [0, 0, 2], "total": 2, "winner": 2}
    assert opened_event.actor is not None
    assert opened_event.actor.startswith("staff:")


def open_poll_raw(client: TestClient, shop: ShopKeys, poll_id: int) -> Any:
    return client.post(f"/api/v1/polls/{poll_id}/open", headers=shop.headers())


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"options": [{"text": "只有一个"}]}, "one option"),
        ({"options": [{"text": str(i)} for i in range(7)]}, "seven options"),
        ({"question": "   "}, "an empty question"),
        ({"options": [{"text": "同"}, {"text": "同 "}]}, "two options alike"),
        ({"options": [{"text": "a\x00"}, {"text": "b"}]}, "a control character"),
        ({"kind": "next_product"}, "a next-product poll without products"),
        ({"options": [{"text": "a", "product_id": 2**40}, {"text": "b"}]}, "an unknown product"),
    ],
)
def test_bad_polls_are_refused(
    api: TestClient, shop: ShopKeys, room_id: int, body: dict[str, Any], why: str
) -> None:
    full = {"question": "q", "options": THREE} | body
    refused = api.post(f"/api/v1/rooms/{room_id}/polls", json=full, headers=shop.headers())
    assert refused.status_code == 422, why
    assert refused.json()["error"]["code"] in ("interactions.invalid_poll", "request.validation_error"), why
    assert api.get(f"/api/v1/rooms/{room_id}/polls", headers=shop.headers()).json()["items"] == []


def test_roles_tokens_and_tenancy(
    api: TestClient, shop: ShopKeys, other_shop: ShopKeys, room_id: int
) -> None:
    moderator = shop.headers(Role.MODERATOR)
    denied = api.post(
        f"/api/v1/rooms/{room_id}/polls", json={"question": "q", "options": THREE}, headers=moderator
    )
    assert error_code(denied, 403) == "auth.permission_denied"
    poll = make_poll(api, shop, room_id)
    assert (
        error_code(api.post(f"/api/v1/polls/{poll['id']}/open", headers=moderator), 403)
        == "auth.permission_denied"
    )
    open_poll(api, shop, poll["id"])
    closing = api.post(f"/api/v1/polls/{poll['id']}/close", headers=moderator)
    assert error_code(closing, 403) == "auth.permission_denied"

    # A viewer token is not a staff key, and a staff key is not a viewer token.
    alice = viewer(api, shop, "alice")
    assert api.get(f"/api/v1/polls/{poll['id']}", headers=alice).status_code == 401
    assert api.post(f"/api/v1/polls/{poll['id']}/close", headers=alice).status_code == 401
    assert vote(api, shop.headers(), poll["id"], 0).status_code == 401
    assert vote(api, {}, poll["id"], 0).status_code == 401

    # Another shop's staff and viewers see nothing of this poll.
    theirs = other_shop.headers()
    assert (
        error_code(api.get(f"/api/v1/polls/{poll['id']}", headers=theirs), 404)
        == "interactions.poll_not_found"
    )
    assert api.post(f"/api/v1/polls/{poll['id']}/close", headers=theirs).status_code == 404
    assert api.post(f"/api/v1/polls/{poll['id']}/open", headers=theirs).status_code == 404
    assert api.get(f"/api/v1/rooms/{room_id}/polls", headers=theirs).status_code == 404
    stranger = viewer(api, other_shop, "alice")
    assert error_code(vote(api, stranger, poll["id"], 0), 404) == "interactions.poll_not_found"
    assert api.get(f"/api/v1/polls/{poll['id']}", headers=shop.headers()).json()["tally"]["total"] == 0


def test_only_signed_in_viewers_vote(
    harness: Harness, shop: ShopKeys, room_id: int, owner: Principal
) -> None:
    ctx = harness.context()
    poll = harness.run(lambda: do_create_poll(ctx, owner, room_id, question="q", options=options(2)))
    harness.run(lambda: do_open_poll(ctx, owner, poll.id))
    for who in ("d:device-1", "s:7", "alice"):
        with pytest.raises(SignInRequired):
            cast(harness, ctx, shop.shop_id, poll.id, who, 0)
    harness.run(lambda: do_ban(ctx, owner, room_id, viewer_id="u:troll"))
    with pytest.raises(Exception, match="banned"):
        cast(harness, ctx, shop.shop_id, poll.id, "u:troll", 0)
    with pytest.raises(PollNotFound):  # the right shop, the wrong room
        harness.run(
            lambda: do_vote(
                ctx, shop_id=shop.shop_id, room_id=room_id + 1, poll_id=poll.id, viewer_id="u:a", option=0
            )
        )
    assert harness.run(lambda: get_tally(ctx, poll_id=poll.id)).total == 0


# -- the hot path --------------------------------------------------------------------------------


def options(n: int) -> list[PollOption]:
    return [PollOption(f"选项{i}") for i in range(n)]


def cast(
    h: Harness, ctx: InteractionsContext, shop_id: int, poll_id: int, viewer_id: str, option: int
) -> VoteCast:
    return h.run(
        lambda: do_vote(
            ctx, shop_id=shop_id, room_id=None, poll_id=poll_id, viewer_id=viewer_id, option=option
        )
    )


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def counters_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    if kind == "redis":
        backend_url(REDIS_ENV)
    return kind


def test_300_concurrent_votes_from_100_viewers_count_100(
    api: TestClient, shop: ShopKeys, room_id: int, counters_kind: str
) -> None:
    poll = make_poll(api, shop, room_id)
    open_poll(api, shop, poll["id"])
    attempts = [(f"u:fan{v}", (v + a) % 3) for v in range(100) for a in range(3)]
    random.Random(7).shuffle(attempts)

    async def storm(container: Container) -> tuple[list[VoteCast | BaseException], list[int]]:
        app_ctx: InteractionsContext = api.app.state.interactions  # type: ignore[attr-defined]
        redis = make_redis(backend_url(REDIS_ENV)) if counters_kind == "redis" else None
        namespace = f"test-{uuid.uuid4().hex[:10]}"
        counters: Counters = (
            container.counters if redis is None else RedisCounters(redis, namespace=namespace)
        )
        ctx = InteractionsContext(db=container.db, counters=counters, cache=app_ctx.cache)
        try:
            results = await asyncio.gather(
                *(
                    do_vote(
                        ctx, shop_id=shop.shop_id, room_id=room_id, poll_id=poll["id"], viewer_id=v, option=o
                    )
                    for v, o in attempts
                ),
                return_exceptions=True,
            )
            tally = await get_tally(ctx, poll_id=poll["id"])
            assert await counters.count_members(f"interactions:poll:{poll['id']}:voters") == 100
            return results, list(tally.counts)
        finally:
            if redis is not None:
                await redis.delete(*[key async for key in redis.scan_iter(match=f"{namespace}:*")])
                await redis.aclose()

    results, live = run_in_app(api, storm)
    won = [r for r in results if isinstance(r, VoteCast)]
    refused = [r for r in results if not isinstance(r, VoteCast)]
    assert len(won) == 100
    assert {w.viewer_id for w in won} == {f"u:fan{v}" for v in range(100)}
    assert len(refused) == 200
    assert all(isinstance(r, AlreadyVoted) for r in refused)
    assert sum(live) == 100
    truth = sql_counts(api, poll["id"], 3)
    assert truth == live
    assert truth == [sum(1 for w in won if w.option == i) for i in range(3)]
    closed = api.post(f"/api/v1/polls/{poll['id']}/close", headers=shop.headers()).json()
    assert closed["result"]["counts"] == truth


def test_a_refused_sql_write_gives_the_counters_back(
    harness: Harness, shop: ShopKeys, room_id: int, owner: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = harness.context()
    poll = harness.run(lambda: do_create_poll(ctx, owner, room_id, question="q", options=options(2)))
    harness.run(lambda: do_open_poll(ctx, owner, poll.id))
    cast(harness, ctx, shop.shop_id, poll.id, "u:first", 1)

    async def broken(*_args: object, **_kwargs: object) -> bool:
        raise ConnectionError("the database went away")

    from liveloop.interactions import poll_votes

    monkeypatch.setattr(poll_votes, "_insert_vote", broken)
    with pytest.raises(ConnectionError):
        cast(harness, ctx, shop.shop_id, poll.id, "u:second", 1)
    monkeypatch.undo()
    assert harness.run(lambda: get_tally(ctx, poll_id=poll.id)).counts == (0, 1)
    assert cast(harness, ctx, shop.shop_id, poll.id, "u:second", 0).tally.counts == (1, 1)


def test_a_node_that_missed_the_close_refuses_and_undoes(
    harness: Harness, shop: ShopKeys, room_id: int, owner: Principal
) -> None:
    node_a, node_b = harness.context(), harness.context()
    poll = harness.run(lambda: do_create_poll(node_a, owner, room_id, question="q", options=options(2)))
    harness.run(lambda: do_open_poll(node_b, owner, poll.id))
    cast(harness, node_a, shop.shop_id, poll.id, "u:early", 0)  # node A now caches the poll as open
    closed = harness.run(lambda: do_close_poll(node_b, owner, poll.id))
    assert closed.poll.result is not None
    assert closed.poll.result.counts == (1, 0)
    with pytest.raises(PollAlreadyClosed):
        cast(harness, node_a, shop.shop_id, poll.id, "u:late", 0)
    assert (
        harness.run(lambda: harness.counters.is_member(f"interactions:poll:{poll.id}:voters", "u:late"))
        is False
    )
    assert harness.run(lambda: harness.counters.get(f"interactions:poll:{poll.id}:opt:0")) == 1
    with pytest.raises(PollAlreadyClosed):  # and it no longer trusts its cache
        cast(harness, node_a, shop.shop_id, poll.id, "u:later", 1)


def test_a_timed_poll_stops_voting_and_closes_when_due(
    harness: Harness, shop: ShopKeys, room_id: int, owner: Principal
) -> None:
    ctx = harness.context()
    poll = harness.run(lambda: do_create_poll(ctx, owner, room_id, question="q", options=options(3)))
    opened = harness.run(lambda: do_open_poll(ctx, owner, poll.id, duration_seconds=30))
    assert opened.poll.closes_at == datetime.fromtimestamp(harness.wall.now + 30, UTC)
    cast(harness, ctx, shop.shop_id, poll.id, "u:in-time", 1)
    assert harness.run(lambda: do_close_due_polls(ctx)) == []
    harness.wall.advance(31)  # not 30: stored times keep microseconds, the fake clock does not
    with pytest.raises(PollAlreadyClosed):
        cast(harness, ctx, shop.shop_id, poll.id, "u:too-late", 1)
    [due] = harness.run(lambda: do_close_due_polls(ctx))
    assert due.poll.result is not None
    assert due.poll.result.counts == (0, 1, 0)
    assert [(e.type, e.actor) for e in due.events] == [("poll.closed", None)]
    assert harness.run(lambda: do_close_due_polls(ctx)) == []
    draft = harness.run(lambda: do_create_poll(ctx, owner, room_id, question="q2", options=options(2)))
    with pytest.raises(PollNotOpen):
        cast(harness, ctx, shop.shop_id, draft.id, "u:eager", 0)


@settings(
    max_examples=20,
    deadline=None,
    database=None,
    # Each example makes its own poll, so the shared app and shop are never reused between examples.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(votes=st.lists(st.tuples(st.integers(0, 6), st.integers(-1, 3)), max_size=30))
def test_votes_match_a_model_where_each_viewer_counts_once(
    harness: Harness, shop: ShopKeys, room_id: int, owner: Principal, votes: list[tuple[int, int]]
) -> None:
    ctx = harness.context()
    poll = harness.run(lambda: do_create_poll(ctx, owner, room_id, question="q", options=options(3)))
    harness.run(lambda: do_open_poll(ctx, owner, poll.id))
    model: dict[str, int] = {}
    for who, option in votes:
        viewer_id = f"u:p{who}"
        try:
            cast(harness, ctx, shop.shop_id, poll.id, viewer_id, option)
        except InvalidOption:
            assert not 0 <= option < 3
        except AlreadyVoted:
            assert viewer_id in model
            assert 0 <= option < 3
        else:
            assert viewer_id not in model
            model[viewer_id] = option
    expected = tuple(sum(1 for o in model.values() if o == i) for i in range(3))
    assert harness.run(lambda: get_tally(ctx, poll_id=poll.id)).counts == expected
    closed = harness.run(lambda: do_close_poll(ctx, owner, poll.id))
    assert closed.poll.result is not None
    assert closed.poll.result.counts == expected


# -- next product --------------------------------------------------------------------------------


def test_a_next_product_poll_moves_the_winner_to_the_front(
    api: TestClient, shop: ShopKeys, other_shop: ShopKeys, room_id: int
) -> None:
    p1, p2, p3 = (make_product(api, shop, sku=f"NP{i}", title=f"商品{i}")["id"] for i in range(3))
    show = make_show(api, shop, room_id)
    lineup = f"/api/v1/shows/{show['id']}/lineup"
    api.put(lineup, json={"product_ids": [p1, p2, p3]}, headers=shop.headers())
    body = {
        "kind": "next_product",
        "options": [{"text": "三号", "product_id": p3}, {"text": "二号", "product_id": p2}],
    }
    poll = make_poll(api, shop, room_id, **body)
    assert error_code(open_poll_raw(api, shop, poll["id"]), 409) == "interactions.no_live_show"
    foreign = make_product(api, other_shop, sku="THEIRS")["id"]
    stolen = api.post(
        f"/api/v1/rooms/{room_id}/polls",
        json=body
        | {
            "question": "q",
            "options": [{"text": "x", "product_id": foreign}, {"text": "y", "product_id": p1}],
        },
        headers=shop.headers(),
    )
    assert error_code(stolen, 422) == "interactions.invalid_poll"

    assert api.post(f"/api/v1/shows/{show['id']}/start", headers=shop.headers(Role.HOST)).status_code == 200
    events = collect_events(api)
    opened = open_poll(api, shop, poll["id"])
    assert opened["show_id"] == show["id"]
    assert vote(api, viewer(api, shop, "a"), poll["id"], 1).status_code == 201
    assert vote(api, viewer(api, shop, "b"), poll["id"], 0).status_code == 201  # a tie: option 0 wins
    closed = api.post(f"/api/v1/polls/{poll['id']}/close", headers=shop.headers(Role.HOST)).json()
    assert closed["result"] == {"counts": [1, 1], "total": 2, "winner": 0}
    order = [i["product"]["id"] for i in api.get(lineup, headers=shop.headers()).json()["items"]]
    assert order == [p3, p1, p2]
    types = event_types(api, events, 5)
    assert types[-2:] == ["poll.closed", "lineup.reordered"]
    reordered = events[-1]
    assert (reordered.show_id, reordered.data) == (
        show["id"],
        {"show_id": show["id"], "product_ids": [p3, p1, p2], "poll_id": poll["id"]},
    )


def test_a_poll_without_votes_leaves_the_lineup_alone(
    harness: Harness, api: TestClient, shop: ShopKeys, room_id: int, owner: Principal
) -> None:
    p1, p2 = (make_product(api, shop, sku=f"NV{i}")["id"] for i in range(2))
    show = make_show(api, shop, room_id)
    api.put(f"/api/v1/shows/{show['id']}/lineup", json={"product_ids": [p1, p2]}, headers=shop.headers())
    api.post(f"/api/v1/shows/{show['id']}/start", headers=shop.headers())
    ctx = harness.context()
    choices = [PollOption("一", p1), PollOption("二", p2)]
    poll = harness.run(
        lambda: do_create_poll(ctx, owner, room_id, question="q", options=choices, kind=PollKind.NEXT_PRODUCT)
    )
    harness.run(lambda: do_open_poll(ctx, owner, poll.id))
    closed = harness.run(lambda: do_close_poll(ctx, owner, poll.id))
    assert closed.poll.result is not None
    assert closed.poll.result.winner is None
    assert [e.type for e in closed.events] == ["poll.closed"]


# -- events --------------------------------------------------------------------------------------

SAMPLES: list[EventData] = [
    PollOpened.model_validate(
        {
            "poll_id": 1,
            "kind": "normal",
            "question": "q",
            "options": [{"text": "a"}, {"text": "b", "product_id": 9}],
        }
    ),
    PollVoted(poll_id=1, option=0),
    PollClosed.model_validate(
        {
            "poll_id": 1,
            "question": "q",
            "options": [{"text": "a"}, {"text": "b"}],
            "result": {"counts": [2, 1], "total": 3, "winner": 0},
        }
    ),
    LineupReordered(show_id=3, product_ids=[9, 8], poll_id=1),
]


@pytest.mark.parametrize("payload", SAMPLES, ids=lambda p: f"{type(p).TYPE}")
def test_poll_events_round_trip_through_the_envelope(payload: EventData) -> None:
    event = make_event(payload, shop_id=1, room_id=2, show_id=3, actor="u:alice")
    wire = Event.model_validate_json(event.model_dump_json())
    assert wire == event
    assert EVENT_TYPES[wire.type].model_validate(wire.data) == payload


def test_votes_racing_a_close_are_counted_or_refused(api: TestClient, shop: ShopKeys, room_id: int) -> None:
    poll = make_poll(api, shop, room_id)
    open_poll(api, shop, poll["id"])
    owner = Principal(shop_id=shop.shop_id, staff_id=1, role=Role.OWNER, api_key_id=0)

    keys = [f"interactions:poll:{poll['id']}:opt:{i}" for i in range(3)]

    async def race(container: Container) -> tuple[list[object], list[int]]:
        ctx: InteractionsContext = api.app.state.interactions  # type: ignore[attr-defined]

        counted: list[VoteCast] = []
        twenty, closed = asyncio.Event(), asyncio.Event()

        async def vote_soon(i: int) -> VoteCast:
            await asyncio.sleep(i * 0.004)  # 120 votes over 480 ms
            if i >= 110:  # the last ten come once the close is done, however slow the machine
                await closed.wait()
            viewer_id = f"u:r{i}"
            cast = await do_vote(
                ctx,
                shop_id=shop.shop_id,
                room_id=room_id,
                poll_id=poll["id"],
                viewer_id=viewer_id,
                option=i % 3,
            )
            counted.append(cast)
            if len(counted) == 20:
                twenty.set()
            return cast

        async def close_soon() -> object:
            await twenty.wait()  # while votes are still streaming in
            try:
                return await do_close_poll(ctx, owner, poll["id"])
            finally:
                closed.set()

        results = await asyncio.gather(
            close_soon(), *(vote_soon(i) for i in range(120)), return_exceptions=True
        )
        return results, await container.counters.get_many(keys)

    results, counters = run_in_app(api, race)
    close, votes = results[0], results[1:]
    assert not isinstance(close, BaseException), close
    accepted = [r for r in votes if isinstance(r, VoteCast)]
    refused = [r for r in votes if not isinstance(r, VoteCast)]
    assert len(accepted) >= 20
    assert len(refused) >= 10  # at least the votes after the close
    assert all(isinstance(r, PollAlreadyClosed) for r in refused), refused
    truth = sql_counts(api, poll["id"], 3)
    assert sum(truth) == len(accepted)
    result = api.get(f"/api/v1/polls/{poll['id']}", headers=shop.headers()).json()["result"]
    assert result["counts"] == truth
    assert counters == truth  # refused votes gave their counters back


def test_a_room_snapshot_lists_its_open_polls(
    harness: Harness, shop: ShopKeys, other_shop: ShopKeys, room_id: int, owner: Principal
) -> None:
    from liveloop.interactions.polls import get_open_polls  # the lead exports it with the room snapshot

    ctx = harness.context()
    draft = harness.run(lambda: do_create_poll(ctx, owner, room_id, question="草稿", options=options(2)))
    live = harness.run(lambda: do_create_poll(ctx, owner, room_id, question="进行中", options=options(2)))
    harness.run(lambda: do_open_poll(ctx, owner, live.id))
    polls = harness.run(lambda: get_open_polls(ctx, shop_id=shop.shop_id, room_id=room_id))
    assert [p.id for p in polls] == [live.id]
    assert draft.id != live.id
    with pytest.raises(RoomNotFound):
        harness.run(lambda: get_open_polls(ctx, shop_id=other_shop.shop_id, room_id=room_id))
