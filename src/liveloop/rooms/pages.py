"""What the public viewer page may show of a room: its name and the show now live (read only).

No principal: the page is public, like the room socket. Only display fields leave this module.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from liveloop.core.db import Database
from liveloop.rooms.model import ShowState
from liveloop.rooms.storage import RoomRow, ShowRow


@dataclass(frozen=True, slots=True)
class RoomPage:
    room_id: int
    room_name: str
    show_id: int | None
    show_title: str | None
    playback_url: str | None


async def get_room_page(db: Database, room_id: int) -> RoomPage | None:
    """The room and its live show (if any) for the viewer page; None when there is no such room."""
    async with db.read() as session:
        room = await session.get(RoomRow, room_id)
        if room is None:
            return None
        show = await session.scalar(
            select(ShowRow).where(ShowRow.room_id == room_id, ShowRow.state == ShowState.LIVE.value)
        )
    return RoomPage(
        room_id=room.id,
        room_name=room.name,
        show_id=show.id if show else None,
        show_title=show.title if show else None,
        playback_url=show.playback_url if show else None,
    )
