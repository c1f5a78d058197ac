"""Redis Counters: single commands where they suffice, otherwise one Lua script per operation.

Scripts that need the time read the server's TIME, so every node shares one clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from redis.asyncio import Redis

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

_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# ARGV: amount, ttl_ms. The ttl applies only when the key is created here.
_INCR_NEW_TTL = """
local created = redis.call('EXISTS', KEYS[1]) == 0
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if created then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value
"""

# ARGV: amount, floor. Returns the new value, or nil when it would go below floor.
_DECR_FLOOR = """
local value = tonumber(redis.call('GET', KEYS[1]) or '0')
if value - tonumber(ARGV[1]) < tonumber(ARGV[2]) then return false end
return redis.call('DECRBY', KEYS[1], ARGV[1])
"""

# ARGV: member, ttl_ms. The ttl applies only when the set is created here.
_SADD_NEW_TTL = """
local created = redis.call('EXISTS', KEYS[1]) == 0
local added = redis.call('SADD', KEYS[1], ARGV[1])
if created then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return added
"""

# ARGV: rate per second, burst, cost. Hash fields: tokens, updated (server seconds).
_BUCKET_TAKE = """
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = burst
if state[1] then
  tokens = math.min(burst, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * rate)
end
local allowed, retry_after = 0, 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry_after = (cost - tokens) / rate
end
local refill_ms = math.ceil((burst - tokens) / rate * 1000)
if refill_ms <= 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),
             'updated', string.format('%.17g', now))
  redis.call('PEXPIRE', KEYS[1], string.format('%.0f', refill_ms))
end
return {allowed, math.floor(tokens), string.format('%.17g', retry_after)}
"""

# ARGV: member, ttl_ms, grace_ms. Score = expiry in server milliseconds.
_TOUCH_PRESENCE = (
    _NOW_MS
    + """
local expires_at = now + tonumber(ARGV[2])
local added = redis.call('ZADD', KEYS[1], string.format('%.0f', expires_at), ARGV[1])
local key_ttl = tonumber(ARGV[2]) + tonumber(ARGV[3])
if redis.call('PTTL', KEYS[1]) < key_ttl then
  redis.call('PEXPIRE', KEYS[1], string.format('%.0f', key_ttl))
end
return added
"""
)

_COUNT_PRESENCE = (
    _NOW_MS
    + """
return redis.call('ZCOUNT', KEYS[1], '(' .. string.format('%.0f', now), '+inf')
"""
)

_SWEEP_PRESENCE = (
    _NOW_MS
    + """
local upto = string.format('%.0f', now)
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', upto)
if #gone > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', upto) end
return gone
"""
)


# KEYS: stock, [taken hash]. ARGV: member, quantity, limit (-1 = none).
# Returns {status, stock, taken}; status 0 allowed, 1 sold out, 2 over limit, 3 unloaded.
_RESERVE = """
local stock = redis.call('GET', KEYS[1])
if not stock then return {3, 0, 0} end
stock = tonumber(stock)
local quantity, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
local taken = 0
if KEYS[2] then taken = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0') end
if limit >= 0 and taken + quantity > limit then return {2, stock, taken} end
if stock < quantity then return {1, stock, taken} end
stock = redis.call('DECRBY', KEYS[1], quantity)
if KEYS[2] then
  local ttl = redis.call('PTTL', KEYS[1])
  taken = redis.call('HINCRBY', KEYS[2], ARGV[1], quantity)
  if ttl > 0 and redis.call('PTTL', KEYS[2]) < 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
end
return {0, stock, taken}
"""

# KEYS: stock, [taken hash]. ARGV: member, quantity. Returns the new stock, or nil when unloaded.
_RELEASE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local stock = redis.call('INCRBY', KEYS[1], ARGV[2])
if KEYS[2] then
  local left = redis.call('HINCRBY', KEYS[2], ARGV[1], -tonumber(ARGV[2]))
  if left <= 0 then redis.call('HDEL', KEYS[2], ARGV[1]) end
end
return stock
"""

