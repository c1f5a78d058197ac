"""Typed events and the in-process event bus.

Everything a viewer or operator does becomes an :class:`Event`: a versioned envelope
(``type``, ``v``, ids, time) around a typed payload. Use cases emit events *after* their
transaction commits. The bus hands them, in batches, to its consumers (live metrics, the
event store); it never blocks the emitter.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import structlog
from pydantic import BaseModel, ConfigDict, Field

log = structlog.get_logger(__name__)


class EventData(BaseModel):
    """Base of every event payload; subclasses set ``TYPE`` (past tense, ``noun.verbed``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1


class Event(BaseModel):
    """The envelope every consumer reads."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    v: int = 1
    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    shop_id: int
    room_id: int | None = None
    show_id: int | None = None
    actor: str | None = Field(default=None, description='"u:<user>", "d:<device>" or "staff:<id>"')
    data: dict[str, Any] = Field(default_factory=dict)


def make_event(
    payload: EventData,
    *,
    shop_id: int,
    room_id: int | None = None,
    show_id: int | None = None,
    actor: str | None = None,
    at: datetime | None = None,
) -> Event:
    return Event(
        type=payload.TYPE,
        v=payload.VERSION,
        shop_id=shop_id,
        room_id=room_id,
        show_id=show_id,
        actor=actor,
        data=payload.model_dump(mode="json"),
        **({"at": at} if at is not None else {}),
    )


Consumer = Callable[[Sequence[Event]], Awaitable[None]]


class EventBus:
    """In-process, bounded, batched fan-out of events to consumers.

    Guarantees: events reach each consumer in emit order, in batches of at most
    ``max_batch``; ``emit`` never blocks or raises on the hot path: when the queue is full
    the event is dropped and counted in ``dropped`` (size the queue so that this is an alarm,
    not a habit). ``close`` drains what was emitted before it.
    """

    def __init__(self, *, max_queue: int = 1_000_000, max_batch: int = 10_000) -> None:
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=max_queue)
        self._consumers: list[Consumer] = []
        self._max_batch = max_batch
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0

    def subscribe(self, consumer: Consumer) -> None:
        self._consumers.append(consumer)

    def emit(self, event: Event) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1

    def emit_many(self, events: Sequence[Event]) -> None:
        for event in events:
            self.emit(event)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="event-bus")

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._deliver(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _deliver(self, batch: list[Event]) -> None:
        for consumer in self._consumers:
            try:
                await consumer(batch)
            except Exception:
                log.exception("event consumer failed", consumer=getattr(consumer, "__qualname__", "?"))

    async def close(self) -> None:
        """Deliver everything emitted so far, then stop."""
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
