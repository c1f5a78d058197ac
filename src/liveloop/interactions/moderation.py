"""Staff use cases in a live room: mute, ban, kick, delete and pin messages, slow mode.

All of them, and reading their state, need ``Permission.MODERATE`` (owner, operator, host,
moderator). Each ``do_*`` commits, publishes the change to the hot path's caches (see
``ModerationCache.publish``) and returns a decision whose ``events`` the caller emits.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from liveloop.core.db import utcnow
from liveloop.core.events import Event, EventData, make_event
from liveloop.core.pagination import PageParams
from liveloop.interactions import storage
from liveloop.interactions.contracts import (
    ModerationAction,
    ModerationDecision,
    RoomModeration,
)
from liveloop.interactions.errors import AlreadyBanned, BanNotFound, NothingPinned
from liveloop.interactions.events import (
    CommentDeleted,
    MessagePinned,
    MessageUnpinned,
    SlowModeChanged,
    ViewerBanned,
    ViewerKicked,
    ViewerMuted,
    ViewerUnbanned,
)
from liveloop.interactions.model import (
    MAX_LENGTH_LIMIT,
    check_comment_text,
    check_mute_seconds,
    check_offset,
    check_reason,
    check_slow_mode,
    check_viewer_id,
)
from liveloop.interactions.service import InteractionsContext
from liveloop.rooms import RoomNotFound, get_room_shop_id
from liveloop.shops import Permission, Principal, check_permission


async def _room_in_shop(session: AsyncSession, principal: Principal, room_id: int) -> None:
    if await get_room_shop_id(session, room_id) != principal.shop_id:
        raise RoomNotFound(f"room {room_id} not found")


def _events(principal: Principal, room_id: int, *payloads: EventData) -> tuple[Event, ...]:
    actor = f"staff:{principal.staff_id}"
    return tuple(make_event(p, shop_id=principal.shop_id, room_id=room_id, actor=actor) for p in payloads)


def _room_moderation(room_id: int, row: storage.RoomModerationRow | None) -> RoomModeration:
    if row is None:
        return RoomModeration(room_id=room_id, slow_mode_seconds=0, pinned_offset=None, pinned_text=None)
    return RoomModeration(
        room_id=room_id,
        slow_mode_seconds=row.slow_mode_seconds,
        pinned_offset=row.pinned_offset,
        pinned_text=row.pinned_text,
    )


async def _room_row(session: AsyncSession, principal: Principal, room_id: int) -> storage.RoomModerationRow:
    """The room's moderation row, locked, created when missing (the room must be the shop's)."""
    await _room_in_shop(session, principal, room_id)
    await storage.ensure_room_moderation(session, shop_id=principal.shop_id, room_id=room_id)
    return await session.get_one(storage.RoomModerationRow, room_id, with_for_update=True)


async def get_room_moderation(ctx: InteractionsContext, principal: Principal, room_id: int) -> RoomModeration:
    check_permission(principal, Permission.MODERATE)
    async with ctx.db.read() as session:
        await _room_in_shop(session, principal, room_id)
        row = await session.get(storage.RoomModerationRow, room_id)
    return _room_moderation(room_id, row)


async def do_set_slow_mode(
    ctx: InteractionsContext, principal: Principal, room_id: int, *, seconds: int
) -> ModerationDecision:
    """Let each viewer post at most one comment every ``seconds`` in the room (0 turns it off)."""
    check_permission(principal, Permission.MODERATE)
    check_slow_mode(seconds)
    async with ctx.db.transaction() as session:
        row = await _room_row(session, principal, room_id)
        row.slow_mode_seconds = seconds
    await ctx.cache.publish(ctx.counters, room_id=room_id)
    return ModerationDecision(
        action=ModerationAction.SLOW_MODE,
        shop_id=principal.shop_id,
        room_id=room_id,
        staff_id=principal.staff_id,
        at=utcnow(),
        events=_events(principal, room_id, SlowModeChanged(seconds=seconds)),
        slow_mode_seconds=seconds,
    )


async def do_pin(
    ctx: InteractionsContext, principal: Principal, room_id: int, *, offset: int, text: str
) -> ModerationDecision:
    """Pin the message at ``offset`` (its ``text`` as the room shows it), replacing any earlier pin."""
    check_permission(principal, Permission.MODERATE)
    check_offset(offset)
    clean = check_comment_text(text, max_length=MAX_LENGTH_LIMIT)
    async with ctx.db.transaction() as session:
        row = await _room_row(session, principal, room_id)
        row.pinned_offset, row.pinned_text = offset, clean
    return ModerationDecision(
        action=ModerationAction.PIN,
        shop_id=principal.shop_id,
        room_id=room_id,
        staff_id=principal.staff_id,
        at=utcnow(),
        events=_events(principal, room_id, MessagePinned(offset=offset, text=clean)),
        offset=offset,
    )


async def do_unpin(ctx: InteractionsContext, principal: Principal, room_id: int) -> ModerationDecision:
    check_permission(principal, Permission.MODERATE)
    async with ctx.db.transaction() as session:
        row = await _room_row(session, principal, room_id)
        offset = row.pinned_offset
        if offset is None:
            raise NothingPinned("no message is pinned in this room")
        row.pinned_offset, row.pinned_text = None, None
    return ModerationDecision(
        action=ModerationAction.UNPIN,
        shop_id=principal.shop_id,
        room_id=room_id,
        staff_id=principal.staff_id,
        at=utcnow(),
        events=_events(principal, room_id, MessageUnpinned(offset=offset)),
        offset=offset,
    )


async def do_delete_comment(
    ctx: InteractionsContext, principal: Principal, room_id: int, *, offset: int, reason: str = ""
) -> ModerationDecision:
    """Delete the message at ``offset`` of the room stream (the gateway drops it); unpin it if pinned.

    Whether a message exists at ``offset`` is the stream's to know: this checks the room and the
    offset's range only.
    """
    check_permission(principal, Permission.MODERATE)
    check_offset(offset)
    clean = check_reason(reason)
    payloads: list[EventData] = [CommentDeleted(offset=offset, reason=clean)]
    async with ctx.db.transaction() as session:
        await _room_in_shop(session, principal, room_id)
        row = await session.get(storage.RoomModerationRow, room_id, with_for_update=True)
        if row is not None and row.pinned_offset == offset:
            row.pinned_offset, row.pinned_text = None, None
            payloads.append(MessageUnpinned(offset=offset))
    return ModerationDecision(
        action=ModerationAction.DELETE,
        shop_id=principal.shop_id,
        room_id=room_id,
        staff_id=principal.staff_id,
        at=utcnow(),
        events=_events(principal, room_id, *payloads),
        reason=clean,
        offset=offset,
    )


# -- viewers: mute, ban, kick --------------------------------------------------------------------


async def do_mute(
    ctx: InteractionsContext, principal: Principal, room_id: int, *, viewer_id: str, seconds: int
) -> ModerationDecision:
    """Refuse the viewer's comments in the room for ``seconds`` (replacing an earlier mute)."""
    check_permission(principal, Permission.MODERATE)
    check_viewer_id(viewer_id)
    check_mute_seconds(seconds)
    at = datetime.fromtimestamp(ctx.wall_clock(), UTC)  # the clock the hot path expires mutes by
    until = at + timedelta(seconds=seconds)
    async with ctx.db.transaction() as session:
        await _room_in_shop(session, principal, room_id)
        await storage.upsert_mute(
            session,
            shop_id=principal.shop_id,
            room_id=room_id,
            viewer_id=viewer_id,
            until=until,
            staff_id=principal.staff_id,
        )
    await ctx.cache.publish(ctx.counters, room_id=room_id)
    return ModerationDecision(
        action=ModerationAction.MUTE,
        shop_id=principal.shop_id,
        room_id=room_id,
        staff_id=principal.staff_id,
        at=at,
        events=_events(principal, room_id, ViewerMuted(viewer_id=viewer_id, seconds=seconds, until=until)),
        viewer_id=viewer_id,
        until=until,
    )


