"""In-process Counters: the embedded default.

Every operation runs to completion without awaiting, so it is atomic under asyncio. State lives on
the instance and is meant for one event loop (not threads). Expiry follows the injected clock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from liveloop.adapters.memory.counters_store import (
    Bucket,
    Distinct,
    Entry,
    KeyStore,
    Members,
    Presence,
    Taken,
)
from liveloop.core.counters import (
    Counters,
    RateDecision,
    ReserveResult,
    ReserveStatus,
    check_rate,
    check_reserve,
    check_ttl,
)

__all__ = ["PRESENCE_GRACE_SECONDS", "MemoryCounters"]

#: How long a presence key outlives its latest member expiry (mirrors the Redis adapter).
PRESENCE_GRACE_SECONDS = 60.0
#: Distinct reserve refusals an adapter keeps to hand out again (then it starts over).
MAX_SHARED_REFUSALS = 1024

_ALLOWED, _SOLD_OUT = ReserveStatus.ALLOWED, ReserveStatus.SOLD_OUT
_OVER_LIMIT, _UNLOADED = ReserveStatus.OVER_LIMIT, ReserveStatus.UNLOADED


class MemoryCounters(KeyStore, Counters):
    def __init__(self, *, namespace: str = "liveloop", clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(namespace=namespace, clock=clock)
        self._refusals: dict[tuple[ReserveStatus, int, int], ReserveResult] = {}

    async def incr(self, key: str, amount: int = 1, *, ttl_seconds: float | None = None) -> int:
        now, k = self._now(), self._prefix + key
        entry = self._lookup(k, int, now) or self._create(k, 0, ttl_seconds, now)
        entry.value += amount
        return entry.value

    async def get(self, key: str) -> int:
        entry = self._lookup(self._prefix + key, int, self._now())
        return 0 if entry is None else entry.value

    async def get_many(self, keys: Sequence[str]) -> list[int]:
        now = self._now()
        entries = [self._lookup(self._prefix + key, int, now) for key in keys]
        return [0 if entry is None else entry.value for entry in entries]

    async def set(self, key: str, value: int, *, ttl_seconds: float | None = None) -> None:
        now, k = self._now(), self._prefix + key
        self._entries.pop(k, None)
        self._create(k, int(value), ttl_seconds, now)

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._entries.pop(self._prefix + key, None)

    async def expire(self, key: str, ttl_seconds: float) -> bool:
        now, k = self._now(), self._prefix + key
        check_ttl(ttl_seconds)
        entry = self._entries.get(k)
        if entry is None:
            return False
        self._set_deadline(k, entry, now + ttl_seconds)
        return True

    async def decr_floor(self, key: str, amount: int = 1, *, floor: int = 0) -> int | None:
        now, k = self._now(), self._prefix + key
        entry = self._lookup(k, int, now)
        if (0 if entry is None else entry.value) - amount < floor:
            return None
        entry = entry or self._create(k, 0, None, now)
        entry.value -= amount
        return entry.value

    async def add_member(self, key: str, member: str, *, ttl_seconds: float | None = None) -> bool:
        now, k = self._now(), self._prefix + key
        entry = self._lookup(k, Members, now) or self._create(k, Members(), ttl_seconds, now)
        added = member not in entry.value
        entry.value.add(member)
        return added

    async def remove_member(self, key: str, member: str) -> bool:
        k = self._prefix + key
        entry = self._lookup(k, Members, self._now())
        if entry is None or member not in entry.value:
            return False
        entry.value.discard(member)
        if not entry.value:
            del self._entries[k]
        return True

    async def is_member(self, key: str, member: str) -> bool:
        entry = self._lookup(self._prefix + key, Members, self._now())
        return entry is not None and member in entry.value

    async def count_members(self, key: str) -> int:
        entry = self._lookup(self._prefix + key, Members, self._now())
        return 0 if entry is None else len(entry.value)

    async def add_distinct(self, key: str, *members: str) -> None:
        if not members:
            return
        now, k = self._now(), self._prefix + key
        entry = self._lookup(k, Distinct, now) or self._create(k, Distinct(), None, now)
        entry.value.update(members)

    async def count_distinct(self, key: str) -> int:
        entry = self._lookup(self._prefix + key, Distinct, self._now())
        return 0 if entry is None else len(entry.value)

    async def add_distinct_many(
        self, members: Mapping[str, Collection[str]], *, ttl_seconds: float | None = None
    ) -> None:
        now = self._now()
        if ttl_seconds is not None:
            check_ttl(ttl_seconds)
        found = [(self._prefix + key, self._lookup(self._prefix + key, Distinct, now)) for key in members]
        for (k, entry), values in zip(found, members.values(), strict=True):
            if values:
                (entry or self._create(k, Distinct(), ttl_seconds, now)).value.update(values)

    async def count_distinct_many(self, keys: Sequence[str]) -> list[int]:
        now = self._now()
        entries = [self._lookup(self._prefix + key, Distinct, now) for key in keys]
        return [0 if entry is None else len(entry.value) for entry in entries]

    async def hincr_many(
        self, key: str, amounts: Mapping[str, int], *, ttl_seconds: float | None = None
    ) -> list[int]:
        if ttl_seconds is not None:
            check_ttl(ttl_seconds)
        if not amounts:
            return []
        now, k = self._now(), self._prefix + key
        fields = (self._lookup(k, Taken, now) or self._create(k, Taken(), ttl_seconds, now)).value
        for field, amount in amounts.items():
            fields[field] = fields.get(field, 0) + int(amount)
        return [fields[field] for field in amounts]

    async def hmax_many(
        self, key: str, values: Mapping[str, int], *, ttl_seconds: float | None = None
    ) -> None:
        if ttl_seconds is not None:
            check_ttl(ttl_seconds)
        if not values:
            return
        now, k = self._now(), self._prefix + key
        fields = (self._lookup(k, Taken, now) or self._create(k, Taken(), ttl_seconds, now)).value
        for field, value in values.items():
            old = fields.get(field)
            if old is None or value > old:
                fields[field] = int(value)

    async def hget_all(self, key: str) -> dict[str, int]:
        entry = self._lookup(self._prefix + key, Taken, self._now())
        return {} if entry is None else dict(entry.value)

    async def rate_limit(
        self, key: str, *, rate_per_second: float, burst: int, cost: int = 1
    ) -> RateDecision:
        check_rate(rate_per_second=rate_per_second, burst=burst, cost=cost)
        now, k = self._now(), self._prefix + key
        entry = self._lookup(k, Bucket, now)
        if entry is None:
            tokens = float(burst)
        else:
            elapsed = max(0.0, now - entry.value.updated)
            tokens = min(float(burst), entry.value.tokens + elapsed * rate_per_second)
        allowed = tokens >= cost
        if allowed:
            tokens -= cost
        refill_seconds = (burst - tokens) / rate_per_second
        if refill_seconds <= 0:
            self._entries.pop(k, None)
        else:
            entry = entry or self._create(k, Bucket(tokens, now), None, now)
            entry.value.tokens, entry.value.updated = tokens, now
            self._set_deadline(k, entry, now + refill_seconds)
        retry_after = 0.0 if allowed else (cost - tokens) / rate_per_second
        return RateDecision(allowed=allowed, remaining=math.floor(tokens), retry_after_seconds=retry_after)

    async def touch_presence(self, key: str, member: str, *, ttl_seconds: float) -> bool:
        now, k = self._now(), self._prefix + key
        expires_at = now + check_ttl(ttl_seconds)
        entry = self._lookup(k, Presence, now) or self._create(k, Presence(), None, now)
        arrived = member not in entry.value
        entry.value[member] = expires_at
        key_deadline = expires_at + PRESENCE_GRACE_SECONDS
        if entry.expires_at is None or entry.expires_at < key_deadline:
            self._set_deadline(k, entry, key_deadline)
        return arrived

    async def remove_presence(self, key: str, member: str) -> bool:
        k = self._prefix + key
        entry = self._lookup(k, Presence, self._now())
        if entry is None or entry.value.pop(member, None) is None:
            return False
        if not entry.value:
            del self._entries[k]
        return True

    async def count_presence(self, key: str) -> int:
        now = self._now()
        entry = self._lookup(self._prefix + key, Presence, now)
        return 0 if entry is None else sum(1 for expires_at in entry.value.values() if expires_at > now)

    async def is_present(self, key: str, member: str) -> bool:
        now = self._now()
        entry = self._lookup(self._prefix + key, Presence, now)
        expires_at = None if entry is None else entry.value.get(member)
        return expires_at is not None and expires_at > now

    async def sweep_presence(self, key: str) -> list[str]:
        now, k = self._now(), self._prefix + key
        entry = self._lookup(k, Presence, now)
        if entry is None:
            return []
        gone = sorted((expires_at, member) for member, expires_at in entry.value.items() if expires_at <= now)
        for _, member in gone:
            del entry.value[member]
        if not entry.value:
            del self._entries[k]
        return [member for _, member in gone]

    def _result(self, status: ReserveStatus, remaining: int, taken: int) -> ReserveResult:
        """The (immutable) answer. Equal refusals share one: the crowd after the last unit gets one
        and the same ``(SOLD_OUT, 0, 0)``, not a new frozen dataclass each."""
        if status is _ALLOWED:  # each win its own: ``remaining`` differs every time
            return ReserveResult(status, remaining, taken)
        key = (status, remaining, taken)
        result = self._refusals.get(key)
        if result is None:
            if len(self._refusals) >= MAX_SHARED_REFUSALS:
                self._refusals.clear()
            result = self._refusals[key] = ReserveResult(status, remaining, taken)
        return result

    def _check_reserve(
        self, stock_key: str, taken_key: str | None, member: str, *, quantity: int, limit: int | None
    ) -> tuple[ReserveStatus, int, Entry[int] | None, Entry[Taken] | None, float]:
        """The reserve decision (``ALLOWED`` = may take), the member's units, and the entries read
        (the crowd's hot path: ``_lookup``'s common case inlined)."""
        if quantity < 1 or (limit is not None and (limit < 1 or taken_key is None)):
            check_reserve(quantity=quantity, limit=limit, taken_key=taken_key)  # raises
        now = self._now()
        stock: Entry[Any] | None = self._entries.get(self._prefix + stock_key)
        if stock is not None and (type(stock.value) is not int or self._expired(stock, now)):
            stock = self._lookup(self._prefix + stock_key, int, now)  # drops it, or raises TypeError
        if stock is None:
            return _UNLOADED, 0, None, None, now
        taken: Entry[Any] | None = None if taken_key is None else self._entries.get(self._prefix + taken_key)
        if taken is not None and (type(taken.value) is not Taken or self._expired(taken, now)):
            taken = self._lookup(self._prefix + str(taken_key), Taken, now)  # drops it, or raises
        had: int = 0 if taken is None else taken.value.get(member, 0)
        if limit is not None and had + quantity > limit:
            status = _OVER_LIMIT
        elif stock.value < quantity:
            status = _SOLD_OUT
        else:
            status = _ALLOWED
        return status, had, stock, taken, now

    async def peek_reserve(
        self, stock_key: str, taken_key: str | None, member: str, *, quantity: int, limit: int | None
    ) -> ReserveResult:
        status, had, stock, _, _ = self._check_reserve(
            stock_key, taken_key, member, quantity=quantity, limit=limit
        )
        return self._result(status, 0 if stock is None else stock.value, had)

    async def reserve(
        self, stock_key: str, taken_key: str | None, member: str, *, quantity: int, limit: int | None
    ) -> ReserveResult:
        status, had, stock, taken, now = self._check_reserve(
            stock_key, taken_key, member, quantity=quantity, limit=limit
        )
        if stock is None or status is not _ALLOWED:
            return self._result(status, 0 if stock is None else stock.value, had)
        stock.value -= quantity
        if taken_key is None:
            return self._result(_ALLOWED, stock.value, 0)
        if taken is None:  # the map died with its last member: it lives as long as the stock
            taken = self._create(self._prefix + taken_key, Taken(), None, now)
            self._set_deadline(self._prefix + taken_key, taken, stock.expires_at)
        taken.value[member] = had + quantity
        return self._result(_ALLOWED, stock.value, had + quantity)

    async def release(
        self, stock_key: str, taken_key: str | None, member: str, *, quantity: int
    ) -> int | None:
        check_reserve(quantity=quantity, limit=None, taken_key=taken_key)
        now = self._now()
        stock = self._lookup(self._prefix + stock_key, int, now)
        if stock is None:
            return None
        stock.value += quantity
        if taken_key is None:
            return stock.value
        taken = self._lookup(self._prefix + taken_key, Taken, now)
        if taken is not None:
            left = taken.value.get(member, 0) - quantity
            if left > 0:
                taken.value[member] = left
            else:
                taken.value.pop(member, None)
                if not taken.value:
                    del self._entries[self._prefix + taken_key]
        return stock.value

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
        now, k = self._now(), self._prefix + stock_key
        if not replace and self._lookup(k, int, now) is not None:
            return False
        if ttl_seconds is not None:
            check_ttl(ttl_seconds)
        self._entries.pop(k, None)
        self._create(k, int(stock), ttl_seconds, now)
        if taken_key is not None:
            self._entries.pop(self._prefix + taken_key, None)
            members = Taken({member: int(units) for member, units in taken.items() if units > 0})
            self._create(self._prefix + taken_key, members, ttl_seconds, now)
        return True

    async def close(self) -> None:
        self._entries.clear()
        self._deadlines.clear()
