"""The Counters grab (reserve / release / load_stock), against every adapter, plus a memory model."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liveloop.adapters.memory import MemoryCounters
from liveloop.core.counters import Counters, ReserveResult, ReserveStatus
from tests.contracts.conftest import FakeClock

pytestmark = pytest.mark.anyio

Advance = Callable[[float], Awaitable[None]]

STOCK, TAKEN = "sale:{s1}:stock", "sale:{s1}:taken"
OK, SOLD, OVER, UNLOADED = (
    ReserveStatus.ALLOWED,
    ReserveStatus.SOLD_OUT,
    ReserveStatus.OVER_LIMIT,
    ReserveStatus.UNLOADED,
)


async def test_reserve_takes_stock_and_counts_the_member(counters: Counters) -> None:
    await counters.load_stock(STOCK, TAKEN, stock=5, taken={})
    assert await counters.reserve(STOCK, TAKEN, "u:1", quantity=2, limit=3) == ReserveResult(OK, 3, 2)
    assert await counters.reserve(STOCK, TAKEN, "u:1", quantity=2, limit=3) == ReserveResult(OVER, 3, 2)
    assert await counters.reserve(STOCK, TAKEN, "u:1", quantity=1, limit=3) == ReserveResult(OK, 2, 3)
    assert await counters.reserve(STOCK, TAKEN, "u:2", quantity=3, limit=3) == ReserveResult(SOLD, 2, 0)
    assert await counters.reserve(STOCK, TAKEN, "u:2", quantity=2, limit=3) == ReserveResult(OK, 0, 2)
    assert await counters.reserve(STOCK, TAKEN, "u:3", quantity=1, limit=3) == ReserveResult(SOLD, 0, 0)
    assert await counters.get(STOCK) == 0


async def test_an_absent_stock_is_unloaded_never_sold_out(counters: Counters) -> None:
    assert await counters.reserve(STOCK, TAKEN, "u:1", quantity=1, limit=1) == ReserveResult(UNLOADED, 0, 0)
    assert await counters.release(STOCK, TAKEN, "u:1", quantity=1) is None
    assert await counters.get(STOCK) == 0  # release wrote nothing: a half cache would undersell
    assert await counters.reserve(STOCK, None, "u:1", quantity=1, limit=None) == ReserveResult(UNLOADED, 0, 0)


async def test_release_gives_back_stock_and_the_members_units(counters: Counters) -> None:
    await counters.load_stock(STOCK, TAKEN, stock=2, taken={})
    assert (await counters.reserve(STOCK, TAKEN, "u:1", quantity=2, limit=2)).allowed
    assert await counters.release(STOCK, TAKEN, "u:1", quantity=1) == 1
    assert await counters.reserve(STOCK, TAKEN, "u:1", quantity=1, limit=2) == ReserveResult(OK, 0, 2)
    assert await counters.release(STOCK, TAKEN, "u:1", quantity=2) == 2
    assert await counters.reserve(STOCK, TAKEN, "u:1", quantity=2, limit=2) == ReserveResult(OK, 0, 2)


async def test_without_a_taken_key_there_is_no_member_limit(counters: Counters) -> None:
    product = "p:{7}:stock"
    await counters.load_stock(product, None, stock=3, taken={})
    assert await counters.reserve(product, None, "u:1", quantity=2, limit=None) == ReserveResult(OK, 1, 0)
    assert await counters.reserve(product, None, "u:1", quantity=2, limit=None) == ReserveResult(SOLD, 1, 0)
    assert await counters.release(product, None, "u:1", quantity=2) == 3


async def test_load_stock_replaces_or_loads_only_when_absent(counters: Counters) -> None:
    assert await counters.load_stock(STOCK, TAKEN, stock=4, taken={"u:1": 2, "u:2": 0}, replace=False)
    assert await counters.reserve(STOCK, TAKEN, "u:1", quantity=1, limit=2) == ReserveResult(OVER, 4, 2)
    assert await counters.reserve(STOCK, TAKEN, "u:2", quantity=2, limit=2) == ReserveResult(OK, 2, 2)
    assert not await counters.load_stock(STOCK, TAKEN, stock=99, taken={}, replace=False)
    assert await counters.get(STOCK) == 2
    assert await counters.load_stock(STOCK, TAKEN, stock=10, taken={"u:3": 1})
    assert await counters.reserve(STOCK, TAKEN, "u:1", quantity=2, limit=2) == ReserveResult(OK, 8, 2)
    assert await counters.reserve(STOCK, TAKEN, "u:3", quantity=2, limit=2) == ReserveResult(OVER, 8, 1)


async def test_loaded_keys_expire_together(counters: Counters, advance: Advance) -> None:
    await counters.load_stock(STOCK, TAKEN, stock=3, taken={"u:1": 1}, ttl_seconds=0.3)
    assert (await counters.reserve(STOCK, TAKEN, "u:2", quantity=1, limit=1)).allowed
    await advance(0.4)
    assert (await counters.reserve(STOCK, TAKEN, "u:2", quantity=1, limit=1)).status is UNLOADED
    await counters.load_stock(STOCK, TAKEN, stock=3, taken={}, replace=False)
    assert (await counters.reserve(STOCK, TAKEN, "u:1", quantity=1, limit=1)).allowed


async def test_peek_answers_like_reserve_and_changes_nothing(counters: Counters) -> None:
    assert await counters.peek_reserve(STOCK, TAKEN, "u:1", quantity=1, limit=2) == ReserveResult(
        UNLOADED, 0, 0
    )
    await counters.load_stock(STOCK, TAKEN, stock=2, taken={"u:1": 2})
    assert await counters.peek_reserve(STOCK, TAKEN, "u:1", quantity=1, limit=2) == ReserveResult(OVER, 2, 2)
    assert await counters.peek_reserve(STOCK, TAKEN, "u:2", quantity=3, limit=3) == ReserveResult(SOLD, 2, 0)
    for _ in range(3):  # "possible", as often as asked: nothing is taken
        assert await counters.peek_reserve(STOCK, TAKEN, "u:2", quantity=2, limit=2) == ReserveResult(
            OK, 2, 0
        )
    assert await counters.reserve(STOCK, TAKEN, "u:2", quantity=2, limit=2) == ReserveResult(OK, 0, 2)
    assert await counters.peek_reserve(STOCK, TAKEN, "u:3", quantity=1, limit=2) == ReserveResult(SOLD, 0, 0)
    assert await counters.peek_reserve(STOCK, TAKEN, "u:2", quantity=1, limit=2) == ReserveResult(OVER, 0, 2)
    assert await counters.get(STOCK) == 0
    assert await counters.hget_all(TAKEN) == {"u:1": 2, "u:2": 2}
    with pytest.raises(ValueError, match="limit"):
        await counters.peek_reserve(STOCK, None, "u:1", quantity=1, limit=2)


async def test_reserve_rejects_nonsense(counters: Counters) -> None:
    await counters.load_stock(STOCK, TAKEN, stock=3, taken={})
    with pytest.raises(ValueError, match="quantity"):
        await counters.reserve(STOCK, TAKEN, "u:1", quantity=0, limit=1)
    with pytest.raises(ValueError, match="limit"):
        await counters.reserve(STOCK, TAKEN, "u:1", quantity=1, limit=0)
    with pytest.raises(ValueError, match="limit"):
        await counters.reserve(STOCK, None, "u:1", quantity=1, limit=2)
    with pytest.raises(ValueError, match="quantity"):
        await counters.release(STOCK, TAKEN, "u:1", quantity=-1)
    assert await counters.get(STOCK) == 3


async def test_1000_concurrent_grabs_never_oversell_nor_pass_the_limit(counters: Counters) -> None:
    """1,000 concurrent reserves by 300 members, 1-2 units each, on stock 100 with a limit of 2."""
    await counters.load_stock(STOCK, TAKEN, stock=100, taken={})
    rng = random.Random(7)
    grabs = [(f"u:{rng.randrange(300)}", rng.choice((1, 1, 2))) for _ in range(1000)]

    async def grab(member: str, quantity: int) -> tuple[str, int, ReserveResult]:
        return member, quantity, await counters.reserve(STOCK, TAKEN, member, quantity=quantity, limit=2)

    results = await asyncio.gather(*(grab(m, q) for m, q in grabs))
    per_member: Counter[str] = Counter()
    for member, quantity, result in results:
        assert result.remaining >= 0
        assert result.taken <= 2
        if result.allowed:
            per_member[member] += quantity
    assert sum(per_member.values()) == 100
    assert max(per_member.values()) <= 2
    assert await counters.get(STOCK) == 0
    statuses = Counter(result.status for _, _, result in results)
    assert statuses[SOLD] > 0
    assert statuses[OVER] > 0
    assert statuses[UNLOADED] == 0


_OPS = st.lists(
    st.tuples(
        st.sampled_from(["reserve", "reserve", "release", "reload"]),
        st.sampled_from(["u:a", "u:b", "u:c"]),
        st.integers(1, 3),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(stock=st.integers(0, 12), limit=st.integers(1, 4), ops=_OPS)
async def test_reserve_matches_a_model(stock: int, limit: int, ops: list[tuple[str, str, int]]) -> None:
    """Against a plain model: stock never negative, nobody over the limit, releases undo exactly."""
    counters = MemoryCounters(clock=FakeClock())
    left, taken = stock, Counter[str]()
    await counters.load_stock(STOCK, TAKEN, stock=left, taken={})
    for op, member, quantity in ops:
        if op == "reserve":
            result = await counters.reserve(STOCK, TAKEN, member, quantity=quantity, limit=limit)
            if taken[member] + quantity > limit:
                assert result == ReserveResult(OVER, left, taken[member])
            elif left < quantity:
                assert result == ReserveResult(SOLD, left, taken[member])
            else:
                left, taken[member] = left - quantity, taken[member] + quantity
                assert result == ReserveResult(OK, left, taken[member])
        elif op == "release" and taken[member] >= quantity:
            left, taken[member] = left + quantity, taken[member] - quantity
            assert await counters.release(STOCK, TAKEN, member, quantity=quantity) == left
        elif op == "reload":  # a rebuild from the truth changes nothing observable
            assert await counters.load_stock(STOCK, TAKEN, stock=left, taken=dict(taken))
        assert left >= 0
        assert all(0 <= units <= limit for units in taken.values())
        assert left + sum(taken.values()) == stock
    assert await counters.get(STOCK) == left
