"""The Counters port: fast atomic counters, sets, rate limits and presence, a cache of the SQL truth.

Counters are not durable. After a crash they are rebuilt from the SQL store with :meth:`Counters.set`
(or :meth:`Counters.load_stock` for stock with per-member limits), so nothing that must never be lost
(orders, ledgers) lives only here.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "Counters",
    "RateDecision",
    "ReserveResult",
    "ReserveStatus",
    "check_rate",
    "check_reserve",
    "check_ttl",
]


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The answer of :meth:`Counters.rate_limit`.

    ``remaining`` is the number of whole tokens left after this call. ``retry_after_seconds`` is 0.0
    when allowed, otherwise the time until ``cost`` tokens will be available.
    """

    allowed: bool
    remaining: int
    retry_after_seconds: float


class ReserveStatus(StrEnum):
    ALLOWED = "allowed"
    SOLD_OUT = "sold_out"
    OVER_LIMIT = "over_limit"
    #: The stock key is absent: the cache was lost or never loaded. Load it from the truth and retry.
    UNLOADED = "unloaded"


@dataclass(frozen=True, slots=True)
class ReserveResult:
    """The answer of :meth:`Counters.reserve`.

    ``remaining`` is the stock after this call and ``taken`` the member's units after it (both as they
    were when refused; 0 and 0 when unloaded).
    """

    status: ReserveStatus
    remaining: int
    taken: int

    @property
    def allowed(self) -> bool:
        return self.status is ReserveStatus.ALLOWED