async def get_bans(
    ctx: InteractionsContext, principal: Principal, room_id: int, page: PageParams
) -> list[storage.RoomBanRow]:
    """A page of the room's bans (``page.limit + 1`` rows, by id)."""
    check_permission(principal, Permission.MODERATE)
    async with ctx.db.read() as session:
        await _room_in_shop(session, principal, room_id)
        rows = await session.scalars(
            select(storage.RoomBanRow)
            .where(storage.RoomBanRow.room_id == room_id, storage.RoomBanRow.id > page.after_id)
            .order_by(storage.RoomBanRow.id)
            .limit(page.limit + 1)
        )
        return list(rows)


async def do_ban(
    ctx: InteractionsContext, principal: Principal, room_id: int, *, viewer_id: str, reason: str = ""
) -> ModerationDecision:
    """Ban the viewer from the room until unbanned: no comments, no entry; the gateway disconnects them."""
    check_permission(principal, Permission.MODERATE)
    check_viewer_id(viewer_id)
    clean = check_reason(reason)
    at = utcnow()
    try:
        async with ctx.db.transaction() as session:
            await _room_in_shop(session, principal, room_id)
            session.add(
                storage.RoomBanRow(
                    shop_id=principal.shop_id,
                    room_id=room_id,
                    viewer_id=viewer_id,
                    banned_by=principal.staff_id,
                    reason=clean,
                    created_at=at,
                )
            )
    except IntegrityError:
        raise AlreadyBanned(f"{viewer_id} is already banned from room {room_id}") from None
    await ctx.cache.publish(ctx.counters, room_id=room_id)
    return ModerationDecision(
        action=ModerationAction.BAN,
        shop_id=principal.shop_id,
        room_id=room_id,
        staff_id=principal.staff_id,
        at=at,
        events=_events(principal, room_id, ViewerBanned(viewer_id=viewer_id, reason=clean)),
        viewer_id=viewer_id,
        reason=clean,
        disconnect=True,
    )


