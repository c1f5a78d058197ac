"""Red packets: the split's invariants (hypothesis), grabbing under real concurrency on both counters
adapters, expiry, rebuilding the counters from SQL, and the API with its roles and tenancy."""

from __future__ import annotations

import asyncio
import random
import secrets
import time
import uuid
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from redis.asyncio import Redis
from sqlalchemy import func, select
from starlette.testclient import TestClient

from liveloop.adapters.memory import MemoryCounters
from liveloop.adapters.redis import RedisCounters, make_redis
from liveloop.core.container import Container
from liveloop.core.counters import Counters
from liveloop.core.errors import LiveloopError
from liveloop.core.events import Event, EventData, make_event
from liveloop.interactions import (
    EVENT_TYPES,
    AlreadyGrabbed,
    Grabbed,
    InteractionsContext,
    ModerationCache,
    RedPacketEmpty,
    RedPacketFinished,
    RedPacketGrabbed,
    RedPacketSent,
    RedPacketState,
    do_ban,
    do_grab,
    do_rebuild_red_packets,
    do_send_red_packet,
    do_sweep_red_packets,
    get_red_packet,
    split_red_packet,
)
from liveloop.interactions.redpacket import grabbed_key, left_key
from liveloop.interactions.redpacket_split import MAX_SHARES, MAX_TOTAL_CENTS
from liveloop.interactions.storage import RedPacketRow, RedPacketShareRow
from liveloop.shops import Principal, Role
from tests.backends import REDIS_ENV, backend_url
from tests.conftest import ShopKeys, created, run_in_app
from tests.contracts.conftest import drop_namespace
from tests.interactions.conftest import Clock, Harness
from tests.presence import join
from tests.rooms.test_api import make_room

ADAPTERS = (pytest.param("memory"), pytest.param("redis", marks=pytest.mark.redis))


def refusal(harness: Harness, call: Any) -> LiveloopError:
    with pytest.raises(LiveloopError) as caught:
        harness.run(call)
    return caught.value


def grab_as(
    harness: Harness, ctx: InteractionsContext, shop: ShopKeys, room_id: int, packet_id: int, viewer: str
) -> Grabbed:
    return harness.run(
        lambda: do_grab(
            ctx, shop_id=shop.shop_id, room_id=room_id, packet_id=packet_id, viewer_id=viewer, nickname=viewer
        )
    )


def shares_in_sql(client: TestClient, packet_id: int) -> list[RedPacketShareRow]:
    async def load(container: Container) -> list[RedPacketShareRow]:
        async with container.db.read() as session:
            rows = await session.scalars(
                select(RedPacketShareRow)
                .where(RedPacketShareRow.packet_id == packet_id)
                .order_by(RedPacketShareRow.index)
            )
            return list(rows)

    return run_in_app(client, load)


# -- the split -----------------------------------------------------------------------------------


@settings(deadline=None)
@given(data=st.data())
def test_split_invariants(data: st.DataObject) -> None:
    count = data.draw(st.integers(1, 1000), label="count")
    total = data.draw(st.integers(count, 10**7), label="total_cents")
    rng = data.draw(st.randoms(use_true_random=False))
    shares = split_red_packet(total, count, rng)
    assert len(shares) == count
    assert min(shares) >= 1
    assert sum(shares) == total


@settings(deadline=None)
@given(count=st.integers(1, 1000), short=st.integers(1, 1000))
def test_split_needs_a_cent_per_share(count: int, short: int) -> None:
    total = count - short
    with pytest.raises(LiveloopError) as caught:
        split_red_packet(total, count, random.Random(0))
    if total >= 1:
        assert caught.value.code == "interactions.red_packet_too_small"
        assert caught.value.details == {"min_total_cents": count}
    else:
        assert caught.value.code == "interactions.invalid_red_packet"


