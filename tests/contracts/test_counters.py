"""The Counters contract, run against every adapter (see conftest), plus memory-only properties."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from liveloop.adapters.memory import MemoryCounters
from liveloop.core.counters import Counters

pytestmark = pytest.mark.anyio

Advance = Callable[[float], Awaitable[None]]


async def test_incr_get_and_absent_keys(counters: Counters) -> None:
    assert await counters.get("views") == 0
    assert await counters.incr("views") == 1
    assert await counters.incr("views", 5) == 6
    assert await counters.incr("views", -2) == 4
    assert await counters.get_many(["views", "nothing", "views"]) == [4, 0, 4]
    assert await counters.get_many([]) == []


async def test_incr_ttl_is_set_on_creation_only(counters: Counters, advance: Advance) -> None:
    assert await counters.incr("k", ttl_seconds=0.4) == 1
    await advance(0.2)
    assert await counters.incr("k", ttl_seconds=0.4) == 2
    await advance(0.3)
    assert await counters.get("k") == 0
    assert await counters.incr("k") == 1


async def test_set_delete_and_expire(counters: Counters, advance: Advance) -> None:
    await counters.set("a", 7)
    await counters.set("b", 9, ttl_seconds=0.3)
    assert await counters.get_many(["a", "b"]) == [7, 9]
    assert await counters.expire("missing", 1.0) is False
    assert await counters.expire("a", 0.3) is True
    await advance(0.4)
    assert await counters.get_many(["a", "b"]) == [0, 0]
    await counters.set("a", 1, ttl_seconds=0.2)
    await counters.set("a", 2)  # a plain set drops the old ttl
    await counters.set("c", 3)
    await advance(0.3)
    assert await counters.get("a") == 2
    await counters.delete("a", "c", "never-existed")
    await counters.delete()
    assert await counters.get_many(["a", "c"]) == [0, 0]


async def test_ttl_must_be_positive(counters: Counters) -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        await counters.incr("k", ttl_seconds=0)
    with pytest.raises(ValueError, match="ttl_seconds"):
        await counters.touch_presence("p", "m", ttl_seconds=-1)


async def test_decr_floor_only_decrements_down_to_floor(counters: Counters) -> None:
    await counters.set("stock", 3)
    assert await counters.decr_floor("stock", 2) == 1
    assert await counters.decr_floor("stock", 2) is None
    assert await counters.get("stock") == 1
    assert await counters.decr_floor("stock") == 0
    assert await counters.decr_floor("stock") is None
    assert await counters.decr_floor("absent") is None
    assert await counters.get("absent") == 0
    assert await counters.decr_floor("credit", 4, floor=-5) == -4
    assert await counters.decr_floor("credit", 2, floor=-5) is None
    assert await counters.get("credit") == -4


async def test_decr_floor_keeps_the_ttl(counters: Counters, advance: Advance) -> None:
    await counters.set("stock", 10, ttl_seconds=0.3)
    assert await counters.decr_floor("stock", 4) == 6
    await advance(0.4)
    assert await counters.get("stock") == 0


async def test_concurrent_decr_floor_never_oversells(counters: Counters) -> None:
    await counters.set("stock", 100)
    results = await asyncio.gather(*(counters.decr_floor("stock") for _ in range(500)))
    sold = [value for value in results if value is not None]
    assert len(sold) == 100
    assert sorted(sold) == list(range(100))
    assert await counters.get("stock") == 0


async def test_member_sets(counters: Counters, advance: Advance) -> None:
    assert await counters.add_member("buyers", "u1") is True
    assert await counters.add_member("buyers", "u1") is False
    assert await counters.add_member("buyers", "u2") is True
    assert await counters.is_member("buyers", "u1") is True
    assert await counters.is_member("buyers", "u3") is False
    assert await counters.count_members("buyers") == 2
    assert await counters.remove_member("buyers", "u1") is True
    assert await counters.remove_member("buyers", "u1") is False
    assert await counters.count_members("buyers") == 1
    assert await counters.count_members("nobody") == 0
    assert await counters.add_member("temp", "x", ttl_seconds=0.4) is True
    await advance(0.2)
    assert await counters.add_member("temp", "y", ttl_seconds=0.4) is True
    await advance(0.3)
    assert await counters.count_members("temp") == 0


async def test_concurrent_add_member_admits_each_member_once(counters: Counters) -> None:
    results = await asyncio.gather(*(counters.add_member("seen", f"u{i % 50}") for i in range(200)))
    assert results.count(True) == 50
    assert await counters.count_members("seen") == 50


async def test_distinct_counts_are_close(counters: Counters) -> None:
    assert await counters.count_distinct("uv") == 0
    await counters.add_distinct("uv")
    assert await counters.count_distinct("uv") == 0
    for start in range(0, 2000, 250):
        # Every id twice: duplicates must not count.
        ids = [f"viewer-{i}" for i in range(start, start + 250)]
        await counters.add_distinct("uv", *ids, *ids)
    assert abs(await counters.count_distinct("uv") - 2000) <= 2000 * 0.02


async def test_rate_limit_burst_then_refill(counters: Counters, advance: Advance) -> None:
    decisions = [await counters.rate_limit("chat:u1", rate_per_second=10, burst=5) for _ in range(5)]
    assert all(decision.allowed for decision in decisions)
    assert [decision.remaining for decision in decisions] == [4, 3, 2, 1, 0]
    assert all(decision.retry_after_seconds == 0.0 for decision in decisions)
    denied = await counters.rate_limit("chat:u1", rate_per_second=10, burst=5)
    assert not denied.allowed
    assert denied.remaining == 0
    assert 0 < denied.retry_after_seconds <= 0.1 + 1e-6
    big = await counters.rate_limit("chat:u1", rate_per_second=10, burst=5, cost=3)
    assert not big.allowed
    assert 0.2 < big.retry_after_seconds <= 0.3 + 1e-6
    await advance(0.25)
    assert (await counters.rate_limit("chat:u1", rate_per_second=10, burst=5)).allowed
    assert (await counters.rate_limit("chat:u1", rate_per_second=10, burst=5)).allowed
    other = await counters.rate_limit("chat:u2", rate_per_second=10, burst=5, cost=5)
    assert other.allowed
    assert other.remaining == 0


async def test_rate_limit_bucket_expires_when_full_again(
    counters: Counters, advance: Advance, redis_client: Redis | None, namespace: str
) -> None:
    first = await counters.rate_limit("ip", rate_per_second=20, burst=4, cost=2)
    assert first.allowed
    if redis_client is not None:
        assert 0 < await redis_client.pttl(f"{namespace}:ip") <= 100
    await advance(0.15)
    full = await counters.rate_limit("ip", rate_per_second=20, burst=4, cost=4)
    assert full.allowed


async def test_rate_limit_rejects_impossible_requests(counters: Counters) -> None:
    with pytest.raises(ValueError, match="cost"):
        await counters.rate_limit("k", rate_per_second=1, burst=2, cost=3)
    with pytest.raises(ValueError, match="rate_per_second"):
        await counters.rate_limit("k", rate_per_second=0, burst=2)


async def test_presence_arrivals_and_explicit_leaves(counters: Counters) -> None:
    assert await counters.touch_presence("room", "alice", ttl_seconds=30) is True
    assert await counters.touch_presence("room", "alice", ttl_seconds=30) is False
    assert await counters.touch_presence("room", "bob", ttl_seconds=30) is True
    assert await counters.count_presence("room") == 2
    assert await counters.remove_presence("room", "alice") is True
    assert await counters.remove_presence("room", "alice") is False
    assert await counters.count_presence("room") == 1
    assert await counters.count_presence("empty") == 0
    assert await counters.is_present("room", "bob") is True
    assert await counters.is_present("room", "alice") is False
    assert await counters.is_present("empty", "bob") is False
    assert await counters.sweep_presence("empty") == []


async def test_presence_expiry_and_sweep(counters: Counters, advance: Advance) -> None:
    await counters.touch_presence("room", "alice", ttl_seconds=0.2)
    await counters.touch_presence("room", "bob", ttl_seconds=0.3)
    await counters.touch_presence("room", "carol", ttl_seconds=30)
    await advance(0.4)
    assert await counters.count_presence("room") == 1
    assert await counters.is_present("room", "bob") is False  # lapsed, even before a sweep
    assert await counters.is_present("room", "carol") is True
    # Lapsed but not yet swept: a heartbeat refreshes alice without a new arrival.
    assert await counters.touch_presence("room", "alice", ttl_seconds=30) is False
    swept = await asyncio.gather(*(counters.sweep_presence("room") for _ in range(3)))
    assert sorted(member for batch in swept for member in batch) == ["bob"]
    assert await counters.sweep_presence("room") == []
    assert await counters.count_presence("room") == 2
    assert await counters.touch_presence("room", "bob", ttl_seconds=30) is True


async def test_one_kind_per_key(counters: Counters) -> None:
    await counters.add_member("k", "x")
    with pytest.raises((TypeError, ResponseError)):
        await counters.incr("k")


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


_STOCK_OPS = st.lists(
    st.tuples(st.sampled_from(["incr", "decr_floor"]), st.integers(min_value=0, max_value=10)), max_size=60
)


@settings(max_examples=200, deadline=None)
@given(floor=st.integers(-10, 10), start=st.integers(0, 20), ops=_STOCK_OPS)
async def test_decr_floor_matches_a_model(floor: int, start: int, ops: list[tuple[str, int]]) -> None:
    counters = MemoryCounters(clock=_Clock())
    model = floor + start
    await counters.set("stock", model)
    for op, amount in ops:
        if op == "incr":
            model += amount
            assert await counters.incr("stock", amount) == model
        elif model - amount >= floor:
            model -= amount
            assert await counters.decr_floor("stock", amount, floor=floor) == model
        else:
            assert await counters.decr_floor("stock", amount, floor=floor) is None
        assert await counters.get("stock") == model >= floor


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(st.tuples(st.floats(0, 2, allow_nan=False), st.integers(1, 5)), max_size=40),
)
async def test_token_bucket_never_exceeds_its_budget(steps: list[tuple[float, int]]) -> None:
    clock = _Clock()
    counters = MemoryCounters(clock=clock)
    spent = 0
    for wait, cost in steps:
        clock.now += wait
        decision = await counters.rate_limit("b", rate_per_second=2.5, burst=5, cost=cost)
        if decision.allowed:
            spent += cost
        else:
            assert decision.retry_after_seconds > 0
            clock.now += decision.retry_after_seconds + 1e-9
            assert (await counters.rate_limit("b", rate_per_second=2.5, burst=5, cost=cost)).allowed
            spent += cost
        assert spent <= 5 + 2.5 * clock.now + 1e-9


_PRESENCE_OPS = st.lists(
    st.tuples(
        st.sampled_from(["touch", "remove", "sweep", "wait"]), st.sampled_from("abcd"), st.floats(0, 3)
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(ops=_PRESENCE_OPS)
async def test_every_arrival_leaves_exactly_once(ops: list[tuple[str, str, float]]) -> None:
    clock = _Clock()
    counters = MemoryCounters(clock=clock)
    arrivals = leaves = 0
    for op, member, amount in ops:
        if op == "touch":
            arrivals += await counters.touch_presence("room", member, ttl_seconds=amount + 0.1)
        elif op == "remove":
            leaves += await counters.remove_presence("room", member)
        elif op == "sweep":
            leaves += len(await counters.sweep_presence("room"))
        else:
            clock.now += amount / 3
    # Past every member's expiry, and (at most 40 waits of 1 s) still within the key's 60 s grace.
    clock.now += 4
    leaves += len(await counters.sweep_presence("room"))
    assert arrivals == leaves
