"""Where :class:`~liveloop.analytics.live.LiveMetrics` reads when shows ran: a port and its SQL reader."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from liveloop.core.db import Database
from liveloop.rooms import ShowWindow, get_latest_room_windows, get_show_windows

__all__ = ["DatabaseWindows", "ShowWindows"]


class ShowWindows(Protocol):
    """Where LiveMetrics reads when shows ran (the SQL store; a fake in tests)."""

    async def shows(self, show_ids: Collection[int]) -> dict[int, ShowWindow]:
        """The windows of the shows among ``show_ids`` that exist, of any shop."""

    async def latest_in_rooms(self, room_ids: Collection[int]) -> dict[int, ShowWindow]:
        """Per room, its live show, else the one that ended last (rooms with none left out)."""


@dataclass(frozen=True, slots=True)
class DatabaseWindows:
    db: Database

    async def shows(self, show_ids: Collection[int]) -> dict[int, ShowWindow]:
        return await get_show_windows(self.db, show_ids)

    async def latest_in_rooms(self, room_ids: Collection[int]) -> dict[int, ShowWindow]:
        return await get_latest_room_windows(self.db, room_ids)
