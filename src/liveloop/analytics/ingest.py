"""Event ingest: the EventBus consumer that writes every event to the event store in batches.

Receiving an event costs a list append; a background task writes what is buffered when
``max_batch`` events are waiting or the oldest has waited ``flush_seconds``, whichever comes
first. While a write is in flight new events keep arriving, and the next write takes everything
buffered (up to ``max_append``): under load the batches grow by themselves (group commit), which
is what keeps the store's per-transaction cost small per event.

Failures: a failed write is retried with exponential backoff (``retry_initial`` doubling up to
``retry_max``), its events kept at the head of the buffer. A batch the store *rejects* (bad
data, not a store outage) is split in halves and retried, so one bad event is isolated and
dropped alone (counted in ``rejected``).

Overflow policy, **drop-newest**: the buffer (events waiting plus the write in flight) holds at
most ``max_buffer`` events; while it is full, arriving events are dropped and counted in
``dropped``. What is buffered keeps its order and is written first when the store answers again,
so an outage leaves one gap rather than holes everywhere.

Loss window: events are durable once the store's ``append`` returns. A crash loses what is
buffered: normally at most ``flush_seconds`` of events (plus the bus's queue), during a store
outage at most ``max_buffer`` events. :meth:`EventIngest.close` loses nothing while the store
answers; if it does not answer within ``close_timeout`` the rest is counted in ``dropped`` and
logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence

import structlog

from liveloop.core.events import Event
from liveloop.core.eventstore import EventRejected, EventStore

__all__ = ["OVERFLOW_POLICY", "EventIngest"]

log = structlog.get_logger(__name__)

OVERFLOW_POLICY = "drop-newest"


class EventIngest:
    """Buffers bus batches and appends them to ``store``; subscribe it with ``bus.subscribe(ingest)``."""

    def __init__(
        self,
        store: EventStore,
        *,
        flush_seconds: float = 1.0,
        max_batch: int = 10_000,
        max_append: int = 100_000,
        max_buffer: int = 1_000_000,
        retry_initial: float = 0.05,
        retry_max: float = 5.0,
        close_timeout: float = 10.0,
    ) -> None:
        if not 0 < max_batch <= max_append <= max_buffer:
            raise ValueError("need 0 < max_batch <= max_append <= max_buffer")
        if flush_seconds <= 0:
            raise ValueError("flush_seconds must be positive")
        self.store = store
        self.flush_seconds = flush_seconds
        self.max_batch = max_batch
        self.max_append = max_append
        self.max_buffer = max_buffer
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.close_timeout = close_timeout
        self._pending: list[Event] = []
        self._in_flight = 0
        self._oldest = 0.0  # monotonic time the oldest pending event arrived
        self._suspect = 0  # head events under suspicion after a rejection, written in smaller parts
        self._limit = max_append
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        #: Events stored, dropped (overflow, or left over at close), rejected by the store.
        self.appended = 0
        self.dropped = 0
        self.rejected = 0
        #: Failed append calls (each is retried).
        self.failures = 0

    @property
    def buffered(self) -> int:
        """Events not yet stored: waiting plus in flight."""
        return len(self._pending) + self._in_flight

    async def __call__(self, events: Sequence[Event]) -> None:
        """The bus consumer: buffer ``events``; never waits on the store."""
        room = self.max_buffer - self.buffered
        if len(events) > room:
            if room > 0 or self.dropped == 0:
                log.warning("event ingest buffer full, dropping events", policy=OVERFLOW_POLICY)
            self.dropped += len(events) - max(room, 0)
            events = events[: max(room, 0)]
            if not events:
                return
        if not self._pending:
            self._oldest = time.monotonic()
            self._wake.set()
        self._pending.extend(events)
        if len(self._pending) >= self.max_batch:
            self._wake.set()

    async def start(self) -> None:
        if self._task is None:
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name="event-ingest")

    async def _run(self) -> None:
        delay = self.retry_initial
        while not self._stop.is_set():
            self._wake.clear()
            if not self._pending:
                await self._wake.wait()
                continue
            wait = self._oldest + self.flush_seconds - time.monotonic()
            if len(self._pending) < self.max_batch and wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
                continue
            if await self._write_head():
                delay = self.retry_initial
                continue
            # Back off; arrivals do not cut it short, close does.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
            delay = min(delay * 2, self.retry_max)

    async def _write_head(self) -> bool:
        """Append the head of the buffer once; False when the store failed (the events are kept)."""
        async with self._write_lock:
            batch = self._pending[: min(self.max_append, self._limit)]
            if not batch:
                return True
            del self._pending[: len(batch)]
            self._in_flight = len(batch)
            try:
                await self.store.append(batch)
            except EventRejected as exc:
                self._rejected(batch, exc)
                return True
            except Exception as exc:  # noqa: BLE001 - any failure: keep the events, retry later
                self.failures += 1
                self._pending[:0] = batch
                log.warning("event store append failed, will retry", events=len(batch), error=str(exc))
                return False
            finally:
                self._in_flight = 0
            self.appended += len(batch)
            if self._suspect:
                self._suspect = max(self._suspect - len(batch), 0)
                if not self._suspect:
                    self._limit = self.max_append
            return True

    def _rejected(self, batch: list[Event], exc: EventRejected) -> None:
        """Write the rejected batch again in halves until the bad event stands alone, then drop it."""
        if len(batch) == 1:
            self.rejected += 1
            log.error("event rejected by the event store, dropped", event_id=batch[0].id, error=str(exc))
            self._suspect = max(self._suspect - 1, 0)
            if not self._suspect:
                self._limit = self.max_append
            return
        self._pending[:0] = batch
        self._suspect = len(batch)
        self._limit = len(batch) // 2

    async def flush(self) -> None:
        """Write everything buffered now, retrying failures for up to ``close_timeout`` seconds;
        what is still unwritten then is dropped (counted and logged)."""
        deadline = time.monotonic() + self.close_timeout
        delay = self.retry_initial
        while self._pending:
            if await self._write_head():
                delay = self.retry_initial
                continue
            if time.monotonic() + delay > deadline:
                left = len(self._pending)
                self.dropped += left
                self._pending.clear()
                log.error("event store unavailable, buffered events lost", events=left)
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.retry_max)

    async def close(self) -> None:
        """Stop the background writer, then write everything still buffered."""
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            task, self._task = self._task, None
            await task
        await self.flush()