def test_split_bounds_and_the_production_rng() -> None:
    for total, count in ((100, 0), (MAX_SHARES + 1, MAX_SHARES + 1), (MAX_TOTAL_CENTS + 1, 10)):
        with pytest.raises(LiveloopError) as caught:
            split_red_packet(total, count, random.Random(0))
        assert caught.value.code == "interactions.invalid_red_packet"
    shares = split_red_packet(MAX_TOTAL_CENTS, MAX_SHARES, secrets.SystemRandom())
    assert (len(shares), sum(shares), min(shares)) == (
        MAX_SHARES,
        MAX_TOTAL_CENTS,
        1 if min(shares) == 1 else min(shares),
    )
    assert split_red_packet(5, 5, secrets.SystemRandom()) == [1] * 5


def test_no_position_is_luckier() -> None:
    """Shuffled: every position expects the average (double average alone favours none either, but
    the shuffle also hides which draw was the remainder)."""
    rng = random.Random(20261212)
    sums = [0] * 10
    for _ in range(4000):
        for i, share in enumerate(split_red_packet(1000, 10, rng)):
            sums[i] += share
    means = [s / 4000 for s in sums]
    assert all(92 <= m <= 108 for m in means), means


# -- grabbing under real concurrency, on both counters adapters ----------------------------------


@pytest.fixture(params=ADAPTERS)
def counters(request: pytest.FixtureRequest, client: TestClient) -> Iterator[Counters]:
    """Memory, or Redis (LIVELOOP_TEST_REDIS_URL; skipped when unset) under a fresh namespace."""
    namespace = f"test:{uuid.uuid4().hex}"
    if request.param == "memory":
        yield MemoryCounters(namespace=namespace)
        return
    url = backend_url(REDIS_ENV)

    async def open_redis(_container: Container) -> Redis:
        return make_redis(url)

    redis = run_in_app(client, open_redis)
    try:
        yield RedisCounters(redis, namespace=namespace)
    finally:

        async def close(_container: Container) -> None:
            await drop_namespace(redis, namespace)
            await redis.aclose()

        run_in_app(client, close)


def test_concurrent_grabs_pay_each_share_once(
    client: TestClient, harness: Harness, shop: ShopKeys, room_id: int, owner: Principal, counters: Counters
) -> None:
    """500 concurrent grabs by 300 viewers (200 of them twice) for 100 shares: exactly 100 land, no
    viewer twice, the amounts add up to the total, and SQL agrees."""
    container: Container = client.app.state.container  # type: ignore[attr-defined]
    ctx = InteractionsContext(db=container.db, counters=counters, cache=ModerationCache())
    total = 88_888
    viewers = [f"u:viewer-{i}" for i in range(300)]
    attempts = viewers + random.Random(1).sample(viewers, 200)
    random.Random(2).shuffle(attempts)

    async def scenario(_container: Container) -> tuple[int, list[Grabbed | LiveloopError]]:
        sent = await do_send_red_packet(ctx, owner, room_id, total_cents=total, count=100)
        packet_id = sent.packet.id

        async def grab(viewer: str) -> Grabbed | LiveloopError:
            try:
                return await do_grab(
                    ctx,
                    shop_id=shop.shop_id,
                    room_id=room_id,
                    packet_id=packet_id,
                    viewer_id=viewer,
                    nickname=viewer,
                )
            except LiveloopError as exc:
                return exc

        return packet_id, await asyncio.gather(*(grab(v) for v in attempts))

    packet_id, results = run_in_app(client, scenario)
    grabs = [r for r in results if isinstance(r, Grabbed)]
    refusals = [r for r in results if not isinstance(r, Grabbed)]
    assert len(grabs) == 100
    assert len({g.viewer_id for g in grabs}) == 100
    assert sum(g.amount_cents for g in grabs) == total
    assert min(g.amount_cents for g in grabs) >= 1
    assert {type(r) for r in refusals} <= {AlreadyGrabbed, RedPacketEmpty}
    assert len(refusals) == 400

    rows = shares_in_sql(client, packet_id)
    claimed = {r.viewer_id: r.amount_cents for r in rows if r.viewer_id is not None}
    assert claimed == {g.viewer_id: g.amount_cents for g in grabs}
    assert sum(r.amount_cents for r in rows) == total

    swept = run_in_app(client, lambda _c: do_sweep_red_packets(ctx))
    finished = [e for g in grabs for e in g.events if e.type == "red_packet.finished"] + [
        e for e in swept if e.type == "red_packet.finished"
    ]
    assert len(finished) == 1
    assert finished[0].data | {"packet_id": 0} == {
        "packet_id": 0,
        "reason": "emptied",
        "count": 100,
        "total_cents": total,
        "grabbed_count": 100,
        "grabbed_cents": total,
        "returned_cents": 0,
    }
    packet = harness.run(lambda: get_red_packet(ctx, owner, packet_id))
    assert (packet.state, packet.grabbed_count, packet.grabbed_cents) == (RedPacketState.FINISHED, 100, total)