class Counters(abc.ABC):
    """Atomic counters keyed by plain strings, each adapter prefixing every key with its namespace.

    Every method is atomic: concurrent callers (tasks, or nodes sharing one Redis) never observe or
    produce a torn update, and each call is one round trip. Values are ints; an absent key reads as
    0 or empty. Each key holds one kind of value (counter, member set, distinct set, rate bucket,
    presence set, or integer hash: :meth:`hincr_many` fields, also :meth:`reserve`'s per-member units);
    using a key with two kinds is a programming error and adapters raise.
    Time-to-live values are in seconds, must be positive and are kept to millisecond precision; an
    expired key behaves exactly like an absent one.
    """

    @abc.abstractmethod
    async def incr(self, key: str, amount: int = 1, *, ttl_seconds: float | None = None) -> int:
        """Add ``amount`` (may be negative) and return the new value.

        ``ttl_seconds`` is applied only when this call creates the key; later calls never extend it.
        """

    @abc.abstractmethod
    async def get(self, key: str) -> int:
        """Return the value, 0 when absent."""

    @abc.abstractmethod
    async def get_many(self, keys: Sequence[str]) -> list[int]:
        """Return the values of ``keys`` in order, 0 for each absent key, read at one instant."""

    @abc.abstractmethod
    async def set(self, key: str, value: int, *, ttl_seconds: float | None = None) -> None:
        """Overwrite the value (rebuilding from SQL after a crash); any old ttl is replaced."""

    @abc.abstractmethod
    async def delete(self, *keys: str) -> None:
        """Remove the keys, of any kind; absent keys are ignored."""

    @abc.abstractmethod
    async def expire(self, key: str, ttl_seconds: float) -> bool:
        """Set the key's ttl; return False (and do nothing) when the key is absent."""

    @abc.abstractmethod
    async def decr_floor(self, key: str, amount: int = 1, *, floor: int = 0) -> int | None:
        """Check-and-decrement as one atomic step.

        If ``value - amount >= floor``, subtract ``amount`` and return the new value; otherwise change
        nothing and return None. Concurrent callers can never drive the value below ``floor``
        (stock, red-packet shares, per-user limits). An absent key counts as 0; the key's ttl is kept.
        """

    @abc.abstractmethod
    async def add_member(self, key: str, member: str, *, ttl_seconds: float | None = None) -> bool:
        """Add ``member`` to the exact set at ``key``; True iff it was not a member before.

        ``ttl_seconds`` is applied only when this call creates the set.
        """

    @abc.abstractmethod
    async def remove_member(self, key: str, member: str) -> bool:
        """Remove ``member``; True iff it was a member."""

    @abc.abstractmethod
    async def is_member(self, key: str, member: str) -> bool:
        """True iff ``member`` is in the set."""

    @abc.abstractmethod
    async def count_members(self, key: str) -> int:
        """The exact number of members, 0 when absent."""

    @abc.abstractmethod
    async def add_distinct(self, key: str, *members: str) -> None:
        """Record ``members`` in the approximate distinct counter at ``key`` (unique viewers, clickers).

        Memory keeps an exact set. Redis uses a HyperLogLog (PFADD): about 12 KB per key however many
        members, standard error about 0.81%, exact for small cardinalities.
        """

    @abc.abstractmethod
    async def count_distinct(self, key: str) -> int:
        """The approximate number of distinct members added (see :meth:`add_distinct`), 0 when absent."""

    @abc.abstractmethod
    async def add_distinct_many(
        self, members: Mapping[str, Collection[str]], *, ttl_seconds: float | None = None
    ) -> None:
        """:meth:`add_distinct` for several keys (key -> members) as one atomic step, one round trip.

        ``ttl_seconds`` is applied to each key this call creates; later calls never extend it. Keys
        with no members are left alone (not created).
        """

    @abc.abstractmethod
    async def count_distinct_many(self, keys: Sequence[str]) -> list[int]:
        """:meth:`count_distinct` of each key, in order, read at one instant."""

    @abc.abstractmethod
    async def hincr_many(
        self, key: str, amounts: Mapping[str, int], *, ttl_seconds: float | None = None
    ) -> list[int]:
        """Add each amount (may be 0 or negative) to its field of the integer hash at ``key``, as one
        atomic step; return the fields' new values in the order of ``amounts``.

        An absent field counts as 0. ``ttl_seconds`` is applied only when this call creates the hash.
        An empty ``amounts`` changes nothing (and creates nothing).
        """

    @abc.abstractmethod
    async def hmax_many(
        self, key: str, values: Mapping[str, int], *, ttl_seconds: float | None = None
    ) -> None:
        """Raise each field of the integer hash at ``key`` to its value when the value is greater, as
        one atomic step: ``field = max(field, value)``; an absent field takes the value (even a
        negative one). Concurrent callers never lose the larger value. ``ttl_seconds`` as in
        :meth:`hincr_many`. Values must be within +-2**53 (exact in every adapter).
        """

    @abc.abstractmethod
    async def hget_all(self, key: str) -> dict[str, int]:
        """Every field of the integer hash at ``key`` (empty when absent), read at one instant."""

    @abc.abstractmethod
    async def rate_limit(
        self, key: str, *, rate_per_second: float, burst: int, cost: int = 1
    ) -> RateDecision:
        """Token bucket: take ``cost`` tokens if available, atomically.

        A new bucket starts full with ``burst`` tokens and refills at ``rate_per_second`` up to
        ``burst``. A denied call takes nothing. Time comes from one clock shared by all callers (the
        Redis server's TIME, not the node's), so nodes with skewed clocks agree. The key expires when
        the bucket would be full again, so idle buckets cost nothing. Requires ``rate_per_second > 0``
        and ``1 <= cost <= burst``.
        """

    @abc.abstractmethod
    async def touch_presence(self, key: str, member: str, *, ttl_seconds: float) -> bool:
        """Mark ``member`` present until ``ttl_seconds`` from now (a heartbeat).

        Return True iff the member had no entry, i.e. a new arrival. An entry stays until
        :meth:`remove_presence` or :meth:`sweep_presence` takes it, so every True here is matched by
        exactly one True from :meth:`remove_presence` or one appearance in :meth:`sweep_presence`; a
        member that re-touches after its expiry but before a sweep is refreshed and gets False. The
        whole key is dropped 60 s after its latest member expiry, so sweep more often than that.
        """

    @abc.abstractmethod
    async def remove_presence(self, key: str, member: str) -> bool:
        """Remove the member's entry (an explicit leave); True iff it had one."""

    @abc.abstractmethod
    async def count_presence(self, key: str) -> int:
        """The number of members whose expiry has not passed; expired members are not counted."""

    @abc.abstractmethod
    async def is_present(self, key: str, member: str) -> bool:
        """True iff ``member`` has an entry whose expiry has not passed (as :meth:`count_presence` counts)."""

    @abc.abstractmethod
    async def sweep_presence(self, key: str) -> list[str]:
        """Remove and return the members whose expiry has passed, each exactly once across callers.

        The caller turns them into "viewer left" events.
        """

    @abc.abstractmethod
    async def reserve(
        self, stock_key: str, taken_key: str | None, member: str, *, quantity: int, limit: int | None
    ) -> ReserveResult:
        """Take ``quantity`` units of ``stock_key`` for ``member`` as one atomic step (a flash-sale grab).

        Allowed iff the stock key is loaded, ``member``'s units in the per-member map ``taken_key`` plus
        ``quantity`` stay within ``limit``, and the stock holds at least ``quantity``; then the stock is
        decremented and the member's units incremented together. Otherwise nothing changes and the
        status says why, checked in this order: ``UNLOADED`` (the stock key is absent; an absent key is
        never read as 0, so a lost cache cannot turn into "sold out"), ``OVER_LIMIT``, ``SOLD_OUT``.
        Concurrent callers (tasks, or nodes sharing one Redis) can never drive the stock below 0 nor a
        member above ``limit``. ``taken_key=None`` (with ``limit=None``) keeps no per-member units.
        Requires ``quantity >= 1`` and ``limit >= 1`` when given. Ttls set by :meth:`load_stock` are kept.
        """

    @abc.abstractmethod
    async def peek_reserve(
        self, stock_key: str, taken_key: str | None, member: str, *, quantity: int, limit: int | None
    ) -> ReserveResult:
        """What :meth:`reserve` would answer now with these arguments, read at one instant, changing
        nothing (``ALLOWED`` then means only "was possible"). The fast refusal of a crowd: a caller
        that must not take a unit yet (an idempotent retry may be a replay) learns "sold out" for one
        read. Same arguments and checks as :meth:`reserve`.
        """

    @abc.abstractmethod
    async def release(
        self, stock_key: str, taken_key: str | None, member: str, *, quantity: int
    ) -> int | None:
        """Give back what one :meth:`reserve` took (compensation, expiry, cancel), atomically.

        Adds ``quantity`` to the stock and removes it from the member's units (a member at 0 is dropped).
        Returns the new stock, or None when the stock key is absent: then nothing is written, because a
        half-rebuilt cache would undersell; the next :meth:`load_stock` counts from the truth anyway.
        Call it exactly once per reservation given up.
        """

    @abc.abstractmethod
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
        """Write the stock and the per-member units rebuilt from the SQL truth, as one atomic step.

        With ``replace`` the keys are overwritten (a rebuild); without it nothing is written unless the
        stock key is absent (a lazy load that concurrent loaders may race for). Returns True iff written.
        ``ttl_seconds`` applies to both keys. Members with 0 units are left out.
        """

    @abc.abstractmethod
    async def close(self) -> None:
        """Release what the adapter owns (never a client passed in to it)."""


