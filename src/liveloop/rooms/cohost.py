"""Co-hosting (连麦): viewers ask for a seat, staff seat them, seated guests publish over RTC.

A seat request moves requested -> approved (seated) | rejected | cancelled (by the viewer); a seat
ends (``ended``) when staff end it or the guest leaves. A room seats at most ``max_seats`` guests
(the host is not counted). RTC tokens come from the shop's configured provider: publish rights for
seated guests and for staff who run shows, subscribe-only for everyone else.

Seat changes lock the room row first, then the request row, always in that order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from liveloop.core.db import Database, utcnow
from liveloop.core.errors import Forbidden
from liveloop.core.events import Event, make_event
from liveloop.core.pagination import PageParams
from liveloop.core.rtc import RtcIssuerFactory, RtcToken
from liveloop.rooms import rtc
from liveloop.rooms.errors import (
    IllegalTransition,
    RoomNotFound,
    SeatRequestNotFound,
    SeatRequestOpen,
    SeatsFull,
    ViewerAccountRequired,
)
from liveloop.rooms.events import (
    CohostApproved,
    CohostCancelled,
    CohostEnded,
    CohostRejected,
    CohostRequested,
)
from liveloop.rooms.service import get_live_show_id, room_in_shop
from liveloop.rooms.storage import RoomCohostRow, RoomRow, SeatRequestRow
from liveloop.shops import InvalidViewerToken, Permission, Principal, Viewer, check_permission

MIN_SEATS, MAX_SEATS, DEFAULT_SEATS = 1, 8, 1
#: Seated guests get short tokens: once their seat ends, the next refresh is subscribe-only.
GUEST_TOKEN_TTL_SECONDS = 600
TOKEN_TTL_SECONDS = 3600


class SeatState(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    ENDED = "ended"


class SeatAction(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    END = "end"  # staff end a seat
    CANCEL = "cancel"  # the viewer withdraws a pending request
    LEAVE = "leave"  # the guest leaves the seat


SEAT_TRANSITIONS: Mapping[tuple[SeatState, SeatAction], SeatState] = MappingProxyType(
    {
        (SeatState.REQUESTED, SeatAction.APPROVE): SeatState.APPROVED,
        (SeatState.REQUESTED, SeatAction.REJECT): SeatState.REJECTED,
        (SeatState.REQUESTED, SeatAction.CANCEL): SeatState.CANCELLED,
        (SeatState.APPROVED, SeatAction.END): SeatState.ENDED,
        (SeatState.APPROVED, SeatAction.LEAVE): SeatState.ENDED,
    }
)
OPEN_SEAT_STATES = frozenset({SeatState.REQUESTED, SeatState.APPROVED})


def next_seat_state(state: SeatState, action: SeatAction) -> SeatState:
    try:
        return SEAT_TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition(f"cannot {action.value} a seat request that is {state.value}") from None


@dataclass(frozen=True, slots=True)
class SeatFilter:
    state: SeatState | None = None


@dataclass(frozen=True, slots=True)
class CohostSettings:
    room_id: int
    max_seats: int
    seated: int


def check_seat_viewer(viewer: Viewer) -> None:
    if viewer.user_id is None:
        raise ViewerAccountRequired(
            "co-hosting needs a signed-in viewer's token (not a guest or staff token)"
        )


def _may(principal: Principal, permission: Permission) -> bool:
    try:
        check_permission(principal, permission)
    except Forbidden:
        return False
    return True


async def _room(session: AsyncSession, room_id: int, *, lock: bool) -> RoomRow | None:
    # NO KEY UPDATE: serialises seat changes of the room without blocking inserts that reference it.
    return await session.get(RoomRow, room_id, with_for_update={"key_share": True} if lock else None)


async def _staff_room(session: AsyncSession, principal: Principal, room_id: int) -> RoomRow:
    row = await _room(session, room_id, lock=True)
    if row is None or row.shop_id != principal.shop_id:
        raise RoomNotFound(f"room {room_id} not found")
    return row


async def _viewer_room(session: AsyncSession, viewer: Viewer, room_id: int, *, lock: bool = False) -> RoomRow:
    row = await _room(session, room_id, lock=lock)
    if row is None:
        raise RoomNotFound(f"room {room_id} not found")
    if row.shop_id != viewer.shop_id:
        raise InvalidViewerToken("this viewer token belongs to another shop")
    return row


async def _open_request(session: AsyncSession, *, room_id: int, viewer_id: str) -> SeatRequestRow | None:
    return await session.scalar(
        select(SeatRequestRow)
        .where(
            SeatRequestRow.room_id == room_id,
            SeatRequestRow.viewer_id == viewer_id,
            SeatRequestRow.state.in_([s.value for s in OPEN_SEAT_STATES]),
        )
        .with_for_update()
    )


async def _seated(session: AsyncSession, room_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(SeatRequestRow)
        .where(SeatRequestRow.room_id == room_id, SeatRequestRow.state == SeatState.APPROVED.value)
    )
    return int(count or 0)


async def _max_seats(session: AsyncSession, room_id: int) -> int:
    stored = await session.scalar(select(RoomCohostRow.max_seats).where(RoomCohostRow.room_id == room_id))
    return DEFAULT_SEATS if stored is None else stored


def _move(row: SeatRequestRow, action: SeatAction, *, staff_id: int | None = None) -> None:
    state = next_seat_state(SeatState(row.state), action)
    row.state = state.value
    if staff_id is not None:
        row.decided_by = staff_id
    if state is SeatState.APPROVED:
        row.approved_at = utcnow()
    else:
        row.closed_at = utcnow()


# -- viewers ---------------------------------------------------------------------------------------


async def do_request_seat(db: Database, viewer: Viewer, room_id: int) -> SeatRequestRow:
    check_seat_viewer(viewer)
    try:
        async with db.transaction() as session:
            await _viewer_room(session, viewer, room_id)
            current = await _open_request(session, room_id=room_id, viewer_id=viewer.viewer_id)
            if current is not None:
                raise SeatRequestOpen(
                    f"you already have a seat request that is {current.state}",
                    details={"request_id": current.id, "state": current.state},
                )
            row = SeatRequestRow(
                shop_id=viewer.shop_id,
                room_id=room_id,
                show_id=await get_live_show_id(session, room_id),
                viewer_id=viewer.viewer_id,
                nickname=viewer.nickname[:100],
                state=SeatState.REQUESTED.value,
            )
            session.add(row)
            await session.flush()
    except IntegrityError:  # a concurrent request of the same viewer won the unique index
        raise SeatRequestOpen("you already have an open seat request in this room") from None
    return row


async def get_my_seat_request(db: Database, viewer: Viewer, room_id: int) -> SeatRequestRow:
    """The viewer's latest seat request in the room, whatever its state."""
    check_seat_viewer(viewer)
    async with db.read() as session:
        await _viewer_room(session, viewer, room_id)
        row = await session.scalar(
            select(SeatRequestRow)
            .where(SeatRequestRow.room_id == room_id, SeatRequestRow.viewer_id == viewer.viewer_id)
            .order_by(SeatRequestRow.id.desc())
            .limit(1)
        )
    if row is None:
        raise SeatRequestNotFound("you have not asked for a seat in this room")
    return row


