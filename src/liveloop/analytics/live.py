"""LiveMetrics: every show's live metrics, fresh within about a second and global across nodes.

One per process, subscribed to the event bus. Each batch is routed to the :class:`ShowAggregate` of
its show (events without a show but with a room go to the room's live show; a leave also to the
room's last show, whose end it may have outlived; events of no show are ignored) and folded in, in
memory. Every ``flush_seconds`` (and at close) the deltas are written to Counters under per-show keys
(:mod:`.live_keys`): increments, new distinct members, explain segments, and the global number of
open sessions sampled into the peak and the minute's peak. Nodes sharing Redis counters therefore
add up to one figure, and :meth:`LiveMetrics.snapshot` builds the schema from Counters and the show's
row alone, never by scanning events, and once per flush period for all of a show's readers (console
sockets, the API, the alert rules: :mod:`.live_cache`).

Loss window: a crash loses at most ``flush_seconds`` of this node's events (Counters are a cache;
the event store keeps every event for the review). Counters that start empty (memory, after a
restart) are refilled from the event store by :mod:`.live_rebuild`, while the shows' live
events are held (:meth:`LiveMetrics.hold`, :meth:`LiveMetrics.adopt`). When Counters fail, a
delta is kept and retried with the next flush; its parts already written are not written again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from liveloop.analytics.live_aggregate import ShowAggregate
from liveloop.analytics.live_cache import Built, SnapshotCache
from liveloop.analytics.live_delta import ShowDelta
from liveloop.analytics.live_held import HeldEvents
from liveloop.analytics.live_keys import METRICS_TTL_SECONDS, ShowKeys
from liveloop.analytics.live_snapshot import build_metrics, distinct_names
from liveloop.analytics.live_windows import DatabaseWindows, ShowWindows
from liveloop.core.counters import Counters
from liveloop.core.events import Event
from liveloop.rooms import ShowNotFound, ShowState, ShowWindow

__all__ = ["DatabaseWindows", "LiveMetrics", "ShowWindows"]

log = structlog.get_logger(__name__)

#: How soon a show that was not live (or did not exist) is read again when events name it.
RECHECK_SECONDS = 0.25


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class _Known:
    """A cached window (None: no such show, or the room never had a live show) and when it was read."""

    window: ShowWindow | None
    read_at: float


class LiveMetrics:
    """Routes events to show aggregates, flushes their deltas to Counters, reads snapshots back."""

    def __init__(
        self,
        *,
        windows: ShowWindows,
        counters: Counters,
        flush_seconds: float = 1.0,
        window_seconds: float = 2.0,
        retire_seconds: float = 900.0,
        snapshot_seconds: float | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        if flush_seconds <= 0 or window_seconds <= 0:
            raise ValueError("flush_seconds and window_seconds must be positive")
        self.windows = windows
        self.counters = counters
        self.flush_seconds = flush_seconds
        #: How long a show's or room's window is trusted before it is read again (a show started or
        #: ended on another node is seen within this).
        self.window_seconds = window_seconds
        #: An ended show's aggregate is dropped after this long without events.
        self.retire_seconds = retire_seconds
        self._clock = clock
        #: Built snapshots are reused this long (default: the flush period, at most 1 s; 0: never).
        self.snapshots = SnapshotCache(
            min(flush_seconds, 1.0) if snapshot_seconds is None else snapshot_seconds
        )
        self._shows: dict[int, ShowAggregate] = {}
        self._last_event: dict[int, float] = {}
        self._windows: dict[int, _Known] = {}
        self._rooms: dict[int, _Known] = {}
        self._retry: dict[int, ShowDelta] = {}
        self._held: dict[int, HeldEvents] = {}  # shows being rebuilt (live_rebuild): their live events
        self._flush_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        #: Flushes that failed (their deltas are retried).
        self.failures = 0
        #: Events dropped because the shows' windows could not be read (the SQL store was down).
        self.dropped = 0

    # -- the bus consumer ---------------------------------------------------------------------

    async def __call__(self, events: Sequence[Event]) -> None:
        groups: dict[int, list[Event]] = {}
        orphans = False
        for e in events:
            sid = e.show_id
            if sid is None:
                if e.room_id is not None:
                    orphans = True
                continue
            group = groups.get(sid)
            if group is None:
                group = groups[sid] = []
            group.append(e)
        try:
            if orphans:
                groups = await self._group_with_rooms(events)
            if self._held:  # kept, in order, until the show's rebuild hands it over (adopt)
                groups = self._set_aside(groups)
            await self._ensure_windows(groups)
        except Exception as exc:  # noqa: BLE001 - the SQL store is down: shows not known yet count nothing
            lost = len(events) - sum(len(batch) for sid, batch in groups.items() if sid in self._shows)
            self.dropped += lost
            groups = {sid: batch for sid, batch in groups.items() if sid in self._shows}
            log.warning(
                "live metrics could not read show windows, events dropped", events=lost, error=str(exc)
            )
        seen = time.monotonic()
        changed: list[int] = []
        for sid, batch in groups.items():
            aggregate = self._aggregate(sid)
            if aggregate is None:
                continue
            aggregate.apply(batch)
            self._last_event[sid] = seen
            if aggregate.lifecycle_seen:
                aggregate.lifecycle_seen = False
                changed.append(sid)
        if changed:
            try:
                await self._read_windows(changed)
            except Exception as exc:  # noqa: BLE001 - the flush reads them again
                log.warning("live metrics could not re-read show windows", error=str(exc))
        if self._closed:  # a batch the bus delivered after close: write it through
            await self.flush(final=True)

    async def _group_with_rooms(self, events: Sequence[Event]) -> dict[int, list[Event]]:
        """Group in order, sending events without a show to their room's show."""
        rooms = {e.room_id for e in events if e.show_id is None and e.room_id is not None}
        await self._ensure_rooms(rooms)
        groups: dict[int, list[Event]] = {}
        for e in events:
            sid = e.show_id
            if sid is None:
                known = self._rooms.get(e.room_id) if e.room_id is not None else None
                window = known.window if known is not None else None
                if window is None:
                    continue
                if window.state is not ShowState.LIVE and e.type != "viewer.left":
                    continue
                sid = window.show_id
            groups.setdefault(sid, []).append(e)
        return groups

    def _aggregate(self, show_id: int) -> ShowAggregate | None:
        aggregate = self._shows.get(show_id)
        if aggregate is not None:
            return aggregate
        known = self._windows.get(show_id)
        window = known.window if known is not None else None
        if window is None or window.started_at is None:
            return None  # no such show, or it has not started: its events count nowhere
        aggregate = self._shows[show_id] = ShowAggregate(
            show_id, started_at=window.started_at, ended_at=window.ended_at
        )
        return aggregate

    # -- windows ---------------------------------------------------------------------------------

    async def _ensure_windows(self, show_ids: Collection[int]) -> None:
        """Read the windows of shows not known, or known as not started and not read lately.

        Events naming a show that has not started are rare (the show is likely starting right now,
        on another node), so such a show is read again after ``RECHECK_SECONDS`` already.
        """
        now = time.monotonic()
        wanted = []
        for sid in show_ids:
            known = self._windows.get(sid)
            if known is None or (sid not in self._shows and now - known.read_at > RECHECK_SECONDS):
                wanted.append(sid)
        if wanted:
            await self._read_windows(wanted)

    async def _read_windows(self, show_ids: Collection[int]) -> None:
        found = await self.windows.shows(show_ids)
        now = time.monotonic()
        for sid in show_ids:
            window = found.get(sid)
            self._windows[sid] = _Known(window, now)
            aggregate = self._shows.get(sid)
            if window is None or aggregate is None or window.started_at is None:
                continue
            if (window.started_at, window.ended_at) != (aggregate.started_at, aggregate.ended_at):
                aggregate.set_window(started_at=window.started_at, ended_at=window.ended_at)
                self._rooms.pop(window.room_id, None)
                self.snapshots.changed(sid)

    async def _ensure_rooms(self, room_ids: Collection[int]) -> None:
        now = time.monotonic()
        wanted = [
            rid
            for rid in room_ids
            if (known := self._rooms.get(rid)) is None or now - known.read_at > self.window_seconds
        ]
        if not wanted:
            return
        found = await self.windows.latest_in_rooms(wanted)
        for rid in wanted:
            window = found.get(rid)
            self._rooms[rid] = _Known(window, now)
            if window is not None and window.show_id not in self._shows:
                self._windows[window.show_id] = _Known(window, now)

    # -- flushing --------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="live-metrics")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            try:
                await self.flush()
            except Exception:
                log.exception("live metrics flush failed")

    async def flush(self, *, final: bool = False) -> None:
        """Write every show's pending deltas to Counters (``final``: attribute every entry now)."""
        async with self._flush_lock:
            stale = [
                sid
                for sid in self._shows
                if time.monotonic() - self._windows[sid].read_at > self.window_seconds
            ]
            if stale:
                try:
                    await self._read_windows(stale)
                except Exception as exc:  # noqa: BLE001 - keep the old windows, write anyway
                    log.warning("live metrics could not refresh show windows", error=str(exc))
            now = self._clock()
            for sid, aggregate in list(self._shows.items()):
                if aggregate.touched or sid in self._retry or final:
                    await self._write(aggregate, aggregate.drain(now, final=final), now)
            self._retire()

    async def _write(
        self, aggregate: ShowAggregate, delta: ShowDelta, now: datetime, *, live: bool | None = None
    ) -> None:
        """Write ``delta``; ``live`` (default: the show has not ended) samples the open sessions."""
        sid = aggregate.show_id
        pending = self._retry.pop(sid, None)
        pending = delta if pending is None else pending.merge(delta)
        live = aggregate.ended_at is None if live is None else live
        if not pending and not live:
            return
        keys, counters, ttl = ShowKeys(sid), self.counters, METRICS_TTL_SECONDS
        try:
            if pending.sums:
                sums = {"open": pending.sums.pop("open", 0), **pending.sums}
                values = await counters.hincr_many(keys.sums, sums, ttl_seconds=ttl)
                pending.sums = {}
                if live:  # sample the global number of open sessions: CCU now
                    ccu = values[0]
                    peaks = {"pcu": ccu, f"m{aggregate.minute_index(now)}:max_ccu": ccu}
                    await counters.hmax_many(keys.sums, peaks, ttl_seconds=ttl)
            if pending.distinct:
                members = {keys.distinct(name): values for name, values in pending.distinct.items()}
                await counters.add_distinct_many(members, ttl_seconds=ttl)
                pending.distinct = {}
            if pending.explain:
                await counters.hmax_many(keys.explain, pending.explain, ttl_seconds=ttl)
                pending.explain = {}
            if live:  # learn the explain changes other nodes made, for explained PV
                segments = await counters.hget_all(keys.explain)
                aggregate.merge_segments({int(at): product for at, product in segments.items()})
        except Exception as exc:  # noqa: BLE001 - Counters down: keep what is not written, retry
            self.failures += 1
            self._retry[sid] = pending
            log.warning("live metrics flush failed, will retry", show_id=sid, error=str(exc))
        self.snapshots.changed(sid)  # written, or partly: cached snapshots of the show are stale

    def _retire(self) -> None:
        """Forget ended shows that have been quiet a while, and old cache entries."""
        now = time.monotonic()
        for sid, aggregate in list(self._shows.items()):
            quiet = now - self._last_event.get(sid, now) > self.retire_seconds
            if aggregate.ended_at is not None and quiet and not aggregate.touched and sid not in self._retry:
                del self._shows[sid]
                self._last_event.pop(sid, None)
        self.snapshots.prune()
        horizon = 10 * self.window_seconds
        for cache, keep in ((self._windows, self._shows), (self._rooms, {})):
            for key in [k for k, known in cache.items() if k not in keep and now - known.read_at > horizon]:
                del cache[key]

    # -- rebuilding (live_rebuild) ---------------------------------------------------------------

    def hold(self, show_ids: Iterable[int]) -> None:
        """Keep the live events of these shows aside (:class:`HeldEvents`) until :meth:`adopt`."""
        for sid in show_ids:
            self._held.setdefault(sid, HeldEvents())

    def held_ids(self, show_id: int) -> Collection[str]:
        """The ids of the show's held live events (a replay skips them)."""
        held = self._held.get(show_id)
        return held.ids if held is not None else ()

    def _set_aside(self, groups: dict[int, list[Event]]) -> dict[int, list[Event]]:
        for sid in [sid for sid in groups if sid in self._held]:
            self._held[sid].add(groups.pop(sid))
        return groups

    async def write_replayed(self, aggregate: ShowAggregate, now: datetime, *, live: bool) -> None:
        """Write what a replay folded into ``aggregate``, as this node's flush at ``now`` would have
        (``live``: the show was on air then, so the open sessions are sampled into the peaks)."""
        async with self._flush_lock:
            await self._write(aggregate, aggregate.drain(now), now, live=live)

    def adopt(self, aggregate: ShowAggregate, window: ShowWindow) -> int:
        """Take a rebuilt show over: fold its held live events (in order, after the replayed ones)
        and route its later events to ``aggregate``. Returns how many held events were dropped."""
        sid = aggregate.show_id
        held = self._held.pop(sid, HeldEvents())
        self._shows[sid] = aggregate
        self._windows[sid] = _Known(window, time.monotonic())
        self._last_event[sid] = time.monotonic()
        if held.events:
            aggregate.apply(held.events)
        if aggregate.lifecycle_seen:  # the show started or ended meanwhile: the next flush re-reads it
            aggregate.lifecycle_seen = False
            self._windows[sid] = _Known(window, float("-inf"))
        self.dropped += held.dropped
        self.snapshots.changed(sid)
        return held.dropped

    async def close(self) -> None:
        """Stop the timer and write everything pending; later batches are written as they come."""
        self._closed = True
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush(final=True)

    # -- the read path ---------------------------------------------------------------------------

    async def snapshot(self, shop_id: int, show_id: int, *, minutes: bool = True) -> dict[str, Any]:
        """The show's metrics (the schema in docs), from Counters and the show's row.

        ShowNotFound unless the show exists in ``shop_id``. ``minutes=False`` leaves the per-minute
        rows out (and skips counting their distinct sets). Built at most once per ``snapshot_seconds``
        for all readers (:mod:`.live_cache`): the dict is shared, do not change it.
        """
        built = await self.snapshots.get(show_id, minutes, lambda: self._build(show_id, minutes=minutes))
        if built.shop_id != shop_id:
            raise ShowNotFound(f"show {show_id} not found")
        return built.metrics

    async def _build(self, show_id: int, *, minutes: bool) -> Built:
        window = (await self.windows.shows([show_id])).get(show_id)
        if window is None:
            raise ShowNotFound(f"show {show_id} not found")
        now = self._clock()
        keys = ShowKeys(show_id)
        sums, explain = await asyncio.gather(
            self.counters.hget_all(keys.sums), self.counters.hget_all(keys.explain)
        )
        names = distinct_names(window, now, sums, explain, minutes=minutes)
        counts = await self.counters.count_distinct_many([keys.distinct(name) for name in names])
        metrics = build_metrics(
            window,
            now=now,
            sums=sums,
            explain=explain,
            distinct=dict(zip(names, counts, strict=True)),
            minutes=minutes,
        )
        return Built(window.shop_id, metrics)