# KEYS: stock, [taken hash]. ARGV: replace (1/0), stock, ttl_ms (0 = none), member, units, ...
_LOAD_STOCK = """
if ARGV[1] == '0' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
if KEYS[2] then
  redis.call('DEL', KEYS[2])
  for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
end
if tonumber(ARGV[3]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  if KEYS[2] then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
end
return 1
"""


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
        self._incr_new_ttl = redis.register_script(_INCR_NEW_TTL)
        self._decr_floor = redis.register_script(_DECR_FLOOR)
        self._sadd_new_ttl = redis.register_script(_SADD_NEW_TTL)
        self._bucket_take = redis.register_script(_BUCKET_TAKE)
        self._touch_presence = redis.register_script(_TOUCH_PRESENCE)
        self._count_presence = redis.register_script(_COUNT_PRESENCE)
        self._sweep_presence = redis.register_script(_SWEEP_PRESENCE)
        self._reserve = redis.register_script(_RESERVE)
        self._release = redis.register_script(_RELEASE)
        self._load_stock = redis.register_script(_LOAD_STOCK)

    def _stock_keys(self, stock_key: str, taken_key: str | None) -> list[str]:
        keys = [self._prefix + stock_key]
        return keys if taken_key is None else [*keys, self._prefix + taken_key]

    async def incr(self, key: str, amount: int = 1, *, ttl_seconds: float | None = None) -> int:
        k = self._prefix + key
        if ttl_seconds is None:
            return int(await self._redis.incrby(k, amount))
        return int(await self._incr_new_ttl(keys=[k], args=[amount, _ms(ttl_seconds)]))

    async def get(self, key: str) -> int:
        raw = await self._redis.get(self._prefix + key)
        return 0 if raw is None else int(raw)

    async def get_many(self, keys: Sequence[str]) -> list[int]:
        if not keys:
            return []
        raws = await self._redis.mget([self._prefix + key for key in keys])
        return [0 if raw is None else int(raw) for raw in raws]

    async def set(self, key: str, value: int, *, ttl_seconds: float | None = None) -> None:
        px = None if ttl_seconds is None else _ms(ttl_seconds)
        await self._redis.set(self._prefix + key, int(value), px=px)

    async def delete(self, *keys: str) -> None:
        if keys:
            await self._redis.delete(*(self._prefix + key for key in keys))

    async def expire(self, key: str, ttl_seconds: float) -> bool:
        return bool(await self._redis.pexpire(self._prefix + key, _ms(ttl_seconds)))

    async def decr_floor(self, key: str, amount: int = 1, *, floor: int = 0) -> int | None:
        result = await self._decr_floor(keys=[self._prefix + key], args=[amount, floor])
        return None if result is None else int(result)

    async def add_member(self, key: str, member: str, *, ttl_seconds: float | None = None) -> bool:
        k = self._prefix + key
        if ttl_seconds is None:
            return bool(await self._redis.sadd(k, member))
        return bool(await self._sadd_new_ttl(keys=[k], args=[member, _ms(ttl_seconds)]))

    async def remove_member(self, key: str, member: str) -> bool:
        return bool(await self._redis.srem(self._prefix + key, member))

    async def is_member(self, key: str, member: str) -> bool:
        return bool(await self._redis.sismember(self._prefix + key, member))

    async def count_members(self, key: str) -> int:
        return int(await self._redis.scard(self._prefix + key))

    async def add_distinct(self, key: str, *members: str) -> None:
        if members:
            await self._redis.pfadd(self._prefix + key, *members)

    async def count_distinct(self, key: str) -> int:
        return int(await self._redis.pfcount(self._prefix + key))

    async def rate_limit(
        self, key: str, *, rate_per_second: float, burst: int, cost: int = 1
    ) -> RateDecision:
        check_rate(rate_per_second=rate_per_second, burst=burst, cost=cost)
        allowed, remaining, retry_after = await self._bucket_take(
            keys=[self._prefix + key], args=[repr(float(rate_per_second)), burst, cost]
        )
        return RateDecision(
            allowed=bool(allowed), remaining=int(remaining), retry_after_seconds=float(retry_after)
        )

    async def touch_presence(self, key: str, member: str, *, ttl_seconds: float) -> bool:
        args: list[str | int] = [member, _ms(ttl_seconds), PRESENCE_GRACE_MS]
        return bool(await self._touch_presence(keys=[self._prefix + key], args=args))

    async def remove_presence(self, key: str, member: str) -> bool:
        return bool(await self._redis.zrem(self._prefix + key, member))

    async def count_presence(self, key: str) -> int:
        return int(await self._count_presence(keys=[self._prefix + key]))

    async def sweep_presence(self, key: str) -> list[str]:
        gone = await self._sweep_presence(keys=[self._prefix + key])
        return [member.decode() for member in gone]

    async def reserve(
        self, stock_key: str, taken_key: str | None, member: str, *, quantity: int, limit: int | None
    ) -> ReserveResult:
        check_reserve(quantity=quantity, limit=limit, taken_key=taken_key)
        args: list[str | int] = [member, quantity, -1 if limit is None else limit]
        status, stock, taken = await self._reserve(keys=self._stock_keys(stock_key, taken_key), args=args)
        return ReserveResult(_RESERVE_STATUS[int(status)], int(stock), int(taken))

    async def release(
        self, stock_key: str, taken_key: str | None, member: str, *, quantity: int
    ) -> int | None:
        check_reserve(quantity=quantity, limit=None, taken_key=taken_key)
        stock = await self._release(keys=self._stock_keys(stock_key, taken_key), args=[member, quantity])
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
        # The client belongs to the caller (bootstrap); there is nothing else to release.
        return None
