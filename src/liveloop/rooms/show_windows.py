"""When shows ran: what the post-live review needs to scope a show's events and rank it (read only).

Unlike the staff-facing reads these take no principal: :func:`get_show_window` serves trusted
callers that check the shop themselves (the review API compares ``shop_id`` with the principal's,
the CLI runs with direct database access).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from liveloop.core.db import Database
from liveloop.rooms.model import ShowState
from liveloop.rooms.storage import ShowRow

#: How many earlier shows :func:`get_earlier_show_windows` returns at most (the newest ones).
MAX_EARLIER_SHOWS = 500


@dataclass(frozen=True, slots=True)
class ShowWindow:
    """A show and the time it was on air (``started_at`` None: it never went live)."""

    show_id: int
    shop_id: int
    room_id: int
    title: str
    state: ShowState
    started_at: datetime | None
    ended_at: datetime | None


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


async def get_show_window(db: Database, show_id: int) -> ShowWindow | None:
    """The show ``show_id`` of any shop, or None when there is none (the caller checks the shop)."""
    async with db.read() as session:
        row = await session.get(ShowRow, show_id)
    return None if row is None else _window(row)


async def get_earlier_show_windows(
    db: Database, *, shop_id: int, before: datetime, limit: int = MAX_EARLIER_SHOWS
) -> list[ShowWindow]:
    """The shop's ended shows that went live before ``before``, newest first (at most ``limit``)."""
    stmt = (
        select(ShowRow)
        .where(
            ShowRow.shop_id == shop_id,
            ShowRow.state == ShowState.ENDED.value,
            ShowRow.started_at.is_not(None),
            ShowRow.ended_at.is_not(None),
            ShowRow.started_at < before,
        )
        .order_by(ShowRow.started_at.desc(), ShowRow.id.desc())
        .limit(max(1, min(limit, MAX_EARLIER_SHOWS)))
    )
    async with db.read() as session:
        return [_window(row) for row in await session.scalars(stmt)]
