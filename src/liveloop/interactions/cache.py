"""The comment hot path's view of moderation state, read from SQL once and kept fresh cheaply.

Per shop: the settings and the built word filter. Per room: slow mode, bans, active mutes. Both live in
bounded LRU maps owned by one :class:`ModerationCache` (one per process, held by the gateway).

Freshness: a staff change commits to SQL, then increments the shop's or room's version counter in
Counters and drops the local entry, so this process sees it at once. Every process polls the versions
of the entries it serves at most every ``refresh_seconds`` (default 1 s; one ``get_many`` covers the
shop and the room) and reloads what changed, so a change made on another node applies within about
that long. Every entry is reloaded at least every ``max_age_seconds`` (default 60 s), which bounds
staleness when an increment is lost (a crash between commit and increment, a flushed Redis).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Generic, TypeVar

import structlog

from liveloop.core.counters import Counters
from liveloop.core.db import Database, utcnow
from liveloop.interactions import storage
from liveloop.interactions.contracts import FilterMode, ModerationSettings
from liveloop.interactions.model import DEFAULT_SETTINGS
from liveloop.interactions.wordfilter import WordFilter
from liveloop.rooms import RoomNotFound, get_room_shop_id

__all__ = ["ModerationCache", "RoomState", "ShopState", "room_version_key", "shop_version_key"]

T = TypeVar("T")
log = structlog.get_logger(__name__)


def shop_version_key(shop_id: int) -> str:
    return f"interactions:v:shop:{shop_id}"


def room_version_key(room_id: int) -> str:
    return f"interactions:v:room:{room_id}"


@dataclass(frozen=True, slots=True)
class ShopState:
    shop_id: int
    settings: ModerationSettings
    words: WordFilter


@dataclass(frozen=True, slots=True)
class RoomState:
    room_id: int
    shop_id: int
    slow_mode_seconds: int
    bans: frozenset[str]
    mutes: Mapping[str, float]  # viewer id -> mute end, seconds since the epoch


@dataclass(slots=True)
class _Slot(Generic[T]):
    state: T
    version: int
    loaded_at: float
    checked_at: float


class _Entries(Generic[T]):
    """A bounded map from id to slot (the least recently used goes first) and the loads in flight."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._slots: OrderedDict[int, _Slot[T]] = OrderedDict()
        # Keyed by (id, version read before loading): a caller that saw a newer version never joins
        # a load that may predate the change.
        self._loading: dict[tuple[int, int], asyncio.Future[T]] = {}

    def get(self, key: int) -> _Slot[T] | None:
        slot = self._slots.get(key)
        if slot is not None:
            self._slots.move_to_end(key)
        return slot

    def put(self, key: int, slot: _Slot[T]) -> None:
        self._slots[key] = slot
        self._slots.move_to_end(key)
        while len(self._slots) > self._capacity:
            self._slots.popitem(last=False)

    def drop(self, key: int) -> None:
        self._slots.pop(key, None)
        for loading in [k for k in self._loading if k[0] == key]:
            del self._loading[loading]

    def __len__(self) -> int:
        return len(self._slots)

    async def load_once(self, key: int, version: int, load: Callable[[], Awaitable[T]]) -> T:
        """Run ``load`` unless a load of the same key and version is in flight; share its result."""
        flight = (key, version)
        future = self._loading.get(flight)
        if future is None:
            future = asyncio.ensure_future(load())
            self._loading[flight] = future

            def forget(done: asyncio.Future[T]) -> None:
                if self._loading.get(flight) is done:
                    del self._loading[flight]

            future.add_done_callback(forget)
        # Shielded: a waiter that is cancelled must not cancel the load the others wait on.
        return await asyncio.shield(future)


def settings_of(row: storage.ModerationSettingsRow) -> ModerationSettings:
    return ModerationSettings(
        filter_mode=FilterMode(row.filter_mode),
        max_comment_length=row.max_comment_length,
        comment_rate_per_second=row.comment_rate_per_second,
        comment_burst=row.comment_burst,
    )


async def load_shop(db: Database, shop_id: int) -> ShopState:
    async with db.read() as session:
        row = await session.get(storage.ModerationSettingsRow, shop_id)
        words = await storage.shop_words(session, shop_id)
    settings = DEFAULT_SETTINGS if row is None else settings_of(row)
    return ShopState(shop_id=shop_id, settings=settings, words=WordFilter.build(words))


