"""The live events of a show whose metrics are being rebuilt, held until the rebuild hands it over."""

from __future__ import annotations

from collections.abc import Sequence

from liveloop.core.events import Event

__all__ = ["MAX_HELD", "HeldEvents"]

#: Live events held per show while its rebuild runs (the event bus's own queue bound).
MAX_HELD = 1_000_000


class HeldEvents:
    """A show's live events in arrival order, and their ids (the replay skips them: they are counted
    from here, though the event store may hold them too).

    Bounded: past ``limit`` events, the newest are dropped and counted in ``dropped`` (overflow
    policy: drop newest, as the event bus does when its queue is full).
    """

    __slots__ = ("dropped", "events", "ids", "limit")

    def __init__(self, limit: int = MAX_HELD) -> None:
        self.limit = limit
        self.events: list[Event] = []
        self.ids: set[str] = set()
        self.dropped = 0

    def add(self, batch: Sequence[Event]) -> None:
        room = max(self.limit - len(self.events), 0)
        if len(batch) > room:
            self.dropped += len(batch) - room
            batch = batch[:room]
        self.events.extend(batch)
        self.ids.update(e.id for e in batch)