# -- the service, step by step -------------------------------------------------------------------


def test_send_grab_and_what_staff_see(
    harness: Harness, shop: ShopKeys, room_id: int, owner: Principal
) -> None:
    ctx = harness.context()
    sent = harness.run(lambda: do_send_red_packet(ctx, owner, room_id, total_cents=1000, count=4))
    packet = sent.packet
    assert (packet.state, packet.count, packet.total_cents, packet.grabbed_count) == (
        RedPacketState.OPEN,
        4,
        1000,
        0,
    )
    [event] = sent.events
    assert (event.type, event.actor, event.room_id) == ("red_packet.sent", f"staff:{owner.staff_id}", room_id)
    assert event.data["packet_id"] == packet.id
    assert event.data["count"] == 4
    rows = shares_in_sql(harness.client, packet.id)
    assert [r.index for r in rows] == [0, 1, 2, 3]
    assert sum(r.amount_cents for r in rows) == 1000
    assert all(r.viewer_id is None for r in rows)
    assert harness.run(lambda: get_red_packet(ctx, owner, packet.id)).shares == ()

    grabbed = harness.run(
        lambda: do_grab(
            ctx,
            shop_id=shop.shop_id,
            room_id=room_id,
            packet_id=packet.id,
            viewer_id="u:alice",
            nickname="小爱",
        )
    )
    # The first share handed out is the one stored at the highest index.
    assert grabbed.amount_cents == rows[3].amount_cents
    [event] = grabbed.events
    assert (event.type, event.actor) == ("red_packet.grabbed", "u:alice")
    assert event.data == {
        "packet_id": packet.id,
        "viewer_id": "u:alice",
        "nickname": "小爱",
        "amount_cents": grabbed.amount_cents,
    }
    seen = harness.run(lambda: get_red_packet(ctx, owner, packet.id))
    assert [(s.viewer_id, s.nickname, s.amount_cents) for s in seen.shares] == [
        ("u:alice", "小爱", grabbed.amount_cents)
    ]
    assert (seen.grabbed_count, seen.grabbed_cents) == (1, grabbed.amount_cents)

    again = refusal(
        harness,
        lambda: do_grab(
            ctx, shop_id=shop.shop_id, room_id=room_id, packet_id=packet.id, viewer_id="u:alice", nickname="x"
        ),
    )
    assert (again.code, again.status) == ("interactions.already_grabbed", 409)
    assert [r.viewer_id for r in shares_in_sql(harness.client, packet.id)].count("u:alice") == 1


def test_who_may_grab(
    harness: Harness, shop: ShopKeys, other_shop: ShopKeys, room_id: int, owner: Principal
) -> None:
    ctx = harness.context()
    other_room: int = make_room(harness.client, shop, "二号间")["id"]
    packet_id = harness.run(
        lambda: do_send_red_packet(ctx, owner, room_id, total_cents=500, count=5)
    ).packet.id
    later = harness.run(
        lambda: do_send_red_packet(ctx, owner, room_id, total_cents=500, count=5, delay_seconds=30)
    )
    harness.run(lambda: do_ban(ctx, owner, room_id, viewer_id="u:troll"))

    def grab(
        viewer: str, *, shop_id: int = shop.shop_id, room: int = room_id, packet: int = packet_id
    ) -> str:
        error = refusal(
            harness,
            lambda: do_grab(
                ctx, shop_id=shop_id, room_id=room, packet_id=packet, viewer_id=viewer, nickname="n"
            ),
        )
        return error.code

    assert grab("d:device-1") == "interactions.sign_in_required"
    assert grab("s:12") == "interactions.sign_in_required"
    assert grab("u:bob", shop_id=other_shop.shop_id) == "interactions.red_packet_not_found"
    assert grab("u:bob", room=other_room) == "interactions.red_packet_not_found"
    assert grab("u:bob", packet=packet_id + 1000) == "interactions.red_packet_not_found"
    assert grab("u:troll") == "interactions.banned"
    assert grab("u:bob", packet=later.packet.id) == "interactions.red_packet_not_open"
    assert all(r.viewer_id is None for r in shares_in_sql(harness.client, packet_id))
    harness.wall.advance(31)
    harness.run(
        lambda: do_grab(
            ctx,
            shop_id=shop.shop_id,
            room_id=room_id,
            packet_id=later.packet.id,
            viewer_id="u:bob",
            nickname="b",
        )
    )


