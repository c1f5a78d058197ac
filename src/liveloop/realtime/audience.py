"""Who is in a room now and how long each viewer has watched: the lottery draw's audience.

Both answers come from the shared Counters, so they hold across nodes: presence is the room's
presence set (a viewer whose heartbeats stopped is not present even before the sweep), watch time
is the viewer's closed sessions in this show plus the elapsed part of the open one (its start is
stored when the session begins, wherever it began).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from liveloop.core.counters import Counters
from liveloop.realtime.keys import ScopeKeys, presence_key


class RoomAudience:
    """Implements ``interactions.DrawAudience`` over the realtime counters."""

    def __init__(self, counters: Counters, *, wall_clock: Callable[[], float] = time.time) -> None:
        self._counters = counters
        self._wall = wall_clock

    async def present(self, *, room_id: int, viewer_id: str) -> bool:
        return await self._counters.is_present(presence_key(room_id), viewer_id)

    async def watched_seconds(self, *, room_id: int, show_id: int | None, viewer_id: str) -> int:
        keys = ScopeKeys.of(room_id=room_id, show_id=show_id)
        closed, since_ms = await self._counters.get_many(
            [keys.viewer_watch_seconds(viewer_id), keys.viewer_session_start(viewer_id)]
        )
        open_seconds = max(0.0, self._wall() - since_ms / 1000) if since_ms else 0.0
        return int(closed + open_seconds)
