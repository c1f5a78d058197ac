"""Show windows in bulk, for the live metrics' routing of events to shows (read only, no principal).

Like :mod:`liveloop.rooms.show_windows` these serve trusted callers that check the shop themselves.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select

from liveloop.core.db import Database
from liveloop.rooms.model import ShowState
from liveloop.rooms.show_windows import ShowWindow
from liveloop.rooms.storage import ShowRow


def _window(row: ShowRow) -> ShowWindow:
    return ShowWindow(
        show_id=row.id,
        shop_id=row.shop_id,
        room_id=row.room_id,
        title=row.title,
        state=ShowState(row.state),
        started_at=row.started_at,
        ended_at=row.ended_at,
    )


async def get_show_windows(db: Database, show_ids: Collection[int]) -> dict[int, ShowWindow]:
    """The windows of the shows among ``show_ids`` that exist (of any shop), by show id."""
    if not show_ids:
        return {}
    async with db.read() as session:
        rows = await session.scalars(select(ShowRow).where(ShowRow.id.in_(sorted(show_ids))))
        return {row.id: _window(row) for row in rows}


async def get_latest_room_windows(db: Database, room_ids: Collection[int]) -> dict[int, ShowWindow]:
    """Per room, the show that went live most recently: the live one, else the last that ended.

    Rooms with no show that ever went live are left out.
    """
    found: dict[int, ShowWindow] = {}
    async with db.read() as session:
        for room_id in sorted(room_ids):
            row = await session.scalar(
                select(ShowRow)
                .where(ShowRow.room_id == room_id, ShowRow.started_at.is_not(None))
                .order_by(ShowRow.started_at.desc(), ShowRow.id.desc())
                .limit(1)
            )
            if row is not None:
                found[room_id] = _window(row)
    return found
