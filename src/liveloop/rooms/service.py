"""Use cases of rooms and shows: a shop's channels, their broadcasts and the state machine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from liveloop.core.db import Database, utcnow
from liveloop.core.events import Event, make_event
from liveloop.core.pagination import PageParams
from liveloop.rooms.errors import InvalidSchedule, RoomBusy, RoomNotFound, ShowClosed, ShowNotFound
from liveloop.rooms.events import ShowCancelled, ShowcaseExplaining, ShowEnded, ShowStarted
from liveloop.rooms.model import OPEN_STATES, ShowAction, ShowState, next_state
from liveloop.rooms.storage import RoomRow, ShowRow, end_explaining
from liveloop.shops import Permission, Principal, check_permission


@dataclass(frozen=True, slots=True)
class ShowFilter:
    state: ShowState | None = None
    room_id: int | None = None


def check_schedule(start: datetime, end: datetime) -> None:
    if end <= start:
        raise InvalidSchedule("planned_end must be after planned_start")


async def get_room_shop_id(session: AsyncSession, room_id: int) -> int | None:
    """The shop owning ``room_id``, or None when there is no such room."""
    return await session.scalar(select(RoomRow.shop_id).where(RoomRow.id == room_id))


async def get_live_show_id(session: AsyncSession, room_id: int) -> int | None:
    """The show now live in ``room_id``, if any."""
    return await session.scalar(
        select(ShowRow.id).where(ShowRow.room_id == room_id, ShowRow.state == ShowState.LIVE.value)
    )


async def room_in_shop(session: AsyncSession, principal: Principal, room_id: int) -> RoomRow:
    row = await session.get(RoomRow, room_id)
    if row is None or row.shop_id != principal.shop_id:
        raise RoomNotFound(f"room {room_id} not found")
    return row


async def show_in_shop(
    session: AsyncSession, principal: Principal, show_id: int, *, for_update: bool = False
) -> ShowRow:
    row = await session.get(ShowRow, show_id, with_for_update=for_update)
    if row is None or row.shop_id != principal.shop_id:
        raise ShowNotFound(f"show {show_id} not found")
    return row


async def lock_show(session: AsyncSession, principal: Principal, show_id: int) -> ShowRow:
    """:func:`show_in_shop` under the show's lock, held until the transaction ends, on every backend.

    PostgreSQL locks the row. SQLite has no row locks and takes its one writer lock only at a
    transaction's first write, so a write that changes nothing comes first: no other writer runs
    until this transaction ends, and what it reads next is the latest commit.
    """
    await session.execute(
        update(ShowRow).where(ShowRow.id == show_id).values(explaining_since=ShowRow.explaining_since)
    )
    return await show_in_shop(session, principal, show_id, for_update=True)


def check_open(show: ShowRow) -> None:
    if ShowState(show.state) not in OPEN_STATES:
        raise ShowClosed(f"show {show.id} is {show.state} and can no longer change")


async def do_create_room(db: Database, principal: Principal, *, name: str, description: str) -> RoomRow:
    check_permission(principal, Permission.ROOMS_WRITE)
    async with db.transaction() as session:
        row = RoomRow(shop_id=principal.shop_id, name=name, description=description)
        session.add(row)
    return row


async def get_rooms(db: Database, principal: Principal, page: PageParams) -> list[RoomRow]:
    check_permission(principal, Permission.ROOMS_READ)
    async with db.read() as session:
        stmt = (
            select(RoomRow)
            .where(RoomRow.shop_id == principal.shop_id, RoomRow.id > page.after_id)
            .order_by(RoomRow.id)
            .limit(page.limit + 1)
        )
        return list(await session.scalars(stmt))


async def get_room(db: Database, principal: Principal, room_id: int) -> RoomRow:
    check_permission(principal, Permission.ROOMS_READ)
    async with db.read() as session:
        return await room_in_shop(session, principal, room_id)


async def do_update_room(db: Database, principal: Principal, room_id: int, **changes: Any) -> RoomRow:
    check_permission(principal, Permission.ROOMS_WRITE)
    async with db.transaction() as session:
        row = await room_in_shop(session, principal, room_id)
        for name, value in changes.items():
            setattr(row, name, value)
    return row


async def do_create_show(db: Database, principal: Principal, *, room_id: int, **fields: Any) -> ShowRow:
    check_permission(principal, Permission.SHOWS_WRITE)
    check_schedule(fields["planned_start"], fields["planned_end"])
    async with db.transaction() as session:
        await room_in_shop(session, principal, room_id)
        row = ShowRow(shop_id=principal.shop_id, room_id=room_id, state=ShowState.SCHEDULED.value, **fields)
        session.add(row)
    return row


async def get_shows(db: Database, principal: Principal, page: PageParams, where: ShowFilter) -> list[ShowRow]:
    check_permission(principal, Permission.SHOWS_READ)
    stmt = select(ShowRow).where(ShowRow.shop_id == principal.shop_id, ShowRow.id > page.after_id)
    if where.state is not None:
        stmt = stmt.where(ShowRow.state == where.state.value)
    if where.room_id is not None:
        stmt = stmt.where(ShowRow.room_id == where.room_id)
    async with db.read() as session:
        return list(await session.scalars(stmt.order_by(ShowRow.id).limit(page.limit + 1)))


async def get_show(db: Database, principal: Principal, show_id: int) -> ShowRow:
    check_permission(principal, Permission.SHOWS_READ)
    async with db.read() as session:
        return await show_in_shop(session, principal, show_id)


async def do_update_show(db: Database, principal: Principal, show_id: int, **changes: Any) -> ShowRow:
    check_permission(principal, Permission.SHOWS_WRITE)
    async with db.transaction() as session:
        row = await show_in_shop(session, principal, show_id, for_update=True)
        check_open(row)
        for name, value in changes.items():
            setattr(row, name, value)
        check_schedule(row.planned_start, row.planned_end)
    return row


_TRANSITION_EVENTS: dict[ShowState, type[ShowStarted | ShowEnded | ShowCancelled]] = {
    ShowState.LIVE: ShowStarted,
    ShowState.ENDED: ShowEnded,
    ShowState.CANCELLED: ShowCancelled,
}


def transition_event(show: ShowRow) -> Event:
    payload = _TRANSITION_EVENTS[ShowState(show.state)](
        show_id=show.id, room_id=show.room_id, title=show.title
    )
    return make_event(payload, shop_id=show.shop_id, room_id=show.room_id, show_id=show.id)


@dataclass(frozen=True, slots=True)
class ShowTransition:
    show: ShowRow
    #: What to emit once committed, in order: the 讲解中 product stopping (if one was), the transition.
    events: tuple[Event, ...]


async def do_transition_show(
    db: Database, principal: Principal, show_id: int, action: ShowAction
) -> ShowTransition:
    """Move a show along scheduled -> live -> ended (or scheduled -> cancelled).

    Ending a show also ends the product being explained (its open explain segment closes then).
    The caller emits the returned events once this has committed.
    """
    check_permission(principal, Permission.SHOWS_CONTROL)
    stopped: int | None = None
    try:
        async with db.transaction() as session:
            row = await lock_show(session, principal, show_id)
            state = next_state(ShowState(row.state), action)
            row.state = state.value
            if state is ShowState.LIVE:
                row.started_at = utcnow()
            elif state in (ShowState.ENDED, ShowState.CANCELLED):
                row.ended_at = utcnow()
                stopped = await end_explaining(session, row, at=row.ended_at)
            await session.flush()
    except IntegrityError:
        raise RoomBusy("another show is already live in this room; end it first") from None
    events = [transition_event(row)]
    if stopped is not None:
        payload = ShowcaseExplaining(show_id=row.id, product_id=None, previous_product_id=stopped)
        actor = f"staff:{principal.staff_id}"
        stop = make_event(payload, shop_id=row.shop_id, room_id=row.room_id, show_id=row.id, actor=actor)
        events.insert(0, stop)
    return ShowTransition(show=row, events=tuple(events))
