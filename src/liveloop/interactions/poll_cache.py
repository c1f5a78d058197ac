"""Each node's memory of the open polls it serves, so that a vote reads no SQL on a warm cache.

Closing is rare and final: the closing node drops its entry at once; any other node drops its entry when
SQL refuses a vote there (see ``poll_votes.do_vote``), and refuses votes by itself once ``closes_at`` passes.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from liveloop.core.db import Database
from liveloop.interactions import storage
from liveloop.interactions.cache import ModerationCache
from liveloop.interactions.errors import PollNotFound
from liveloop.interactions.poll_rules import check_open
from liveloop.interactions.service import InteractionsContext

__all__ = ["OpenPoll", "PollCache", "poll_cache"]


@dataclass(frozen=True, slots=True)
class OpenPoll:
    """What a vote needs to know of an open poll."""

    poll_id: int
    shop_id: int
    room_id: int
    show_id: int | None
    option_count: int
    closes_at: float | None  # seconds since the epoch


class PollCache:
    """The open polls this node has seen, least recently used first out; concurrent misses of one poll
    share one SQL load. Only open polls are kept: a draft or closed poll is read from SQL each time."""

    def __init__(self, capacity: int = 1024) -> None:
        self._capacity = capacity
        self._open: OrderedDict[int, OpenPoll] = OrderedDict()
        self._loading: dict[int, asyncio.Future[OpenPoll]] = {}

    def drop(self, poll_id: int) -> None:
        self._open.pop(poll_id, None)
        self._loading.pop(poll_id, None)

    async def open_poll(self, db: Database, poll_id: int) -> OpenPoll:
        """The open poll's meta; PollNotFound, PollNotOpen (draft) or PollAlreadyClosed otherwise."""
        hit = self._open.get(poll_id)
        if hit is not None:
            self._open.move_to_end(poll_id)
            return hit
        future = self._loading.get(poll_id)
        if future is None:
            future = asyncio.ensure_future(self._load(db, poll_id))
            self._loading[poll_id] = future

            def forget(done: asyncio.Future[OpenPoll]) -> None:
                if self._loading.get(poll_id) is done:
                    del self._loading[poll_id]

            future.add_done_callback(forget)
        # Shielded: a waiter that is cancelled must not cancel the load the others wait on.
        return await asyncio.shield(future)

    async def _load(self, db: Database, poll_id: int) -> OpenPoll:
        async with db.read() as session:
            row = await session.get(storage.PollRow, poll_id)
        if row is None:
            raise PollNotFound(f"poll {poll_id} not found")
        check_open(row.state, row.id)
        meta = OpenPoll(
            poll_id=row.id,
            shop_id=row.shop_id,
            room_id=row.room_id,
            show_id=row.show_id,
            option_count=len(row.options),
            closes_at=row.closes_at.timestamp() if row.closes_at else None,
        )
        if self._loading.get(poll_id) is not None:  # not dropped by a close while loading
            self._open[poll_id] = meta
            while len(self._open) > self._capacity:
                self._open.popitem(last=False)
        return meta


# One per node: keyed on the context's moderation cache, which lives as long as the node's context.
_caches: WeakKeyDictionary[ModerationCache, PollCache] = WeakKeyDictionary()


def poll_cache(ctx: InteractionsContext) -> PollCache:
    cache = _caches.get(ctx.cache)
    if cache is None:
        cache = _caches[ctx.cache] = PollCache()
    return cache
