"""Rebuild live metrics from the event store when a process starts and its Counters lost them.

Memory Counters start empty: without this, a restart during a live show would show zeros for all
that happened before it, although the event store has every event (it flushes every second, and a
graceful shutdown loses nothing). Redis Counters keep the figures, so a show is rebuilt only when
the Counters hold nothing for it, and only by the node that claims it first (``ShowKeys.rebuild``):
a rebuild never adds to figures that are there.

The order of things, per show (:class:`LiveRebuild`):

1. :meth:`LiveRebuild.plan` runs before the process serves anything: it picks the shows (live, or
   ended within ``recent_seconds``) and makes LiveMetrics hold their live events from then on
   (:meth:`LiveMetrics.hold`). Its start is the cut-off: the replay reads the events before it.
2. :meth:`LiveRebuild.run` (a background task, so the server starts at once) replays each show's
   stored events in time order through a :class:`ShowAggregate`, in batches, skipping the ids of
   held live events (the ingest may have stored them by then). Every ``flush_seconds`` of event time
   it writes the aggregate's delta as the live flush would have, sampling the open sessions into
   the peak CCU and the minute's peak: the same figures a node with a one-second timer writes.
3. LiveMetrics adopts the aggregate (:meth:`LiveMetrics.adopt`): the held live events are folded
   after the replayed ones, and later events go straight to it. Nothing is lost or counted twice.
4. Sessions still open after the replay were on the process that stopped: their sockets are gone
   and this process's presence never saw them, so no sweep would end them. Each is ended by a
   ``viewer.left`` (reason ``timeout``: no heartbeat since) at the last moment the old process is
   known to have been alive, the latest stored event before the cut-off; it goes through the bus
   like any event, so the event store (and a later rebuild) sees the session end too. After a
   graceful shutdown there are none: the closing sockets emitted their leaves.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from liveloop.analytics.live import LiveMetrics
from liveloop.analytics.live_aggregate import ShowAggregate
from liveloop.analytics.live_keys import METRICS_TTL_SECONDS, ShowKeys
from liveloop.analytics.live_state import GRACE_MS, LEFT, epoch_ms
from liveloop.analytics.review_sql import DIALECTS
from liveloop.core.events import Event
from liveloop.core.eventstore import EventStore
from liveloop.rooms import ShowWindow

__all__ = ["RECENT_SECONDS", "LiveRebuild", "RebuildReport"]

log = structlog.get_logger(__name__)

#: Ended shows are rebuilt when they ended this recently (older ones: the review reads the store).
RECENT_SECONDS = 3600.0
#: Events read from the store per query.
BATCH_SIZE = 20_000


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RebuildReport:
    shows: int
    events: int  # replayed
    skipped: int  # stored events already held as live events
    closed: int  # sessions of the old process ended
    dropped: int  # held live events over the bound
    seconds: float


@dataclass(slots=True)
class _Plan:
    windows: list[ShowWindow]
    cutoff: datetime
    last_alive: datetime | None


class LiveRebuild:
    """Replays the event store into ``metrics`` for the shows its Counters lost (see the module)."""

    def __init__(
        self,
        metrics: LiveMetrics,
        store: EventStore,
        *,
        live_shows: Callable[[], Awaitable[Collection[int]]],
        emit: Callable[[Event], None],
        recent_seconds: float = RECENT_SECONDS,
        batch_size: int = BATCH_SIZE,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.metrics = metrics
        self.store = store
        self.live_shows = live_shows
        self.emit = emit
        self.recent_seconds = recent_seconds
        self.batch_size = batch_size
        self._clock = clock
        self._plan: _Plan | None = None

    async def plan(self) -> list[ShowWindow]:
        """Choose the shows to rebuild, claim them and hold their live events (call before serving)."""
        cutoff = self._clock()
        dialect = DIALECTS[self.store.dialect]
        since = cutoff - timedelta(seconds=self.recent_seconds)
        recent = await self.store.query(
            'SELECT DISTINCT show_id FROM events WHERE "at" >= $1 AND "at" < $2 AND show_id IS NOT NULL',
            (dialect.at(since), dialect.at(cutoff)),
        )
        candidates = {int(row[0]) for row in recent} | set(await self.live_shows())
        windows = await self.metrics.windows.shows(candidates)
        chosen: list[ShowWindow] = []
        counters = self.metrics.counters
        for sid in sorted(windows):
            window = windows[sid]
            if window.started_at is None or (window.ended_at is not None and window.ended_at < since):
                continue
            keys = ShowKeys(sid)
            if await counters.hget_all(keys.sums):
                continue  # the Counters kept the show (Redis): nothing to rebuild
            if await counters.incr(keys.rebuild, ttl_seconds=METRICS_TTL_SECONDS) != 1:
                continue  # another node claimed it
            chosen.append(window)
        last_alive = None
        if chosen:
            rows = await self.store.query(
                'SELECT max("at") FROM events WHERE "at" < $1', (dialect.at(cutoff),)
            )
            last_alive = _aware(rows[0][0]) if rows and rows[0][0] is not None else None
        self.metrics.hold(w.show_id for w in chosen)
        self._plan = _Plan(chosen, cutoff, last_alive)
        return chosen

    async def run(self) -> RebuildReport:
        """Replay the planned shows one after the other, hand each to LiveMetrics, end stale sessions."""
        plan = self._plan
        if plan is None:
            raise RuntimeError("plan() first")
        began = time.perf_counter()
        events = skipped = closed = dropped = 0
        for window in plan.windows:
            started = time.perf_counter()
            aggregate = ShowAggregate(window.show_id, started_at=_start(window), ended_at=window.ended_at)
            try:
                replayed, skips = await self._replay(aggregate, window, plan.cutoff)
            except Exception:
                dropped += self.metrics.adopt(aggregate, window)
                log.exception("live metrics rebuild failed", show_id=window.show_id)
                continue
            stale = aggregate.open_sessions()
            show_dropped = self.metrics.adopt(aggregate, window)
            ended = self._end_sessions(window, stale, plan.last_alive)
            events, skipped, closed, dropped = (
                events + replayed,
                skipped + skips,
                closed + ended,
                dropped + show_dropped,
            )
            log.info(
                "live metrics rebuilt",
                show_id=window.show_id,
                events=replayed,
                skipped=skips,
                sessions_ended=ended,
                held_dropped=show_dropped,
                seconds=round(time.perf_counter() - started, 3),
            )
        report = RebuildReport(
            len(plan.windows), events, skipped, closed, dropped, time.perf_counter() - began
        )
        if plan.windows:
            log.info(
                "live metrics rebuild done",
                shows=report.shows,
                events=report.events,
                seconds=round(report.seconds, 3),
            )
        return report

    async def _replay(
        self, aggregate: ShowAggregate, window: ShowWindow, cutoff: datetime
    ) -> tuple[int, int]:
        """Fold the show's stored events before ``cutoff`` into ``aggregate``, written step by step."""
        metrics, sid = self.metrics, window.show_id
        step = max(round(metrics.flush_seconds * 1000), 1)
        held = metrics.held_ids(sid)
        start, end = _start(window), window.ended_at
        boundary = 0  # the end of the current step, epoch ms (0: no step yet)
        pending: list[Event] = []
        replayed = skipped = 0

        async def write(at_ms: int) -> None:
            now = datetime.fromtimestamp(at_ms / 1000, UTC)
            aggregate.apply(pending)
            pending.clear()
            await metrics.write_replayed(aggregate, now, live=end is None or now <= end)

        reader = self.store.read_show(
            sid,
            shop_id=window.shop_id,
            room_id=window.room_id,
            since=start - timedelta(milliseconds=GRACE_MS),  # earlier ones count nowhere
            before=cutoff,
            batch_size=self.batch_size,
        )
        async with aclosing(reader) as batches:
            async for batch in batches:
                for e in batch:
                    if e.id in held:
                        skipped += 1
                        continue
                    if e.show_id is None and not _routed(e, start, end):
                        continue
                    at = epoch_ms(e.at)
                    if at >= boundary:
                        if pending:
                            await write(boundary)
                        boundary = (at // step + 1) * step
                    pending.append(e)
                    replayed += 1
        if pending:
            await write(boundary)
        return replayed, skipped

    def _end_sessions(
        self, window: ShowWindow, stale: dict[str, datetime], last_alive: datetime | None
    ) -> int:
        """End the old process's sessions at ``last_alive`` (see the module docstring, step 4)."""
        if not stale or last_alive is None:
            return 0
        for viewer, entered in stale.items():
            left = max(last_alive, entered)
            self.emit(
                Event(
                    type=LEFT,
                    at=left,
                    shop_id=window.shop_id,
                    room_id=window.room_id,
                    show_id=window.show_id,
                    actor=viewer,
                    data={
                        "viewer_id": viewer,
                        "reason": "timeout",
                        "watch_seconds": round((left - entered).total_seconds(), 3),
                    },
                )
            )
        return len(stale)


def _routed(e: Event, start: datetime, end: datetime | None) -> bool:
    """Whether LiveMetrics sends a room's event of no show to this show: while it is live, and a
    leave after its end (when it is the room's last show)."""
    return e.at >= start and (end is None or e.at <= end or e.type == LEFT)


def _start(window: ShowWindow) -> datetime:
    assert window.started_at is not None  # plan() keeps started shows only
    return window.started_at


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