async def do_leave_seat(db: Database, viewer: Viewer, room_id: int) -> SeatRequestRow:
    """Withdraw the viewer's pending request, or leave the seat they hold."""
    check_seat_viewer(viewer)
    async with db.transaction() as session:
        await _viewer_room(session, viewer, room_id, lock=True)
        row = await _open_request(session, room_id=room_id, viewer_id=viewer.viewer_id)
        if row is None:
            raise SeatRequestNotFound("you have no pending seat request or seat in this room")
        _move(row, SeatAction.CANCEL if row.state == SeatState.REQUESTED.value else SeatAction.LEAVE)
    return row


# -- staff -----------------------------------------------------------------------------------------


async def get_seat_requests(
    db: Database, principal: Principal, room_id: int, page: PageParams, where: SeatFilter
) -> list[SeatRequestRow]:
    check_permission(principal, Permission.ROOMS_READ)
    stmt = select(SeatRequestRow).where(SeatRequestRow.room_id == room_id, SeatRequestRow.id > page.after_id)
    if where.state is not None:
        stmt = stmt.where(SeatRequestRow.state == where.state.value)
    async with db.read() as session:
        await room_in_shop(session, principal, room_id)
        return list(await session.scalars(stmt.order_by(SeatRequestRow.id).limit(page.limit + 1)))


