"""The expiring key store under :class:`~liveloop.adapters.memory.counters.MemoryCounters`.

Keys map to typed values (an int, a set, a hash...) with an optional expiry on the injected clock;
expired keys are dropped lazily, when met, and when their deadline is popped.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from liveloop.core.counters import check_ttl

__all__ = ["Bucket", "Distinct", "Entry", "KeyStore", "Members", "Presence", "Taken"]

T = TypeVar("T")


class Members(set[str]):
    pass


class Distinct(set[str]):
    pass


class Presence(dict[str, float]):
    """member -> expiry time on the adapter's clock."""


class Taken(dict[str, int]):
    """An integer hash: field -> value (:meth:`Counters.hincr_many`), also member -> units reserved
    (the per-member side of :meth:`Counters.reserve`), as both are one Redis hash."""


@dataclass(slots=True)
class Bucket:
    tokens: float
    updated: float


@dataclass(slots=True)
class Entry(Generic[T]):
    value: T
    expires_at: float | None = None


class KeyStore:
    """Typed entries under one namespace, each with an optional expiry (one event loop, not threads)."""

    def __init__(self, *, namespace: str = "liveloop", clock: Callable[[], float] = time.monotonic) -> None:
        self._prefix = f"{namespace}:"
        self._clock = clock
        self._entries: dict[str, Entry[Any]] = {}
        # (deadline, key) pairs; stale pairs are skipped when popped.
        self._deadlines: list[tuple[float, str]] = []

    def _now(self) -> float:
        now = self._clock()
        while self._deadlines and self._deadlines[0][0] <= now:
            _, key = heapq.heappop(self._deadlines)
            entry = self._entries.get(key)
            if entry is not None and entry.expires_at is not None and entry.expires_at <= now:
                del self._entries[key]
        return now

    def _set_deadline(self, key: str, entry: Entry[Any], expires_at: float | None) -> None:
        entry.expires_at = expires_at
        if expires_at is not None:
            heapq.heappush(self._deadlines, (expires_at, key))

    def _lookup(self, key: str, kind: type[T], now: float) -> Entry[T] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at is not None and entry.expires_at <= now:
            del self._entries[key]
            return None
        if type(entry.value) is not kind:
            raise TypeError(f"key {key!r} holds a {type(entry.value).__name__}, not a {kind.__name__}")
        return cast(Entry[T], entry)

    def _create(self, key: str, value: T, ttl_seconds: float | None, now: float) -> Entry[T]:
        entry = Entry(value)
        self._entries[key] = entry
        if ttl_seconds is not None:
            self._set_deadline(key, entry, now + check_ttl(ttl_seconds))
        return entry

    @staticmethod
    def _expired(entry: Entry[Any], now: float) -> bool:
        return entry.expires_at is not None and entry.expires_at <= now
