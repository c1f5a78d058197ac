"""The grab path under a crowd larger than the connection pool: every call completes, none oversells.

The Redis adapter sends concurrent grabs together (one pipeline per batch). Here one client with a
single pooled connection, through a proxy adding 50 ms per request, serves 1,000 concurrent
reserves: one round trip per call would need 50 s, and the pool gives up on a waiting caller after
5 s (``ConnectionError: No connection available``).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from redis.asyncio import BlockingConnectionPool, Redis

from liveloop.adapters.redis import RedisCounters
from liveloop.core.counters import Counters, ReserveResult, ReserveStatus
from tests.contracts.conftest import drop_namespace

pytestmark = pytest.mark.anyio

STOCK, TAKEN = "sale:{b1}:stock", "sale:{b1}:taken"


async def _crowd(counters: Counters, grabs: int) -> list[ReserveResult]:
    async def grab(i: int) -> ReserveResult:
        member = f"u:{i % 400}"  # 400 members, most grab more than once: the limit races too
        if i % 3 == 0:
            await counters.peek_reserve(STOCK, TAKEN, member, quantity=1, limit=2)
        return await counters.reserve(STOCK, TAKEN, member, quantity=1, limit=2)

    return await asyncio.gather(*(grab(i) for i in range(grabs)))


def _check(results: list[ReserveResult], *, stock: int) -> None:
    statuses = Counter(result.status for result in results)
    assert statuses[ReserveStatus.ALLOWED] == stock
    assert statuses[ReserveStatus.UNLOADED] == 0
    assert all(result.remaining >= 0 and result.taken <= 2 for result in results)


async def test_1000_concurrent_reserves_on_one_slow_connection_all_complete(
    laggy_redis_url: str, namespace: str
) -> None:
    pool = BlockingConnectionPool.from_url(laggy_redis_url, max_connections=1, timeout=5.0)
    client = Redis.from_pool(pool)
    counters = RedisCounters(client, namespace=namespace)
    try:
        await counters.load_stock(STOCK, TAKEN, stock=300, taken={})
        started = time.perf_counter()
        results = await _crowd(counters, 1000)
        elapsed = time.perf_counter() - started
        _check(results, stock=300)
        assert await counters.get(STOCK) == 0
        taken = await counters.hget_all(TAKEN)
        assert sum(taken.values()) == 300
        assert max(taken.values()) <= 2
        assert elapsed < 5.0  # a few batches of 50 ms, not 1,000 (or 1,333) round trips
    finally:
        await counters.close()
        await drop_namespace(client, namespace)
        await client.aclose()


async def test_10000_concurrent_reserves_never_oversell(counters: Counters) -> None:
    """On the default pool (64 connections for Redis): far more callers than connections."""
    await counters.load_stock(STOCK, TAKEN, stock=500, taken={})
    results = await _crowd(counters, 10_000)
    _check(results, stock=500)
    assert await counters.get(STOCK) == 0


async def test_a_failing_call_fails_alone(counters: Counters) -> None:
    """A wrong kind of key is an error for its caller only; the calls batched with it go through."""
    await counters.load_stock(STOCK, TAKEN, stock=10, taken={})
    await counters.set("plain", 1)
    ok, bad = await asyncio.gather(
        counters.reserve(STOCK, TAKEN, "u:1", quantity=1, limit=1),
        counters.reserve(STOCK, "plain", "u:1", quantity=1, limit=1),
        return_exceptions=True,
    )
    assert ok == ReserveResult(ReserveStatus.ALLOWED, 9, 1)
    assert isinstance(bad, Exception)
    assert await counters.get(STOCK) == 9


async def test_a_flushed_script_cache_is_reloaded(adapter: str, counters: Counters) -> None:
    if adapter != "redis":
        pytest.skip("the script cache is Redis's")
    await counters.load_stock(STOCK, TAKEN, stock=5, taken={})
    redis: Redis = counters._redis  # type: ignore[attr-defined]
    await redis.script_flush()
    results = await asyncio.gather(
        *(counters.reserve(STOCK, TAKEN, f"u:{i}", quantity=1, limit=1) for i in range(8))
    )
    assert sum(result.allowed for result in results) == 5


async def test_a_cancelled_caller_does_not_disturb_the_others(counters: Counters) -> None:
    await counters.load_stock(STOCK, TAKEN, stock=100, taken={})
    tasks = [
        asyncio.ensure_future(counters.reserve(STOCK, TAKEN, f"u:{i}", quantity=1, limit=1))
        for i in range(50)
    ]
    await asyncio.sleep(0)
    tasks[0].cancel()
    done = await asyncio.gather(*tasks[1:])
    assert all(result.allowed for result in done)
    left = await counters.get(STOCK)
    assert left in (50, 51)  # the cancelled call may or may not have reached the server


async def test_a_crowd_of_joins_on_one_slow_connection_all_complete(
    laggy_redis_url: str, namespace: str
) -> None:
    """A room's join storm: per viewer a presence touch, a session start, a page view, a distinct
    visitor and a presence check, 600 viewers at once, on one pooled connection 50 ms away. One
    round trip per call would need 150 s, and waiting callers would give up after 5 s."""
    pool = BlockingConnectionPool.from_url(laggy_redis_url, max_connections=1, timeout=5.0)
    client = Redis.from_pool(pool)
    counters = RedisCounters(client, namespace=namespace)

    async def join(i: int) -> tuple[bool, bool]:
        viewer = f"v:{i % 500}"  # 100 viewers join twice: the second touch is no new arrival
        new = await counters.touch_presence("room:1:presence", viewer, ttl_seconds=60)
        await counters.set(f"session:{viewer}", 1_000 + i, ttl_seconds=600)
        await counters.incr("room:1:pv")
        await counters.add_distinct("room:1:uv", viewer)
        return new, await counters.is_present("room:1:presence", viewer)

    try:
        started = time.perf_counter()
        results = await asyncio.gather(*(join(i) for i in range(600)))
        elapsed = time.perf_counter() - started
        assert sum(new for new, _ in results) == 500
        assert all(present for _, present in results)
        assert await counters.count_presence("room:1:presence") == 500
        assert await counters.get("room:1:pv") == 600
        assert abs(await counters.count_distinct("room:1:uv") - 500) <= 15  # HyperLogLog: ~0.8% error
        assert await counters.get_many(["session:v:0", "session:v:499", "absent"]) in (
            [1_000, 1_499, 0],
            [1_500, 1_499, 0],
        )
        assert elapsed < 5.0  # a handful of batches of 50 ms per step, not 3,000 round trips
    finally:
        await counters.close()
        await drop_namespace(client, namespace)
        await client.aclose()