def test_the_last_grab_finishes_the_packet(
    harness: Harness, shop: ShopKeys, room_id: int, owner: Principal
) -> None:
    ctx = harness.context()
    packet_id = harness.run(
        lambda: do_send_red_packet(ctx, owner, room_id, total_cents=300, count=3)
    ).packet.id
    results = [grab_as(harness, ctx, shop, room_id, packet_id, v) for v in ("u:a", "u:b", "u:c")]
    assert [len(r.events) for r in results] == [1, 1, 2]
    finished = results[-1].events[1]
    assert (finished.type, finished.data["reason"], finished.data["grabbed_cents"]) == (
        "red_packet.finished",
        "emptied",
        300,
    )
    empty = refusal(
        harness,
        lambda: do_grab(
            ctx, shop_id=shop.shop_id, room_id=room_id, packet_id=packet_id, viewer_id="u:d", nickname="d"
        ),
    )
    assert (empty.code, empty.status) == ("interactions.red_packet_empty", 409)
    assert harness.run(lambda: get_red_packet(ctx, owner, packet_id)).state is RedPacketState.FINISHED
    assert harness.run(lambda: do_sweep_red_packets(ctx)) == ()


def test_expiry_returns_the_unclaimed_shares(
    harness: Harness, shop: ShopKeys, room_id: int, owner: Principal
) -> None:
    ctx = harness.context()
    packet_id = harness.run(
        lambda: do_send_red_packet(ctx, owner, room_id, total_cents=1000, count=5, expires_in_seconds=60)
    ).packet.id
    got = sum(grab_as(harness, ctx, shop, room_id, packet_id, v).amount_cents for v in ("u:a", "u:b"))
    assert harness.run(lambda: do_sweep_red_packets(ctx)) == ()
    harness.wall.advance(60)
    late = refusal(
        harness,
        lambda: do_grab(
            ctx, shop_id=shop.shop_id, room_id=room_id, packet_id=packet_id, viewer_id="u:c", nickname="c"
        ),
    )
    assert late.code == "interactions.red_packet_expired"
    [event] = harness.run(lambda: do_sweep_red_packets(ctx))
    assert event.type == "red_packet.finished"
    assert event.actor is None
    assert event.data | {"packet_id": 0} == {
        "packet_id": 0,
        "reason": "expired",
        "count": 5,
        "total_cents": 1000,
        "grabbed_count": 2,
        "grabbed_cents": got,
        "returned_cents": 1000 - got,
    }
    rows = shares_in_sql(harness.client, packet_id)
    assert len([r for r in rows if r.returned_at is not None]) == 3
    assert harness.run(lambda: do_sweep_red_packets(ctx)) == ()
    assert harness.run(lambda: get_red_packet(ctx, owner, packet_id)).state is RedPacketState.EXPIRED
    assert harness.run(lambda: harness.counters.get(left_key(packet_id))) == 0
    assert harness.run(lambda: harness.counters.count_members(grabbed_key(packet_id))) == 0


