"""Live poll results in the room: votes (over the socket or REST) become ``poll_tally`` items.

A consumer of the node's event bus. A ``poll.voted`` marks its poll; at most once per ``interval``
the node reads each marked poll's tally (Counters, global across nodes) and publishes it to the
room as one priority item, so a burst of votes costs one item per poll per interval per node, never
one per vote. Overflow policy: merge (only the latest counts matter).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import structlog

from liveloop.core.events import Event
from liveloop.interactions import InteractionsContext, get_tally
from liveloop.realtime.node import RealtimeNode
from liveloop.realtime.stream import Lane

log = structlog.get_logger(__name__)

#: How often a poll's tally goes out while votes arrive.
TALLY_INTERVAL_SECONDS = 1.0


class PollTallies:
    def __init__(
        self,
        node: RealtimeNode,
        interactions: InteractionsContext,
        *,
        interval: float = TALLY_INTERVAL_SECONDS,
    ) -> None:
        self.node = node
        self.interactions = interactions
        self.interval = interval
        self._dirty: dict[int, int] = {}  # poll id -> room id
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, events: Sequence[Event]) -> None:
        for event in events:
            if event.type == "poll.voted" and event.room_id is not None:
                self._dirty[int(event.data["poll_id"])] = event.room_id
        if self._dirty and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._run(), name="poll-tallies")

    async def _run(self) -> None:
        while self._dirty:
            await asyncio.sleep(self.interval)
            dirty, self._dirty = self._dirty, {}
            for poll_id, room_id in dirty.items():
                try:
                    await self.publish(poll_id, room_id)
                except Exception:
                    log.exception("could not publish a poll tally", poll_id=poll_id, room_id=room_id)

    async def publish(self, poll_id: int, room_id: int) -> None:
        tally = await get_tally(self.interactions, poll_id=poll_id)
        item = {
            "type": "poll_tally",
            "poll_id": poll_id,
            "counts": list(tally.counts),
            "total": tally.total,
            "final": tally.final,
        }
        await self.node.publish_to(room_id, Lane.PRIORITY, item)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