def check_ttl(ttl_seconds: float) -> float:
    """Return ``ttl_seconds`` if positive and finite, else raise ValueError (shared by adapters)."""
    if not (ttl_seconds > 0 and math.isfinite(ttl_seconds)):
        raise ValueError(f"ttl_seconds must be positive and finite, got {ttl_seconds!r}")
    return ttl_seconds


def check_reserve(*, quantity: int, limit: int | None, taken_key: str | None) -> None:
    """Raise ValueError unless :meth:`Counters.reserve`'s arguments make sense (shared by adapters)."""
    if quantity < 1:
        raise ValueError(f"quantity must be at least 1, got {quantity}")
    if limit is not None and (limit < 1 or taken_key is None):
        raise ValueError(f"a limit needs a taken_key and must be at least 1, got {limit}")


def check_rate(*, rate_per_second: float, burst: int, cost: int) -> None:
    """Raise ValueError unless ``rate_per_second > 0`` and ``1 <= cost <= burst`` (shared by adapters)."""
    if not (rate_per_second > 0 and math.isfinite(rate_per_second)):
        raise ValueError(f"rate_per_second must be positive and finite, got {rate_per_second!r}")
    if not 1 <= cost <= burst:
        raise ValueError(f"need 1 <= cost <= burst, got cost={cost} burst={burst}")