def test_a_grab_racing_expiry_finds_its_share_returned(
    harness: Harness, shop: ShopKeys, room_id: int, owner: Principal
) -> None:
    """A node whose clock lags takes an index from the counters after another node expired the packet:
    SQL refuses the share, and the counters are given back."""
    sweeper = harness.context()
    lagging = InteractionsContext(
        db=sweeper.db,
        counters=harness.counters,
        cache=ModerationCache(clock=harness.clock),
        wall_clock=Clock(time.time()),
    )
    packet_id = harness.run(
        lambda: do_send_red_packet(sweeper, owner, room_id, total_cents=100, count=2, expires_in_seconds=60)
    ).packet.id
    harness.wall.advance(61)
    harness.run(lambda: do_sweep_red_packets(sweeper))
    harness.run(lambda: harness.counters.set(left_key(packet_id), 2))  # as if the sweep's delete were lost
    late = refusal(
        harness,
        lambda: do_grab(
            lagging, shop_id=shop.shop_id, room_id=room_id, packet_id=packet_id, viewer_id="u:a", nickname="a"
        ),
    )
    assert late.code == "interactions.red_packet_expired"
    assert harness.run(lambda: harness.counters.is_member(grabbed_key(packet_id), "u:a")) is False
    assert all(r.viewer_id is None for r in shares_in_sql(harness.client, packet_id))


def test_rebuild_after_the_counters_are_lost(
    client: TestClient, harness: Harness, shop: ShopKeys, room_id: int, owner: Principal
) -> None:
    ctx = harness.context()
    packet_id = harness.run(
        lambda: do_send_red_packet(ctx, owner, room_id, total_cents=1000, count=10)
    ).packet.id
    first = [f"u:early-{i}" for i in range(4)]
    for v in first:
        grab_as(harness, ctx, shop, room_id, packet_id, v)

    fresh = MemoryCounters(namespace="restarted")  # a restart: in-process counters are empty
    container: Container = client.app.state.container  # type: ignore[attr-defined]
    assert harness.run(lambda: do_rebuild_red_packets(container.db, fresh)) == 1
    assert harness.run(lambda: fresh.get(left_key(packet_id))) == 6
    assert harness.run(lambda: do_rebuild_red_packets(container.db, fresh, only_missing=True)) == 0
    ctx2 = InteractionsContext(
        db=container.db, counters=fresh, cache=ModerationCache(), wall_clock=harness.wall
    )

    def grab(viewer: str) -> Coroutine[Any, Any, Grabbed]:
        return do_grab(
            ctx2,
            shop_id=shop.shop_id,
            room_id=room_id,
            packet_id=packet_id,
            viewer_id=viewer,
            nickname=viewer,
        )

    assert refusal(harness, lambda: grab(first[0])).code == "interactions.already_grabbed"
    for i in range(6):
        grab_as(harness, ctx2, shop, room_id, packet_id, f"u:late-{i}")
    assert refusal(harness, lambda: grab("u:too-late")).code == "interactions.red_packet_empty"
    rows = shares_in_sql(client, packet_id)
    assert all(r.viewer_id is not None for r in rows)
    assert sum(r.amount_cents for r in rows) == 1000


def test_rebuild_closes_the_gap_of_a_crashed_grab(
    client: TestClient, harness: Harness, shop: ShopKeys, room_id: int, owner: Principal
) -> None:
    """A grab took index 4 from the counters and died before SQL: after a rebuild every free share is
    handed out, and only once."""
    ctx = harness.context()
    packet_id = harness.run(
        lambda: do_send_red_packet(ctx, owner, room_id, total_cents=500, count=5)
    ).packet.id
    assert harness.run(lambda: harness.counters.decr_floor(left_key(packet_id), 1)) == 4  # the crashed grab
    for v in ("u:a", "u:b"):  # take indexes 3 and 2
        grab_as(harness, ctx, shop, room_id, packet_id, v)
    container: Container = client.app.state.container  # type: ignore[attr-defined]
    harness.run(lambda: do_rebuild_red_packets(container.db, harness.counters))
    assert harness.run(lambda: harness.counters.get(left_key(packet_id))) == 3
    for v in ("u:c", "u:d", "u:e"):
        grab_as(harness, ctx, shop, room_id, packet_id, v)
    rows = shares_in_sql(client, packet_id)
    assert sorted(r.viewer_id or "" for r in rows) == ["u:a", "u:b", "u:c", "u:d", "u:e"]
    assert sum(r.amount_cents for r in rows) == 500


