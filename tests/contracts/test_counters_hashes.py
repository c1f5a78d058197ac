"""The Counters batch operations (integer hashes, distinct sets by the batch), against every adapter."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.exceptions import ResponseError

from liveloop.adapters.memory import MemoryCounters
from liveloop.core.counters import Counters
from tests.contracts.conftest import FakeClock

pytestmark = pytest.mark.anyio

Advance = Callable[[float], Awaitable[None]]
WRONG_KIND = (TypeError, ResponseError)


async def test_hincr_many_adds_and_returns_new_values_in_order(counters: Counters) -> None:
    assert await counters.hget_all("h") == {}
    assert await counters.hincr_many("h", {"a": 2, "b": -3, "c": 0}) == [2, -3, 0]
    assert await counters.hincr_many("h", {"c": 5, "a": 1}) == [5, 3]
    assert await counters.hget_all("h") == {"a": 3, "b": -3, "c": 5}
    assert await counters.hincr_many("h", {}) == []
    assert await counters.hincr_many("empty", {}) == []
    assert await counters.hget_all("empty") == {}  # an empty call creates nothing


async def test_hincr_many_ttl_is_set_on_creation_only(counters: Counters, advance: Advance) -> None:
    await counters.hincr_many("h", {"a": 1}, ttl_seconds=0.4)
    await advance(0.2)
    assert await counters.hincr_many("h", {"a": 1}, ttl_seconds=0.4) == [2]
    await advance(0.3)
    assert await counters.hget_all("h") == {}
    assert await counters.hincr_many("h", {"a": 1}) == [1]
    with pytest.raises(ValueError, match="ttl_seconds"):
        await counters.hincr_many("h", {"a": 1}, ttl_seconds=0)


async def test_hmax_many_keeps_the_larger_value(counters: Counters, advance: Advance) -> None:
    await counters.hmax_many("m", {"low": -5, "peak": 10}, ttl_seconds=0.4)
    assert await counters.hget_all("m") == {"low": -5, "peak": 10}  # absent fields take the value
    await counters.hmax_many("m", {"low": -7, "peak": 12, "new": 0})
    assert await counters.hget_all("m") == {"low": -5, "peak": 12, "new": 0}
    await counters.hmax_many("m", {"peak": 2**53})
    assert (await counters.hget_all("m"))["peak"] == 2**53
    await counters.hmax_many("m", {})
    await advance(0.5)  # the ttl came with the creating call
    assert await counters.hget_all("m") == {}


async def test_hash_fields_mix_increments_and_maxima(counters: Counters) -> None:
    await counters.hincr_many("h", {"ccu": 3})
    await counters.hmax_many("h", {"ccu": 2, "pcu": 3})
    assert await counters.hincr_many("h", {"ccu": -1}) == [2]
    assert await counters.hget_all("h") == {"ccu": 2, "pcu": 3}


async def test_reserve_units_read_as_an_integer_hash(counters: Counters) -> None:
    await counters.load_stock("stock", "taken", stock=5, taken={"u:1": 2})
    await counters.reserve("stock", "taken", "u:2", quantity=1, limit=None)
    assert await counters.hget_all("taken") == {"u:1": 2, "u:2": 1}


async def test_concurrent_hash_updates_lose_nothing(counters: Counters) -> None:
    values = random.Random(7).sample(range(-1000, 1000), 200)
    await asyncio.gather(
        *(counters.hincr_many("h", {"sum": v, "calls": 1}) for v in values),
        *(counters.hmax_many("h", {"max": v}) for v in values),
    )
    assert await counters.hget_all("h") == {"sum": sum(values), "calls": 200, "max": max(values)}


async def test_distinct_by_the_batch(counters: Counters, advance: Advance) -> None:
    await counters.add_distinct_many({"a": ["x", "y"], "b": ["x"], "none": []}, ttl_seconds=0.4)
    await counters.add_distinct_many({"a": {"y", "z"}, "b": ("x", "x")})
    assert await counters.count_distinct_many(["a", "b", "none", "a"]) == [3, 1, 0, 3]
    assert await counters.count_distinct_many([]) == []
    await counters.add_distinct("a", "w")  # single and batch calls share the key
    assert await counters.count_distinct("a") == 4
    await counters.add_distinct_many({})
    await advance(0.5)
    assert await counters.count_distinct_many(["a", "b"]) == [0, 0]


async def test_distinct_batch_of_many_members(counters: Counters) -> None:
    members = [f"u:{i}" for i in range(5000)]
    await counters.add_distinct_many({"big": members, "small": members[:3]})
    big, small = await counters.count_distinct_many(["big", "small"])
    assert abs(big - 5000) <= 5000 * 0.03  # HyperLogLog on Redis: ~0.81% standard error
    assert small == 3


async def test_batch_operations_check_the_kind(counters: Counters) -> None:
    await counters.incr("counter")
    await counters.add_distinct("distinct", "x")
    with pytest.raises(WRONG_KIND):
        await counters.hincr_many("counter", {"a": 1})
    with pytest.raises(WRONG_KIND):
        await counters.hmax_many("distinct", {"a": 1})
    await counters.hincr_many("hash", {"a": 1})
    with pytest.raises(WRONG_KIND):
        await counters.add_distinct_many({"fresh": ["x"], "hash": ["y"]})
    assert await counters.count_distinct("fresh") == 0  # a wrong kind anywhere changes nothing
    assert await counters.hget_all("hash") == {"a": 1}


_HASH_OPS = st.lists(
    st.tuples(
        st.sampled_from(["incr", "max"]),
        st.dictionaries(st.sampled_from("abcd"), st.integers(-(2**40), 2**40), max_size=4),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(ops=_HASH_OPS)
async def test_integer_hash_matches_a_model(ops: list[tuple[str, dict[str, int]]]) -> None:
    counters = MemoryCounters(clock=FakeClock())
    model: dict[str, int] = {}
    for op, fields in ops:
        if op == "incr":
            for field, amount in fields.items():
                model[field] = model.get(field, 0) + amount
            assert await counters.hincr_many("h", fields) == [model[f] for f in fields]
        else:
            for field, value in fields.items():
                model[field] = max(model.get(field, value), value)
            await counters.hmax_many("h", fields)
        assert await counters.hget_all("h") == model
