"""A shop's shows at a glance, with their rooms' names: what the operator console lists (read only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from liveloop.core.db import Database
from liveloop.rooms.errors import ShowNotFound
from liveloop.rooms.model import ShowState
from liveloop.rooms.storage import RoomRow, ShowRow
from liveloop.shops import Permission, Principal, check_permission

#: How many shows the overview lists (the newest ones).
MAX_OVERVIEW = 200

_RANK = {ShowState.LIVE: 0, ShowState.SCHEDULED: 1, ShowState.ENDED: 2, ShowState.CANCELLED: 3}


@dataclass(frozen=True, slots=True)
class ShowCard:
    show_id: int
    room_id: int
    room_name: str
    title: str
    state: ShowState
    planned_start: datetime
    planned_end: datetime
    started_at: datetime | None
    ended_at: datetime | None


def _card(show: ShowRow, room_name: str) -> ShowCard:
    return ShowCard(
        show_id=show.id,
        room_id=show.room_id,
        room_name=room_name,
        title=show.title,
        state=ShowState(show.state),
        planned_start=show.planned_start,
        planned_end=show.planned_end,
        started_at=show.started_at,
        ended_at=show.ended_at,
    )


def _order(card: ShowCard) -> tuple[int, float]:
    # Live first; then what comes next (soonest first); then the past (latest first).
    stamp = card.planned_start.timestamp()
    return _RANK[card.state], stamp if card.state is ShowState.SCHEDULED else -stamp


async def get_show_cards(db: Database, principal: Principal, *, limit: int = MAX_OVERVIEW) -> list[ShowCard]:
    """The shop's newest ``limit`` shows: live ones, then upcoming, then past."""
    check_permission(principal, Permission.SHOWS_READ)
    stmt = (
        select(ShowRow, RoomRow.name)
        .join(RoomRow, RoomRow.id == ShowRow.room_id)
        .where(ShowRow.shop_id == principal.shop_id)
        .order_by(ShowRow.id.desc())
        .limit(min(max(limit, 1), MAX_OVERVIEW))
    )
    async with db.read() as session:
        rows = (await session.execute(stmt)).all()
    return sorted((_card(show, name) for show, name in rows), key=_order)


async def get_show_card(db: Database, principal: Principal, show_id: int) -> ShowCard:
    """One show of the principal's shop; ShowNotFound for a show of another shop, as for none."""
    check_permission(principal, Permission.SHOWS_READ)
    async with db.read() as session:
        row = (
            await session.execute(
                select(ShowRow, RoomRow.name)
                .join(RoomRow, RoomRow.id == ShowRow.room_id)
                .where(ShowRow.id == show_id, ShowRow.shop_id == principal.shop_id)
            )
        ).first()
    if row is None:
        raise ShowNotFound(f"show {show_id} not found")
    show, name = row
    return _card(show, name)