def test_a_missing_counter_is_loaded_on_the_first_grab(
    harness: Harness, shop: ShopKeys, room_id: int, owner: Principal
) -> None:
    ctx = harness.context()
    packet_id = harness.run(
        lambda: do_send_red_packet(ctx, owner, room_id, total_cents=200, count=2)
    ).packet.id
    harness.run(lambda: harness.counters.delete(left_key(packet_id), grabbed_key(packet_id)))
    grabbed = harness.run(
        lambda: do_grab(
            ctx, shop_id=shop.shop_id, room_id=room_id, packet_id=packet_id, viewer_id="u:a", nickname="a"
        )
    )
    assert grabbed.amount_cents >= 1
    assert harness.run(lambda: harness.counters.get(left_key(packet_id))) == 1


# -- the API -------------------------------------------------------------------------------------


def viewer_token(client: TestClient, shop: ShopKeys, user_id: str, nickname: str = "") -> dict[str, str]:
    issued = created(
        client.post(
            "/api/v1/viewer-tokens", json={"user_id": user_id, "nickname": nickname}, headers=shop.headers()
        )
    )
    return {"Authorization": f"Bearer {issued['token']}"}


def test_api_send_list_read_grab(
    client: TestClient, shop: ShopKeys, other_shop: ShopKeys, room_id: int
) -> None:
    url = f"/api/v1/rooms/{room_id}/red-packets"
    packet = created(client.post(url, json={"total_cents": 888, "count": 3}, headers=shop.headers(Role.HOST)))
    assert (packet["state"], packet["grabbed_count"], packet["total_cents"]) == ("open", 0, 888)
    listed = client.get(url, headers=shop.headers(Role.MODERATOR)).json()
    assert [p["id"] for p in listed["items"]] == [packet["id"]]

    grab = f"/api/v1/viewer/red-packets/{packet['id']}/grab"
    alice = viewer_token(client, shop, "alice", "小爱")
    join(client, room_id, alice)
    got = client.post(grab, headers=alice)
    assert got.status_code == 200, got.text
    assert got.json()["nickname"] == "小爱"
    assert got.json()["amount_cents"] >= 1
    again = client.post(grab, headers=viewer_token(client, shop, "alice"))
    assert (again.status_code, again.json()["error"]["code"]) == (409, "interactions.already_grabbed")
    assert client.post(grab).status_code == 401
    assert client.post(grab, headers=shop.headers()).status_code == 401  # a staff key is not a viewer token
    foreign = client.post(grab, headers=viewer_token(client, other_shop, "mallory"))
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (
        404,
        "interactions.red_packet_not_found",
    )

    detail = client.get(f"/api/v1/red-packets/{packet['id']}", headers=shop.headers(Role.MODERATOR)).json()
    assert [(s["viewer_id"], s["nickname"]) for s in detail["shares"]] == [("u:alice", "小爱")]
    assert detail["grabbed_cents"] == got.json()["amount_cents"]


def test_api_refusals(client: TestClient, shop: ShopKeys, other_shop: ShopKeys, room_id: int) -> None:
    url = f"/api/v1/rooms/{room_id}/red-packets"
    small = client.post(url, json={"total_cents": 5, "count": 6}, headers=shop.headers())
    assert (small.status_code, small.json()["error"]["code"]) == (422, "interactions.red_packet_too_small")
    denied = client.post(url, json={"total_cents": 500, "count": 5}, headers=shop.headers(Role.MODERATOR))
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "auth.permission_denied")
    foreign = client.post(url, json={"total_cents": 500, "count": 5}, headers=other_shop.headers())
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (404, "rooms.room_not_found")
    assert client.get(url, headers=shop.headers()).json()["items"] == []
    packet = created(client.post(url, json={"total_cents": 500, "count": 5}, headers=shop.headers()))
    hidden = client.get(f"/api/v1/red-packets/{packet['id']}", headers=other_shop.headers())
    assert (hidden.status_code, hidden.json()["error"]["code"]) == (404, "interactions.red_packet_not_found")