async def do_decide_seat(
    db: Database, principal: Principal, room_id: int, request_id: int, action: SeatAction
) -> SeatRequestRow:
    """Approve or reject a pending request, or end a seat (staff who run shows only)."""
    check_permission(principal, Permission.SHOWS_CONTROL)
    if action not in (SeatAction.APPROVE, SeatAction.REJECT, SeatAction.END):
        raise ValueError(f"staff do not {action.value} seats")
    async with db.transaction() as session:
        await _staff_room(session, principal, room_id)
        row = await session.get(SeatRequestRow, request_id, with_for_update=True)
        if row is None or row.room_id != room_id:
            raise SeatRequestNotFound(f"seat request {request_id} not found")
        if action is SeatAction.APPROVE and row.state == SeatState.REQUESTED.value:
            seated, limit = await _seated(session, room_id), await _max_seats(session, room_id)
            if seated >= limit:
                raise SeatsFull(
                    f"all {limit} seats are taken; end a seat or raise max_seats first",
                    details={"max_seats": limit, "seated": seated},
                )
        _move(row, action, staff_id=principal.staff_id)
    return row


async def get_cohost_settings(db: Database, principal: Principal, room_id: int) -> CohostSettings:
    check_permission(principal, Permission.ROOMS_READ)
    async with db.read() as session:
        await room_in_shop(session, principal, room_id)
        return CohostSettings(
            room_id=room_id,
            max_seats=await _max_seats(session, room_id),
            seated=await _seated(session, room_id),
        )


async def do_update_cohost_settings(
    db: Database, principal: Principal, room_id: int, *, max_seats: int | None
) -> CohostSettings:
    """Change the seat limit; lowering it below the seated count keeps those guests seated."""
    check_permission(principal, Permission.ROOMS_WRITE)
    async with db.transaction() as session:
        await _staff_room(session, principal, room_id)
        row = await session.get(RoomCohostRow, room_id)
        if max_seats is not None:
            if row is None:
                row = RoomCohostRow(room_id=room_id, shop_id=principal.shop_id, max_seats=max_seats)
                session.add(row)
            row.max_seats = max_seats
            row.updated_at = utcnow()
            await session.flush()
        return CohostSettings(
            room_id=room_id,
            max_seats=await _max_seats(session, room_id),
            seated=await _seated(session, room_id),
        )


_SEAT_EVENTS = {
    SeatState.REQUESTED: CohostRequested,
    SeatState.APPROVED: CohostApproved,
    SeatState.REJECTED: CohostRejected,
    SeatState.CANCELLED: CohostCancelled,
    SeatState.ENDED: CohostEnded,
}


def seat_event(row: SeatRequestRow, *, actor: str) -> Event:
    """The event for the state ``row`` has just reached; emit it once the change has committed."""
    payload = _SEAT_EVENTS[SeatState(row.state)](
        room_id=row.room_id, request_id=row.id, viewer_id=row.viewer_id, nickname=row.nickname
    )
    return make_event(payload, shop_id=row.shop_id, room_id=row.room_id, show_id=row.show_id, actor=actor)


# -- RTC tokens ------------------------------------------------------------------------------------


async def get_viewer_rtc_token(
    db: Database, viewer: Viewer, room_id: int, *, issuers: RtcIssuerFactory
) -> RtcToken:
    """A publish token while the viewer holds a seat in the room, a subscribe-only one otherwise."""
    check_seat_viewer(viewer)
    async with db.read() as session:
        await _viewer_room(session, viewer, room_id)
        config = await rtc.load_rtc_config(session, viewer.shop_id)
        seat = await session.scalar(
            select(SeatRequestRow.id).where(
                SeatRequestRow.room_id == room_id,
                SeatRequestRow.viewer_id == viewer.viewer_id,
                SeatRequestRow.state == SeatState.APPROVED.value,
            )
        )
    seated = seat is not None
    return issuers(config).issue(
        room=rtc.rtc_room_name(shop_id=viewer.shop_id, room_id=room_id),
        identity=viewer.viewer_id,
        name=viewer.nickname,
        can_publish=seated,
        ttl_seconds=GUEST_TOKEN_TTL_SECONDS if seated else TOKEN_TTL_SECONDS,
    )


async def get_staff_rtc_token(
    db: Database, principal: Principal, room_id: int, *, issuers: RtcIssuerFactory
) -> RtcToken:
    """Staff who run shows join as the host (publish); other staff watch (subscribe-only)."""
    check_permission(principal, Permission.ROOMS_READ)
    async with db.read() as session:
        await room_in_shop(session, principal, room_id)
        config = await rtc.load_rtc_config(session, principal.shop_id)
    return issuers(config).issue(
        room=rtc.rtc_room_name(shop_id=principal.shop_id, room_id=room_id),
        identity=f"s:{principal.staff_id}",
        name=principal.role.value,
        can_publish=_may(principal, Permission.SHOWS_CONTROL),
        ttl_seconds=TOKEN_TTL_SECONDS,
    )
