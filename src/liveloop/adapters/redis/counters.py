"""Redis Counters: single commands where they suffice, otherwise one Lua script per operation
(:mod:`liveloop.adapters.redis.scripts`).

Every single-key call goes through a :class:`~liveloop.adapters.redis.batch.ScriptBatcher`: the
concurrent calls of a crowd (grabs; joins and heartbeats with their presence touches and session
counters) share pipelines instead of a round trip (and a pooled connection) each. Multi-key reads
and transactions use redis-py directly.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from redis.asyncio import Redis

from liveloop.adapters.redis import scripts
from liveloop.adapters.redis.batch import ScriptBatcher
from liveloop.core.counters import (
    Counters,
    RateDecision,
    ReserveResult,
    ReserveStatus,
    check_rate,
    check_reserve,
    check_ttl,
)

__all__ = ["RedisCounters"]

#: How long a presence key outlives its latest member expiry (mirrors the memory adapter).
PRESENCE_GRACE_MS = 60_000


def _ms(ttl_seconds: float) -> int:
    return max(1, round(check_ttl(ttl_seconds) * 1000))


_RESERVE_STATUS = (
    ReserveStatus.ALLOWED,
    ReserveStatus.SOLD_OUT,
    ReserveStatus.OVER_LIMIT,
    ReserveStatus.UNLOADED,
)


class RedisCounters(Counters):
    """Counters on a shared Redis client; every key is ``f"{namespace}:{key}"``. Does not own ``redis``."""

    def __init__(self, redis: Redis, *, namespace: str = "liveloop") -> None:
        self._redis = redis
        self._prefix = f"{namespace}:"
        self._batch = ScriptBatcher(redis)
        self._incr_new_ttl = redis.register_script(scripts.INCR_NEW_TTL)
        self._decr_floor = redis.register_script(scripts.DECR_FLOOR)
        self._sadd_new_ttl = redis.register_script(scripts.SADD_NEW_TTL)
        self._bucket_take = redis.register_script(scripts.BUCKET_TAKE)
        self._touch_presence = redis.register_script(scripts.TOUCH_PRESENCE)
        self._count_presence = redis.register_script(scripts.COUNT_PRESENCE)
        self._sweep_presence = redis.register_script(scripts.SWEEP_PRESENCE)
        self._is_present = redis.register_script(scripts.IS_PRESENT)
        self._reserve = redis.register_script(scripts.RESERVE)
        self._peek_reserve = redis.register_script(scripts.PEEK_RESERVE)
        self._release = redis.register_script(scripts.RELEASE)
        self._load_stock = redis.register_script(scripts.LOAD_STOCK)
        self._hincr_many = redis.register_script(scripts.HINCR_MANY)
        self._hmax_many = redis.register_script(scripts.HMAX_MANY)
        self._pfadd_many = redis.register_script(scripts.PFADD_MANY)

    def _stock_keys(self, stock_key: str, taken_key: str | None) -> list[str]:
        keys = [self._prefix + stock_key]
        return keys if taken_key is None else [*keys, self._prefix + taken_key]

    async def incr(self, key: str, amount: int = 1, *, ttl_seconds: float | None = None) -> int:
        k = self._prefix + key
        if ttl_seconds is None:
            return int(await self._batch.command("INCRBY", k, amount))
        return int(await self._batch.call(self._incr_new_ttl, [k], [amount, _ms(ttl_seconds)]))

    async def get(self, key: str) -> int:
        raw = await self._batch.command("GET", self._prefix + key)
        return 0 if raw is None else int(raw)

    async def get_many(self, keys: Sequence[str]) -> list[int]:
        if not keys:
            return []
        raws = await self._batch.command("MGET", *(self._prefix + key for key in keys))
        return [0 if raw is None else int(raw) for raw in raws]

    async def set(self, key: str, value: int, *, ttl_seconds: float | None = None) -> None:
        if ttl_seconds is None:
            await self._batch.command("SET", self._prefix + key, int(value))
        else:
            await self._batch.command("SET", self._prefix + key, int(value), "PX", _ms(ttl_seconds))

    async def delete(self, *keys: str) -> None:
        if keys:
            await self._batch.command("DEL", *(self._prefix + key for key in keys))

    async def expire(self, key: str, ttl_seconds: float) -> bool:
        return bool(await self._batch.command("PEXPIRE", self._prefix + key, _ms(ttl_seconds)))

    async def decr_floor(self, key: str, amount: int = 1, *, floor: int = 0) -> int | None:
        result = await self._batch.call(self._decr_floor, [self._prefix + key], [amount, floor])
        return None if result is None else int(result)

    async def add_member(self, key: str, member: str, *, ttl_seconds: float | None = None) -> bool:
        k = self._prefix + key
        if ttl_seconds is None:
            return bool(await self._batch.command("SADD", k, member))
        return bool(await self._batch.call(self._sadd_new_ttl, [k], [member, _ms(ttl_seconds)]))

    async def remove_member(self, key: str, member: str) -> bool:
        return bool(await self._batch.command("SREM", self._prefix + key, member))

    async def is_member(self, key: str, member: str) -> bool:
        return bool(await self._batch.command("SISMEMBER", self._prefix + key, member))

    async def count_members(self, key: str) -> int:
        return int(await self._batch.command("SCARD", self._prefix + key))

    async def add_distinct(self, key: str, *members: str) -> None:
        if members:
            await self._batch.command("PFADD", self._prefix + key, *members)

    async def count_distinct(self, key: str) -> int:
        return int(await self._batch.command("PFCOUNT", self._prefix + key))

    async def add_distinct_many(
        self, members: Mapping[str, Collection[str]], *, ttl_seconds: float | None = None
    ) -> None:
        ttl_ms = 0 if ttl_seconds is None else _ms(ttl_seconds)
        keys: list[str] = []
        args: list[str | int] = [ttl_ms]
        for key, values in members.items():
            if values:
                keys.append(self._prefix + key)
                args.append(len(values))
                args.extend(values)
        if keys:
            await self._pfadd_many(keys=keys, args=args)

    async def count_distinct_many(self, keys: Sequence[str]) -> list[int]:
        if not keys:
            return []
        async with self._redis.pipeline(transaction=True) as pipe:
            for key in keys:
                pipe.pfcount(self._prefix + key)
            return [int(count) for count in await pipe.execute()]

    async def hincr_many(
        self, key: str, amounts: Mapping[str, int], *, ttl_seconds: float | None = None
    ) -> list[int]:
        ttl_ms = 0 if ttl_seconds is None else _ms(ttl_seconds)
        if not amounts:
            return []
        args: list[str | int] = [ttl_ms]
        for field, amount in amounts.items():
            args += [field, int(amount)]
        return [int(value) for value in await self._hincr_many(keys=[self._prefix + key], args=args)]

    async def hmax_many(
        self, key: str, values: Mapping[str, int], *, ttl_seconds: float | None = None
    ) -> None:
        ttl_ms = 0 if ttl_seconds is None else _ms(ttl_seconds)
        if not values:
            return
        args: list[str | int] = [ttl_ms]
        for field, value in values.items():
            args += [field, int(value)]
        await self._hmax_many(keys=[self._prefix + key], args=args)

    async def hget_all(self, key: str) -> dict[str, int]:
        raw = await self._redis.hgetall(self._prefix + key)
        return {(f.decode() if isinstance(f, bytes) else f): int(value) for f, value in raw.items()}

    async def rate_limit(
        self, key: str, *, rate_per_second: float, burst: int, cost: int = 1
    ) -> RateDecision:
        check_rate(rate_per_second=rate_per_second, burst=burst, cost=cost)
        allowed, remaining, retry_after = await self._batch.call(
            self._bucket_take, [self._prefix + key], [repr(float(rate_per_second)), burst, cost]
        )
        return RateDecision(
            allowed=bool(allowed), remaining=int(remaining), retry_after_seconds=float(retry_after)
        )

    async def touch_presence(self, key: str, member: str, *, ttl_seconds: float) -> bool:
        args: list[str | int] = [member, _ms(ttl_seconds), PRESENCE_GRACE_MS]
        return bool(await self._batch.call(self._touch_presence, [self._prefix + key], args))

    async def remove_presence(self, key: str, member: str) -> bool:
        return bool(await self._batch.command("ZREM", self._prefix + key, member))

    async def count_presence(self, key: str) -> int:
        return int(await self._batch.call(self._count_presence, [self._prefix + key], []))

    async def is_present(self, key: str, member: str) -> bool:
        return bool(await self._batch.call(self._is_present, [self._prefix + key], [member]))

    async def sweep_presence(self, key: str) -> list[str]:
        gone = await self._batch.call(self._sweep_presence, [self._prefix + key], [])
        return [member.decode() for member in gone]

    async def reserve(
        self, stock_key: str, taken_key: str | None, member: str, *, quantity: int, limit: int | None
    ) -> ReserveResult:
        check_reserve(quantity=quantity, limit=limit, taken_key=taken_key)
        args: list[str | int] = [member, quantity, -1 if limit is None else limit]
        keys = self._stock_keys(stock_key, taken_key)
        status, stock, taken = await self._batch.call(self._reserve, keys, args)
        return ReserveResult(_RESERVE_STATUS[int(status)], int(stock), int(taken))

    async def peek_reserve(
        self, stock_key: str, taken_key: str | None, member: str, *, quantity: int, limit: int | None
    ) -> ReserveResult:
        check_reserve(quantity=quantity, limit=limit, taken_key=taken_key)
        args: list[str | int] = [member, quantity, -1 if limit is None else limit]
        keys = self._stock_keys(stock_key, taken_key)
        status, stock, taken = await self._batch.call(self._peek_reserve, keys, args)
        return ReserveResult(_RESERVE_STATUS[int(status)], int(stock), int(taken))

    async def release(
        self, stock_key: str, taken_key: str | None, member: str, *, quantity: int
    ) -> int | None:
        check_reserve(quantity=quantity, limit=None, taken_key=taken_key)
        keys = self._stock_keys(stock_key, taken_key)
        stock = await self._batch.call(self._release, keys, [member, quantity])
        return None if stock is None else int(stock)

    async def load_stock(
        self,
        stock_key: str,
        taken_key: str | None,
        *,
        stock: int,
        taken: Mapping[str, int],
        replace: bool = True,
        ttl_seconds: float | None = None,
    ) -> bool:
        args: list[str | int] = [
            1 if replace else 0,
            int(stock),
            0 if ttl_seconds is None else _ms(ttl_seconds),
        ]
        for member, units in taken.items():
            if units > 0:
                args += [member, int(units)]
        return bool(await self._load_stock(keys=self._stock_keys(stock_key, taken_key), args=args))

    async def close(self) -> None:
        # The client belongs to the caller (bootstrap); the batcher's flusher is ours.
        await self._batch.close()