def test_grab_counts_in_sql(client: TestClient, shop: ShopKeys, room_id: int) -> None:
    url = f"/api/v1/rooms/{room_id}/red-packets"
    packet = created(client.post(url, json={"total_cents": 100, "count": 100}, headers=shop.headers()))

    async def count(container: Container) -> int:
        async with container.db.read() as session:
            n = await session.scalar(
                select(func.count()).select_from(RedPacketRow).where(RedPacketRow.id == packet["id"])
            )
            return int(n or 0)

    assert run_in_app(client, count) == 1
    assert [r.amount_cents for r in shares_in_sql(client, packet["id"])] == [1] * 100


# -- events --------------------------------------------------------------------------------------

AT = datetime(2026, 12, 12, 20, 0, tzinfo=UTC)
RED_PACKET_EVENTS: list[EventData] = [
    RedPacketSent(packet_id=1, total_cents=888, count=8, opens_at=AT, expires_at=AT + timedelta(minutes=5)),
    RedPacketGrabbed(packet_id=1, viewer_id="u:alice", nickname="小爱", amount_cents=888),
    RedPacketFinished(
        packet_id=1,
        reason="expired",
        count=8,
        total_cents=888,
        grabbed_count=3,
        grabbed_cents=300,
        returned_cents=588,
    ),
]


@pytest.mark.parametrize("payload", RED_PACKET_EVENTS, ids=lambda p: f"{type(p).TYPE}")
def test_red_packet_events_round_trip(payload: EventData) -> None:
    assert EVENT_TYPES[type(payload).TYPE] is type(payload)
    event = make_event(payload, shop_id=1, room_id=2, show_id=3, actor="u:alice")
    wire = Event.model_validate_json(event.model_dump_json())
    assert EVENT_TYPES[wire.type].model_validate(wire.data) == payload


def test_red_packet_event_schemas_refuse_nonsense() -> None:
    with pytest.raises(ValidationError):
        RedPacketGrabbed(packet_id=1, viewer_id="u:alice", nickname="a", amount_cents=0)
    with pytest.raises(ValidationError):
        RedPacketSent(packet_id=1, total_cents=0, count=1, opens_at=AT, expires_at=AT)


def test_sql_has_the_last_word_when_the_counters_are_wrong(
    harness: Harness, shop: ShopKeys, room_id: int, owner: Principal
) -> None:
    """Counters that point at a claimed share, or forget a holder: refused, logged, nothing paid twice;
    the others grabbing at the same moment (written in the same batch) are not disturbed."""
    ctx = harness.context()
    packet_id = harness.run(
        lambda: do_send_red_packet(ctx, owner, room_id, total_cents=1000, count=10)
    ).packet.id
    grab_as(harness, ctx, shop, room_id, packet_id, "u:first")  # index 9
    harness.run(lambda: harness.counters.set(left_key(packet_id), 10))  # points at index 9 again
    taken = refusal(
        harness,
        lambda: do_grab(
            ctx, shop_id=shop.shop_id, room_id=room_id, packet_id=packet_id, viewer_id="u:x", nickname="x"
        ),
    )
    assert (taken.code, taken.status) == ("interactions.grab_failed", 409)
    assert harness.run(lambda: harness.counters.is_member(grabbed_key(packet_id), "u:x")) is False

    harness.run(
        lambda: harness.counters.remove_member(grabbed_key(packet_id), "u:first")
    )  # a forgotten holder

    async def together() -> list[Grabbed | LiveloopError]:
        async def one(viewer: str) -> Grabbed | LiveloopError:
            try:
                return await do_grab(
                    ctx,
                    shop_id=shop.shop_id,
                    room_id=room_id,
                    packet_id=packet_id,
                    viewer_id=viewer,
                    nickname=viewer,
                )
            except LiveloopError as exc:
                return exc

        return list(await asyncio.gather(*(one(v) for v in ("u:first", "u:x", "u:y"))))

    first, x, y = harness.run(together)
    assert isinstance(first, AlreadyGrabbed)
    assert isinstance(x, Grabbed)
    assert isinstance(y, Grabbed)
    rows = shares_in_sql(harness.client, packet_id)
    holders = [r.viewer_id for r in rows if r.viewer_id is not None]
    assert sorted(holders) == ["u:first", "u:x", "u:y"]
