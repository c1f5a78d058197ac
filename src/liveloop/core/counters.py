"""The Counters port: fast atomic counters, sets, rate limits and presence, a cache of the SQL truth.

Counters are not durable. After a crash they are rebuilt from the SQL store with :meth:`Counters.set`,
so nothing that must never be lost (orders, ledgers) lives only here.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Counters", "RateDecision", "check_rate", "check_ttl"]


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The answer of :meth:`Counters.rate_limit`.

    ``remaining`` is the number of whole tokens left after this call. ``retry_after_seconds`` is 0.0
    when allowed, otherwise the time until ``cost`` tokens will be available.
    """

    allowed: bool
    remaining: int
    retry_after_seconds: float


class Counters(abc.ABC):
    """Atomic counters keyed by plain strings, each adapter prefixing every key with its namespace.

    Every method is atomic: concurrent callers (tasks, or nodes sharing one Redis) never observe or
    produce a torn update, and each call is one round trip. Values are ints; an absent key reads as
    0 or empty. Each key holds one kind of value (counter, member set, distinct set, rate bucket or
    presence set); using a key with two kinds is a programming error and adapters raise.
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
    async def sweep_presence(self, key: str) -> list[str]:
        """Remove and return the members whose expiry has passed, each exactly once across callers.

        The caller turns them into "viewer left" events.
        """

    @abc.abstractmethod
    async def close(self) -> None:
        """Release what the adapter owns (never a client passed in to it)."""


def check_ttl(ttl_seconds: float) -> float:
    """Return ``ttl_seconds`` if positive and finite, else raise ValueError (shared by adapters)."""
    if not (ttl_seconds > 0 and math.isfinite(ttl_seconds)):
        raise ValueError(f"ttl_seconds must be positive and finite, got {ttl_seconds!r}")
    return ttl_seconds


def check_rate(*, rate_per_second: float, burst: int, cost: int) -> None:
    """Raise ValueError unless ``rate_per_second > 0`` and ``1 <= cost <= burst`` (shared by adapters)."""
    if not (rate_per_second > 0 and math.isfinite(rate_per_second)):
        raise ValueError(f"rate_per_second must be positive and finite, got {rate_per_second!r}")
    if not 1 <= cost <= burst:
        raise ValueError(f"need 1 <= cost <= burst, got cost={cost} burst={burst}")