async def do_unban(
    ctx: InteractionsContext, principal: Principal, room_id: int, *, viewer_id: str
) -> ModerationDecision:
    check_permission(principal, Permission.MODERATE)
    check_viewer_id(viewer_id)
    async with ctx.db.transaction() as session:
        await _room_in_shop(session, principal, room_id)
        gone = await session.scalar(
            delete(storage.RoomBanRow)
            .where(storage.RoomBanRow.room_id == room_id, storage.RoomBanRow.viewer_id == viewer_id)
            .returning(storage.RoomBanRow.id)
        )
        if gone is None:
            raise BanNotFound(f"{viewer_id} is not banned from room {room_id}")
    await ctx.cache.publish(ctx.counters, room_id=room_id)
    return ModerationDecision(
        action=ModerationAction.UNBAN,
        shop_id=principal.shop_id,
        room_id=room_id,
        staff_id=principal.staff_id,
        at=utcnow(),
        events=_events(principal, room_id, ViewerUnbanned(viewer_id=viewer_id)),
        viewer_id=viewer_id,
    )


async def do_kick(
    ctx: InteractionsContext, principal: Principal, room_id: int, *, viewer_id: str, reason: str = ""
) -> ModerationDecision:
    """Disconnect the viewer from the room now (the gateway does it); they may come back."""
    check_permission(principal, Permission.MODERATE)
    check_viewer_id(viewer_id)
    clean = check_reason(reason)
    async with ctx.db.read() as session:
        await _room_in_shop(session, principal, room_id)
    return ModerationDecision(
        action=ModerationAction.KICK,
        shop_id=principal.shop_id,
        room_id=room_id,
        staff_id=principal.staff_id,
        at=utcnow(),
        events=_events(principal, room_id, ViewerKicked(viewer_id=viewer_id, reason=clean)),
        viewer_id=viewer_id,
        reason=clean,
        disconnect=True,
    )
