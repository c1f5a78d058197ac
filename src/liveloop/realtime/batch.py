"""One room's tick in the making: what arrived since the last frame, merged and sampled.

A :class:`TickBatch` is pure (no I/O; time comes from an injected clock). It repairs reordering
within a tick, ignores stale items, samples comments over the configured rate, coalesces counts to
their latest changed value and entrances to the latest few, and on :meth:`TickBatch.take` commits
the kept items to the room's :class:`~liveloop.realtime.stream.RoomHistory`.

Counts, entrances and notice items (:attr:`Lane.NOTICE`) have a slower cadence than the other
items (``counts_seconds``): a tick carries them when that long has passed since they last went out,
or when it goes out anyway (a comment, a priority item, a pin). A room of 10,000 filling up changes
its online count and shows entrances on every sync round, and a flash sale's hundred buyers are a
hundred "someone just bought" notices within seconds; sent as they come they would be a frame to
every socket on every tick, for news nobody reads that fast. What is held waits
(:attr:`TickBatch.holding`), in order; a count set back before it went out is never sent.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from liveloop.realtime.stream import Lane, RoomHistory, StreamItem

__all__ = ["Tick", "TickBatch"]

_EPSILON = 1e-9  # absorbs float error in rate x elapsed, so that 50/s x 0.1 s allows exactly 5


@dataclass(frozen=True, slots=True)
class Tick:
    """What one tick sends. ``entered`` is ``{"shown": [..], "more": n}`` or None."""

    items: list[StreamItem]
    counts: dict[str, int]
    entered: dict[str, Any] | None
    pinned_changed: bool
    pinned: dict[str, Any] | None
    dropped_comments: int

    @property
    def empty(self) -> bool:
        """True when there is nothing to send (dropped comments alone are not news)."""
        return not (self.items or self.counts or self.entered or self.pinned_changed)


class TickBatch:
    """Accumulates one tick for one room.

    Comment budget: a credit of ``max_comments_per_second`` x elapsed clock time, capped at one
    tick's worth (at least one comment), so a late tick gets no extra comments: when the loop lags,
    the room sheds comments instead of falling further behind. Over budget, a tick keeps an evenly
    spread, deterministic sample of its comments (always including the first). Priority items are
    never sampled and never bounded. Comments beyond ``max_pending_comments`` in one tick are
    dropped on arrival. Every drop is counted.
    """

    def __init__(
        self,
        history: RoomHistory,
        *,
        max_comments_per_second: float,
        tick_seconds: float,
        max_entered: int,
        max_pending_comments: int,
        clock: Callable[[], float],
        counts_seconds: float = 0.0,
    ) -> None:
        self._history = history
        self._rate = max_comments_per_second
        self._burst = max(1.0, max_comments_per_second * tick_seconds) if max_comments_per_second > 0 else 0.0
        self._credit = self._burst
        self._max_pending_comments = max_pending_comments
        self._clock = clock
        self._last_take = clock()
        self._pending: list[StreamItem] = []
        self._sorted = True
        self._comments = 0
        self._head = history.last_offset  # newest offset seen: pending, kept or dropped
        self._dropped_now = 0
        self.dropped_comments = 0  #: cumulative
        self.stale_items = 0  #: cumulative: items at or below the stream position, ignored
        self._sent_counts: dict[str, int] = {}
        self._count_updates: dict[str, int] = {}
        self._entered: deque[dict[str, Any]] = deque(maxlen=max_entered)
        self._entered_total = 0
        self._pinned: dict[str, Any] | None = None
        self._pinned_changed = False
        self._counts_seconds = counts_seconds
        self._counts_at = -float("inf")  # when counts or entrances last went out

    @property
    def pinned(self) -> dict[str, Any] | None:
        return self._pinned

    def counts(self) -> dict[str, int]:
        """The counters as the last tick sent them: what a joining peer starts from.

        Not the pending values: a value set and then set back before the tick is never sent (the
        tick sees no change), so a peer that had been handed the pending value would keep it. The
        next tick, which the joining peer receives, brings whatever changed since.
        """
        return dict(self._sent_counts)

    def add(self, item: StreamItem) -> bool:
        """Queue ``item``; False when it is ignored as stale (at or below the stream position)."""
        offset = item.offset
        if offset <= self._head:
            if offset <= self._history.last_offset:
                self.stale_items += 1
                return False
            self._sorted = False
        else:
            self._head = offset
        if item.lane is Lane.COMMENT:
            if self._comments >= self._max_pending_comments:
                self._dropped_now += 1
                return True
            self._comments += 1
        self._pending.append(item)
        return True

    def set_count(self, name: str, value: int) -> None:
        self._count_updates[name] = value

    def set_pinned(self, data: dict[str, Any] | None) -> None:
        self._pinned = data
        self._pinned_changed = True

    def add_transient(self, data: dict[str, Any]) -> None:
        self._entered.append(data)
        self._entered_total += 1

    @property
    def holding(self) -> bool:
        """True when something waits for its cadence (the hub flushes again)."""
        return bool(self._pending or self._count_updates) or self._entered_total > 0

    def take(self) -> Tick:
        """Close the tick: sample, commit kept items to the history, reset for the next one.

        Before the cadence is due, a tick of notices, counts and entrances only is held whole: it
        is empty now and goes out later (or with the next urgent item), nothing reordered.
        """
        now = self._clock()
        urgent = self._pinned_changed or any(item.lane is not Lane.NOTICE for item in self._pending)
        if not urgent and now - self._counts_at < self._counts_seconds:
            self._drop_unchanged_counts()
            return Tick([], {}, None, False, self._pinned, self._take_dropped())
        items = self._take_items()
        dropped = self._take_dropped()
        pinned_changed, self._pinned_changed = self._pinned_changed, False
        tick = Tick(items, self._take_counts(), self._take_entered(), pinned_changed, self._pinned, dropped)
        if not tick.empty:  # whatever waited for the cadence went out with it
            self._counts_at = now
        return tick

    def _take_dropped(self) -> int:
        dropped, self._dropped_now = self._dropped_now, 0
        self.dropped_comments += dropped
        return dropped

    def _take_entered(self) -> dict[str, Any] | None:
        if not self._entered_total:
            return None
        shown = list(self._entered)
        entered = {"shown": shown, "more": self._entered_total - len(shown)}
        self._entered.clear()
        self._entered_total = 0
        return entered

    def _drop_unchanged_counts(self) -> None:
        sent = self._sent_counts
        self._count_updates = {name: v for name, v in self._count_updates.items() if sent.get(name) != v}

    def _take_items(self) -> list[StreamItem]:
        pending, self._pending = self._pending, []
        comments, self._comments = self._comments, 0
        if not self._sorted:
            pending = sorted({item.offset: item for item in pending}.values(), key=lambda i: i.offset)
            comments = sum(1 for item in pending if item.lane is Lane.COMMENT)
            self._sorted = True
        now = self._clock()
        credit = min(self._credit + self._rate * max(0.0, now - self._last_take), self._burst)
        self._last_take = now
        allowed = int(credit + _EPSILON)
        if comments > allowed:
            pending = _sample(pending, comments, allowed)
            self._dropped_now += comments - allowed
            comments = allowed
        self._credit = max(0.0, credit - comments)
        history = self._history
        for item in pending:
            history.append(item)
        history.advance(self._head)
        return pending

    def _take_counts(self) -> dict[str, int]:
        updates = self._count_updates
        if not updates:
            return {}
        self._count_updates = {}
        sent = self._sent_counts
        changed = {name: value for name, value in updates.items() if sent.get(name) != value}
        sent.update(changed)
        return changed


def _sample(items: list[StreamItem], comments: int, keep: int) -> list[StreamItem]:
    """Every priority item and ``keep`` of the ``comments`` comments, evenly spread."""
    chosen = {i * comments // keep for i in range(keep)}
    kept: list[StreamItem] = []
    ordinal = 0
    for item in items:
        if item.lane is Lane.COMMENT:
            if ordinal in chosen:
                kept.append(item)
            ordinal += 1
        else:
            kept.append(item)
    return kept
