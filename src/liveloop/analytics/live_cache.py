"""A short-lived cache of built show snapshots: many readers of one show cost one computation.

Every console viewer's socket asks for its show's snapshot every second, and so do the API and the
alert rules; a snapshot costs a Counters round trip and a distinct count per set. The cache keeps a
built snapshot for ``seconds`` (at most the flush period, so it is never older than the figures it
could show), and concurrent requests for one show wait for the same build instead of starting their
own. A snapshot is stale as soon as this node writes to its show's counters or learns a new window
(:meth:`SnapshotCache.changed`); other nodes' writes show within ``seconds``, as they would anyway
within the flush period.

The cached dict is shared by every reader: read it, do not change it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Built", "SnapshotCache"]


@dataclass(frozen=True, slots=True)
class Built:
    """A snapshot and the shop its show belongs to (the caller checks it against the reader's)."""

    shop_id: int
    metrics: dict[str, Any]


@dataclass(slots=True)
class _Entry:
    started: float  # when the build began (what it read is at least this fresh)
    built: asyncio.Future[Built]


class SnapshotCache:
    """Snapshots per (show, with minutes or not), for ``seconds``; not thread-safe (one event loop)."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._entries: dict[tuple[int, bool], _Entry] = {}
        self._changed: dict[int, float] = {}  # show -> when this node last changed what a snapshot reads
        #: Snapshots actually built (the rest were served from the cache or joined a build).
        self.builds = 0

    async def get(self, show_id: int, minutes: bool, build: Callable[[], Awaitable[Built]]) -> Built:
        """The show's snapshot: a fresh cached one, the one being built, or ``build()``'s."""
        key = (show_id, minutes)
        now = self._clock()
        entry = self._entries.get(key)
        if entry is None or not self._fresh(show_id, entry, now):
            entry = self._entries[key] = _Entry(now, asyncio.ensure_future(self._build(build)))
            entry.built.add_done_callback(lambda done: self._settle(key, done))
        # Shielded: a reader that goes away (a closed socket) does not cancel the others' build.
        return await asyncio.shield(entry.built)

    async def _build(self, build: Callable[[], Awaitable[Built]]) -> Built:
        self.builds += 1
        return await build()

    def _settle(self, key: tuple[int, bool], done: asyncio.Future[Built]) -> None:
        """A failed build is not cached (its readers got the error; the next reader builds again)."""
        if done.cancelled() or done.exception() is not None:
            entry = self._entries.get(key)
            if entry is not None and entry.built is done:
                del self._entries[key]

    def _fresh(self, show_id: int, entry: _Entry, now: float) -> bool:
        # Strictly after the change: a clock too coarse to order a build and a write means stale.
        changed = self._changed.get(show_id, float("-inf"))
        return now - entry.started < self.seconds and entry.started > changed

    def changed(self, show_id: int) -> None:
        """This node wrote the show's counters or saw its window change: later reads build again."""
        self._changed[show_id] = self._clock()

    def prune(self) -> None:
        """Forget expired snapshots and change marks no entry can predate any more."""
        now = self._clock()
        for key in [
            k for k, e in self._entries.items() if e.built.done() and now - e.started >= self.seconds
        ]:
            del self._entries[key]
        for show_id in [s for s, at in self._changed.items() if now - at >= self.seconds]:
            del self._changed[show_id]
