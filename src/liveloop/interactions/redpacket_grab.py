"""Grabbing red packets, and their upkeep: finishing, expiring, rebuilding the counters from SQL.

A grab (:func:`do_grab`, the hot path) costs, on a warm node: ``add_member`` on the packet's
``grabbed`` set (False: a double grab), ``decr_floor`` on ``left`` (None: empty, and the first step
is undone) and a conditional UPDATE, the truth, that hands the share at the new ``left`` to the viewer,
committed together with the packet's other grabs in flight on this node
(:mod:`liveloop.interactions.redpacket_claims`). That UPDATE only takes a share that is neither
claimed nor returned, and a viewer holds at most one share of a packet (a unique constraint), so no
replay, lost counter or rebuild can pay a share twice or a viewer twice. A node that saw a packet run
out refuses later grabs of it without a round trip.

A red packet is for the room's audience. A grab over a room socket (``room_id`` given) is made in the
room, so the socket proves presence; any other grab (``room_id`` None: the HTTP route) must be seen in
the packet's room by ``presence`` (one Counters read, before any counter changes).

Expiry (:func:`do_sweep_red_packets`, every second or so) returns the unclaimed shares: a grab racing
it either lands first, and counts as grabbed, or finds its share returned and is refused. The grab of
the last share finishes the packet at once when every other grab has landed; the sweep does otherwise.
:func:`do_rebuild_red_packets` restores the counters at startup; a grab that finds ``left`` missing
restores that packet's.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import structlog
from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from liveloop.commerce import RoomPresence, check_present
from liveloop.core.counters import Counters
from liveloop.core.db import Database
from liveloop.core.events import Event, make_event
from liveloop.interactions.errors import (
    AlreadyGrabbed,
    GrabFailed,
    RedPacketEmpty,
    RedPacketExpired,
    RedPacketNotFound,
    RedPacketNotOpen,
    SignInRequired,
)
from liveloop.interactions.events import RedPacketFinished, RedPacketGrabbed
from liveloop.interactions.model import check_viewer_id
from liveloop.interactions.node_memo import NodeMemos
from liveloop.interactions.redpacket import (
    Grabbed,
    PacketMeta,
    RedPacketState,
    grabbed_key,
    key_ttl,
    left_key,
    packet_meta,
    packet_meta_of,
    wall_now,
)
from liveloop.interactions.redpacket_claims import Outcome, claim_share
from liveloop.interactions.service import InteractionsContext, check_join
from liveloop.interactions.storage import RedPacketRow, RedPacketShareRow

log = structlog.get_logger(__name__)

_REBUILD_BATCH = 256
_exhausted: NodeMemos[bool] = NodeMemos()  # packets this node saw run out: later grabs cost nothing


def _check_signed_in(viewer_id: str) -> None:
    if not viewer_id.startswith("u:"):
        raise SignInRequired("sign in to grab red packets: guests and staff cannot")
    check_viewer_id(viewer_id)


class _Unloaded(Exception):
    """``left`` is missing from the counters: load it from SQL, then try again."""


async def do_grab(
    ctx: InteractionsContext,
    *,
    shop_id: int,
    room_id: int | None,
    packet_id: int,
    viewer_id: str,
    nickname: str,
    presence: RoomPresence | None = None,
) -> Grabbed:
    """Hand ``viewer_id`` one share of the packet.

    ``room_id`` is the room of the socket the grab came over: being connected there proves presence.
    None (a grab from outside a room socket) skips the room check and asks ``presence`` instead.

    Refusals change nothing: SignInRequired (guests, staff), RedPacketNotFound (not the shop's, or not
    in ``room_id``), RedPacketNotOpen (its countdown runs), RedPacketExpired, NotInRoom (``room_id`` and
    ``presence`` None, or ``presence`` does not see the viewer in the packet's room), Banned,
    AlreadyGrabbed, RedPacketEmpty, GrabFailed (SQL disagreed with the counters; logged).
    """
    _check_signed_in(viewer_id)
    meta = await packet_meta(ctx, shop_id=shop_id, packet_id=packet_id)
    if room_id not in (None, meta.room_id):
        raise RedPacketNotFound(f"red packet {packet_id} not found")
    now = wall_now(ctx)
    if now < meta.opens_at:
        left = (meta.opens_at - now).total_seconds()
        raise RedPacketNotOpen(
            f"the red packet opens in {left:.0f} s", details={"opens_at": meta.opens_at.isoformat()}
        )
    if now >= meta.expires_at:
        raise RedPacketExpired(f"red packet {packet_id} has expired")
    if _exhausted.of(ctx.cache).get(packet_id):
        raise RedPacketEmpty("every share of this red packet has been grabbed")
    if room_id is None:
        await check_present(presence, room_id=meta.room_id, viewer_id=viewer_id, what="red packets")
    await check_join(ctx, shop_id=shop_id, room_id=meta.room_id, viewer_id=viewer_id)
    try:
        return await _grab(ctx, meta, viewer_id=viewer_id, nickname=nickname, now=now)
    except _Unloaded:
        await _load_counters(ctx.db, ctx.counters, packet_id, only_if_missing=True, now=now)
    try:
        return await _grab(ctx, meta, viewer_id=viewer_id, nickname=nickname, now=now)
    except _Unloaded:
        raise RedPacketEmpty("every share of this red packet has been grabbed") from None


async def _grab(
    ctx: InteractionsContext, meta: PacketMeta, *, viewer_id: str, nickname: str, now: datetime
) -> Grabbed:
    packet_id, counters, ttl = meta.packet_id, ctx.counters, key_ttl(meta, now)
    if not await counters.add_member(grabbed_key(packet_id), viewer_id, ttl_seconds=ttl):
        raise AlreadyGrabbed("you have already grabbed this red packet")
    try:
        index = await counters.decr_floor(left_key(packet_id), 1, floor=0)
    except BaseException:
        await counters.remove_member(grabbed_key(packet_id), viewer_id)
        raise
    if index is None:
        await counters.remove_member(grabbed_key(packet_id), viewer_id)
        if not await counters.expire(left_key(packet_id), ttl):
            raise _Unloaded
        _exhausted.of(ctx.cache).put(packet_id, True)
        raise RedPacketEmpty("every share of this red packet has been grabbed")
    try:
        written = await claim_share(
            ctx, packet_id, index=index, viewer_id=viewer_id, nickname=nickname, at=now
        )
    except BaseException:
        await counters.remove_member(grabbed_key(packet_id), viewer_id)
        raise
    if written.outcome is Outcome.HOLDER:
        # SQL already gives this viewer a share (the counters were lost and rebuilt): they keep it.
        log.warning("a viewer with a share got past the counters", packet_id=packet_id, viewer_id=viewer_id)
        raise AlreadyGrabbed("you have already grabbed this red packet")
    if written.outcome is not Outcome.CLAIMED:
        await counters.remove_member(grabbed_key(packet_id), viewer_id)
        if written.outcome is Outcome.RETURNED:
            raise RedPacketExpired(f"red packet {packet_id} has expired")
        log.error(
            "red packet counters disagree with SQL: the share handed out is not free",
            packet_id=packet_id,
            index=index,
        )
        raise GrabFailed("could not hand out a share; nothing was taken, try again")
    amount = written.amount_cents
    payload = RedPacketGrabbed(
        packet_id=packet_id, viewer_id=viewer_id, nickname=nickname, amount_cents=amount
    )
    event = make_event(
        payload, shop_id=meta.shop_id, room_id=meta.room_id, show_id=meta.show_id, actor=viewer_id
    )
    events: tuple[Event, ...] = (event,)
    if index == 0:
        _exhausted.of(ctx.cache).put(packet_id, True)
        events += await _finish(ctx, packet_id, now=now)
    return Grabbed(
        packet_id=packet_id,
        room_id=meta.room_id,
        viewer_id=viewer_id,
        nickname=nickname,
        amount_cents=amount,
        events=events,
    )


# -- finishing, expiring, rebuilding -------------------------------------------------------------


def _finished_event(packet: RedPacketRow, *, reason: str, returned_count: int, returned_cents: int) -> Event:
    payload = RedPacketFinished(
        packet_id=packet.id,
        reason=reason,
        count=packet.count,
        total_cents=packet.total_cents,
        grabbed_count=packet.count - returned_count,
        grabbed_cents=packet.total_cents - returned_cents,
        returned_cents=returned_cents,
    )
    return make_event(payload, shop_id=packet.shop_id, room_id=packet.room_id, show_id=packet.show_id)


async def _finish(ctx: InteractionsContext, packet_id: int, *, now: datetime) -> tuple[Event, ...]:
    """Mark the packet finished if every share is claimed (a grab still in flight defers it)."""
    unclaimed = exists().where(
        RedPacketShareRow.packet_id == packet_id,
        RedPacketShareRow.viewer_id.is_(None),
        RedPacketShareRow.returned_at.is_(None),
    )
    async with ctx.db.transaction() as session:
        packet = await session.scalar(
            update(RedPacketRow)
            .where(RedPacketRow.id == packet_id, RedPacketRow.state == RedPacketState.OPEN.value, ~unclaimed)
            .values(state=RedPacketState.FINISHED.value, finished_at=now)
            .returning(RedPacketRow)
        )
    if packet is None:
        return ()
    # ``left`` stays (at 0, until its ttl) so late grabs are refused without touching SQL.
    await ctx.counters.delete(grabbed_key(packet_id))
    return (_finished_event(packet, reason="emptied", returned_count=0, returned_cents=0),)


async def _expire(ctx: InteractionsContext, packet_id: int, *, now: datetime) -> tuple[Event, ...]:
    """Expire the packet and return its unclaimed shares (a grab racing this either lands first, and
    counts as grabbed, or finds its share returned and is refused)."""
    async with ctx.db.transaction() as session:
        packet = await session.scalar(
            update(RedPacketRow)
            .where(
                RedPacketRow.id == packet_id,
                RedPacketRow.state == RedPacketState.OPEN.value,
                RedPacketRow.expires_at <= now,
            )
            .values(state=RedPacketState.EXPIRED.value, finished_at=now)
            .returning(RedPacketRow)
        )
        if packet is None:
            return ()
        returned = list(
            await session.scalars(
                update(RedPacketShareRow)
                .where(
                    RedPacketShareRow.packet_id == packet_id,
                    RedPacketShareRow.viewer_id.is_(None),
                    RedPacketShareRow.returned_at.is_(None),
                )
                .values(returned_at=now)
                .returning(RedPacketShareRow.amount_cents)
            )
        )
    await ctx.counters.delete(left_key(packet_id), grabbed_key(packet_id))
    return (
        _finished_event(packet, reason="expired", returned_count=len(returned), returned_cents=sum(returned)),
    )


async def do_sweep_red_packets(ctx: InteractionsContext) -> tuple[Event, ...]:
    """Expire the packets whose time is up and finish those fully grabbed; return the events to emit.

    Run it periodically (every second or so) on any number of nodes: each packet ends exactly once.
    """
    now = wall_now(ctx)
    unclaimed = exists().where(
        RedPacketShareRow.packet_id == RedPacketRow.id,
        RedPacketShareRow.viewer_id.is_(None),
        RedPacketShareRow.returned_at.is_(None),
    )
    is_open = RedPacketRow.state == RedPacketState.OPEN.value
    async with ctx.db.read() as session:
        due = list(
            await session.scalars(select(RedPacketRow.id).where(is_open, RedPacketRow.expires_at <= now))
        )
        full = list(await session.scalars(select(RedPacketRow.id).where(is_open, ~unclaimed)))
    events: list[Event] = []
    for packet_id in due:
        events.extend(await _expire(ctx, packet_id, now=now))
    for packet_id in sorted(set(full) - set(due)):
        events.extend(await _finish(ctx, packet_id, now=now))
    return tuple(events)


async def _swap(session: AsyncSession, packet_id: int, a: int, b: int) -> None:
    """Swap the indexes of shares ``a`` and ``b`` (through -1, which no share uses)."""
    for old, new in ((a, -1), (b, a), (-1, b)):
        await session.execute(
            update(RedPacketShareRow)
            .where(RedPacketShareRow.packet_id == packet_id, RedPacketShareRow.index == old)
            .values(index=new)
        )


async def _load_counters(
    db: Database, counters: Counters, packet_id: int, *, only_if_missing: bool, now: datetime
) -> bool:
    """Rebuild one open packet's counters from SQL; True iff written.

    Free shares are renumbered to ``0 .. free-1`` first: a grab that took an index from the counters
    but never wrote SQL (a crash) leaves a gap, and the next index handed out must be free.
    """
    async with db.transaction() as session:
        # A no-op UPDATE takes the packet's row lock (PostgreSQL) or the write lock (SQLite) first, so
        # two rebuilds of one packet never interleave.
        packet = await session.scalar(
            update(RedPacketRow)
            .where(RedPacketRow.id == packet_id, RedPacketRow.state == RedPacketState.OPEN.value)
            .values(state=RedPacketRow.state)
            .returning(RedPacketRow)
        )
        if packet is None:
            return False
        meta = packet_meta_of(packet)
        ttl = key_ttl(meta, now)
        if only_if_missing and await counters.expire(left_key(packet_id), ttl):
            return False
        shares = (
            await session.execute(
                select(RedPacketShareRow.index, RedPacketShareRow.viewer_id, RedPacketShareRow.returned_at)
                .where(RedPacketShareRow.packet_id == packet_id)
                .order_by(RedPacketShareRow.index)
            )
        ).all()
        free = [index for index, viewer, returned in shares if viewer is None and returned is None]
        taken_low = [
            index for index, viewer, returned in shares if index < len(free) and (viewer or returned)
        ]
        for low, high in zip(taken_low, [i for i in free if i >= len(free)], strict=True):
            await _swap(session, packet_id, low, high)
        holders = [viewer for _, viewer, _ in shares if viewer is not None]
        await counters.set(left_key(packet_id), len(free), ttl_seconds=ttl)
        await counters.delete(grabbed_key(packet_id))
        for start in range(0, len(holders), _REBUILD_BATCH):
            batch = holders[start : start + _REBUILD_BATCH]
            await asyncio.gather(
                *(counters.add_member(grabbed_key(packet_id), v, ttl_seconds=ttl) for v in batch)
            )
    if taken_low:
        log.warning("red packet shares renumbered on rebuild", packet_id=packet_id, moved=len(taken_low))
    return True


async def do_rebuild_red_packets(db: Database, counters: Counters, *, only_missing: bool = False) -> int:
    """Restore ``left`` and ``grabbed`` of every open packet from SQL; return how many were written.

    Call it at startup, before serving grabs. ``only_missing=True`` skips packets whose counters are
    there (a Redis shared with running nodes); the default rewrites them all (in-process counters).
    """
    now = datetime.now(UTC)
    async with db.read() as session:
        ids = list(
            await session.scalars(
                select(RedPacketRow.id)
                .where(RedPacketRow.state == RedPacketState.OPEN.value)
                .order_by(RedPacketRow.id)
            )
        )
    written = 0
    for packet_id in ids:
        written += await _load_counters(db, counters, packet_id, only_if_missing=only_missing, now=now)
    return written
