"""The node's housekeeping loop: push local deltas, pull global counts, end silent sessions."""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog

from liveloop.realtime.keys import presence_key
from liveloop.realtime.node import LocalRoom, RealtimeNode
from liveloop.realtime.protocol import CloseCode

log = structlog.get_logger(__name__)

#: Sweep presence and drop idle rooms every this many sync rounds.
SWEEP_EVERY = 20


class RoomSync:
    """Every ``sync_seconds``: per local room, one like increment (if any), one entrance message
    (if any), one read of the shared counts. Every ``SWEEP_EVERY`` rounds: presence sweep, idle
    socket and idle room clean-up. Counts shown to viewers are therefore global and at most about
    ``sync_seconds + tick_seconds`` old."""

    def __init__(self, node: RealtimeNode) -> None:
        self.node = node
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="realtime-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        rounds = 0
        while True:
            await asyncio.sleep(self.node.config.sync_seconds)
            rounds += 1
            for room in list(self.node.rooms.values()):
                try:
                    await self.sync_room(room)
                    if rounds % SWEEP_EVERY == 0:
                        await self.sweep_room(room)
                except Exception:
                    log.exception("room sync failed", room_id=room.room_id)
            if rounds % SWEEP_EVERY == 0:
                await self.node.drop_idle_rooms()

    async def sync_room(self, room: LocalRoom) -> None:
        counters = self.node.counters
        keys = room.keys
        if room.like_delta:
            delta, room.like_delta = room.like_delta, 0
            await counters.incr(keys.likes, delta)
        await self.node.flush_entrances(room)
        likes, shares, follows, pv, peak = await counters.get_many(
            [keys.likes, keys.shares, keys.follows, keys.pv, keys.peak]
        )
        online = await counters.count_presence(presence_key(room.room_id))
        if online > peak:
            # Two nodes may race here; the larger value wins on the next round.
            await counters.set(keys.peak, online)
            peak = online
        hub = room.hub
        for name, value in (
            ("likes", likes),
            ("shares", shares),
            ("follows", follows),
            ("online", online),
            ("peak_online", peak),
            ("views", pv),
        ):
            hub.set_count(name, value)

    async def sweep_room(self, room: LocalRoom) -> None:
        await self.node.sweep_presence(room)
        limit = self.node.config.presence_ttl_seconds
        now = time.monotonic()
        for conns in list(room.connections.values()):
            for conn in list(conns):
                if now - conn.last_seen > limit:
                    conn.ended_by = "timeout"
                    conn.peer.close(CloseCode.IDLE_TIMEOUT, "timeout")