async def load_room(db: Database, room_id: int) -> RoomState:
    async with db.read() as session:
        shop_id = await get_room_shop_id(session, room_id)
        if shop_id is None:
            raise RoomNotFound(f"room {room_id} not found")
        row = await session.get(storage.RoomModerationRow, room_id)
        bans = await storage.room_bans(session, room_id)
        mutes = await storage.active_mutes(session, room_id, utcnow())
    return RoomState(
        room_id=room_id,
        shop_id=shop_id,
        slow_mode_seconds=0 if row is None else row.slow_mode_seconds,
        bans=frozenset(bans),
        mutes=MappingProxyType({viewer: until.timestamp() for viewer, until in mutes}),
    )


class ModerationCache:
    """Shop and room moderation state for the hot path; safe to share between the tasks of one loop.

    Concurrent misses of one key share a single SQL load.
    """

    def __init__(
        self,
        *,
        max_shops: int = 1024,
        max_rooms: int = 4096,
        refresh_seconds: float = 1.0,
        max_age_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._shops: _Entries[ShopState] = _Entries(max_shops)
        self._rooms: _Entries[RoomState] = _Entries(max_rooms)
        self._refresh = refresh_seconds
        self._max_age = max_age_seconds
        self._clock = clock
        self._generation = 0  # bumped by every invalidation; a load that saw an older one is not kept

    async def publish(
        self, counters: Counters, *, shop_id: int | None = None, room_id: int | None = None
    ) -> None:
        """After a committed change: drop the local entries and bump the version every node polls."""
        if shop_id is not None:
            self.invalidate_shop(shop_id)
        if room_id is not None:
            self.invalidate_room(room_id)
        try:
            if shop_id is not None:
                await counters.incr(shop_version_key(shop_id))
            if room_id is not None:
                await counters.incr(room_version_key(room_id))
        except Exception:
            # The change is committed; other nodes pick it up at their entries' max age instead.
            log.warning(
                "could not publish a moderation change", shop_id=shop_id, room_id=room_id, exc_info=True
            )

    def invalidate_shop(self, shop_id: int) -> None:
        self._shops.drop(shop_id)
        self._generation += 1

    def invalidate_room(self, room_id: int) -> None:
        self._rooms.drop(room_id)
        self._generation += 1

    async def states(
        self, db: Database, counters: Counters, *, shop_id: int, room_id: int
    ) -> tuple[ShopState, RoomState]:
        """Fresh-enough state of the shop and the room; RoomNotFound unless the room is the shop's."""
        now = self._clock()
        shop_slot, room_slot = self._shops.get(shop_id), self._rooms.get(room_id)
        if shop_slot is None or room_slot is None or self._due(shop_slot, now) or self._due(room_slot, now):
            shop_v, room_v = await counters.get_many([shop_version_key(shop_id), room_version_key(room_id)])
            shop_slot = await self._refreshed(
                self._shops, shop_id, shop_slot, shop_v, now, lambda: load_shop(db, shop_id)
            )
            room_slot = await self._refreshed(
                self._rooms, room_id, room_slot, room_v, now, lambda: load_room(db, room_id)
            )
        if room_slot.state.shop_id != shop_id:
            raise RoomNotFound(f"room {room_id} not found")
        return shop_slot.state, room_slot.state

    def _due(self, slot: _Slot[T], now: float) -> bool:
        return now - slot.checked_at >= self._refresh or now - slot.loaded_at >= self._max_age

    async def _refreshed(
        self,
        entries: _Entries[T],
        key: int,
        slot: _Slot[T] | None,
        version: int,
        now: float,
        load: Callable[[], Awaitable[T]],
    ) -> _Slot[T]:
        if slot is not None and slot.version == version and now - slot.loaded_at < self._max_age:
            slot.checked_at = now
            return slot
        generation = self._generation
        state = await entries.load_once(key, version, load)
        fresh = _Slot(state=state, version=version, loaded_at=now, checked_at=now)
        if generation == self._generation:
            entries.put(key, fresh)
        return fresh
