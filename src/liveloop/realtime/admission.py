"""What a room socket needs to know about its room when it opens, read once for a crowd.

A flash crowd opens thousands of room sockets within seconds. Each needs its room's shop, the live
show and the product being explained. Read one by one, they queue for the SQL pool (15 connections
by default) and time out after 30 s: measured with 10,000 buyers joining one room, 34 sockets
failed that way.

:class:`RoomFactsReader` shares one read among every socket of a room that opens while it is in
flight (single flight). Nothing is kept after the read: a socket never gets facts read before it
arrived, except by the read's own duration, as if it had arrived a moment earlier. The room's shop
never changes, so it alone is remembered (a bounded memo), and a room already known skips that query.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field

from liveloop.core.db import Database
from liveloop.rooms import Explaining, get_explaining, get_live_show_id, get_room_shop_id

__all__ = ["RoomFacts", "RoomFactsReader"]


@dataclass(frozen=True, slots=True)
class RoomFacts:
    shop_id: int | None  #: None: no such room
    show_id: int | None = None  #: the live show, if one is on air
    explaining: Explaining | None = None


@dataclass(eq=False)
class RoomFactsReader:
    db: Database
    max_rooms: int = 10_000
    _shops: OrderedDict[int, int] = field(default_factory=OrderedDict, repr=False)
    _reading: dict[int, asyncio.Future[RoomFacts]] = field(default_factory=dict, repr=False)

    async def read(self, room_id: int) -> RoomFacts:
        """The room's facts now; joins a read of the same room already in flight."""
        pending = self._reading.get(room_id)
        if pending is None:
            pending = asyncio.ensure_future(self._read(room_id))
            self._reading[room_id] = pending
            pending.add_done_callback(lambda _done: self._reading.pop(room_id, None))
        return await asyncio.shield(pending)  # one caller going away cancels nobody else's read

    async def _read(self, room_id: int) -> RoomFacts:
        async with self.db.read() as session:
            shop_id = self._shops.get(room_id)
            if shop_id is None:
                shop_id = await get_room_shop_id(session, room_id)
                if shop_id is None:
                    return RoomFacts(shop_id=None)
                self._remember(room_id, shop_id)
            show_id = await get_live_show_id(session, room_id)
            explaining = await get_explaining(session, show_id) if show_id is not None else None
        return RoomFacts(shop_id=shop_id, show_id=show_id, explaining=explaining)

    def _remember(self, room_id: int, shop_id: int) -> None:
        self._shops[room_id] = shop_id
        if len(self._shops) > self.max_rooms:
            self._shops.popitem(last=False)
