"""Red packets (红包): staff send an amount cut into random shares; signed-in viewers grab one each.

Sending cuts every share at once (:mod:`liveloop.interactions.redpacket_split`) and stores them in
random order with an ``index`` 0..count-1; no share is shown before it is grabbed. Counters hold, per
packet, ``left`` (shares not handed out yet; the next one is ``left - 1``) and ``grabbed`` (who has
one). Grabbing and the packet's end are in :mod:`liveloop.interactions.redpacket_grab`.

Sending needs ``Permission.SHOWS_CONTROL`` (owner, operator, host); reading, ``SHOWS_READ``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import structlog
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from liveloop.core.events import Event, make_event
from liveloop.core.pagination import PageParams
from liveloop.interactions.errors import (
    InvalidRedPacket,
    RedPacketNotFound,
)
from liveloop.interactions.events import RedPacketSent
from liveloop.interactions.node_memo import NodeMemos
from liveloop.interactions.redpacket_split import check_red_packet, split_red_packet
from liveloop.interactions.service import InteractionsContext
from liveloop.interactions.storage import RedPacketRow, RedPacketShareRow
from liveloop.rooms import RoomNotFound, get_live_show_id, get_room_shop_id
from liveloop.shops import Permission, Principal, check_permission

log = structlog.get_logger(__name__)

DEFAULT_EXPIRES_SECONDS = 300
MIN_EXPIRES_SECONDS, MAX_EXPIRES_SECONDS = 10, 24 * 3600
MAX_DELAY_SECONDS = 3600
MAX_LISTED_SHARES = 1000
MAX_OPEN_LISTED = 20  # a room snapshot shows at most this many open packets
KEY_GRACE_SECONDS = 3600.0  # counters outlive the packet by this much, then expire on their own


class RedPacketState(StrEnum):
    OPEN = "open"
    FINISHED = "finished"  # every share grabbed
    EXPIRED = "expired"  # time ran out; the unclaimed shares were returned


@dataclass(frozen=True, slots=True)
class GrabbedShare:
    viewer_id: str
    nickname: str
    amount_cents: int
    grabbed_at: datetime


@dataclass(frozen=True, slots=True)
class RedPacket:
    id: int
    shop_id: int
    room_id: int
    show_id: int | None
    total_cents: int
    count: int
    state: RedPacketState
    opens_at: datetime
    expires_at: datetime
    finished_at: datetime | None
    created_by: int | None
    grabbed_count: int
    grabbed_cents: int
    shares: tuple[GrabbedShare, ...] = ()  # grabbed shares only (at most MAX_LISTED_SHARES, earliest first)


@dataclass(frozen=True, slots=True)
class RedPacketChange:
    """A staff action's outcome; the caller emits ``events`` (the transaction has committed)."""

    packet: RedPacket
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class Grabbed:
    """A share handed out; the caller emits ``events`` (``red_packet.grabbed``, maybe ``.finished``)."""

    packet_id: int
    room_id: int
    viewer_id: str
    nickname: str
    amount_cents: int
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class PacketMeta:
    """What never changes about a packet: a grab checks it without SQL."""

    packet_id: int
    shop_id: int
    room_id: int
    show_id: int | None
    count: int
    total_cents: int
    opens_at: datetime
    expires_at: datetime


_metas: NodeMemos[PacketMeta] = NodeMemos()


def key_ttl(meta: PacketMeta, now: datetime) -> float:
    """Counters of a packet outlive it by ``KEY_GRACE_SECONDS``, then expire on their own."""
    return max((meta.expires_at - now).total_seconds(), 0.0) + KEY_GRACE_SECONDS


def left_key(packet_id: int) -> str:
    return f"interactions:rp:{packet_id}:left"


def grabbed_key(packet_id: int) -> str:
    return f"interactions:rp:{packet_id}:grabbed"


def wall_now(ctx: InteractionsContext) -> datetime:
    return datetime.fromtimestamp(ctx.wall_clock(), UTC)


def packet_meta_of(row: RedPacketRow) -> PacketMeta:
    return PacketMeta(
        packet_id=row.id,
        shop_id=row.shop_id,
        room_id=row.room_id,
        show_id=row.show_id,
        count=row.count,
        total_cents=row.total_cents,
        opens_at=row.opens_at,
        expires_at=row.expires_at,
    )


# -- reading -------------------------------------------------------------------------------------


async def _room_in_shop(session: AsyncSession, shop_id: int, room_id: int) -> None:
    if await get_room_shop_id(session, room_id) != shop_id:
        raise RoomNotFound(f"room {room_id} not found")


async def packet_meta(ctx: InteractionsContext, *, shop_id: int, packet_id: int) -> PacketMeta:
    """The packet's fixed facts, from this node's memo (RedPacketNotFound unless the shop's)."""
    memo = _metas.of(ctx.cache)
    meta = memo.get(packet_id)
    if meta is None:
        async with ctx.db.read() as session:
            row = await session.get(RedPacketRow, packet_id)
        if row is None:
            raise RedPacketNotFound(f"red packet {packet_id} not found")
        meta = packet_meta_of(row)
        memo.put(packet_id, meta)
    if meta.shop_id != shop_id:
        raise RedPacketNotFound(f"red packet {packet_id} not found")
    return meta


async def _grab_totals(session: AsyncSession, packet_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per packet: (shares grabbed, cents grabbed)."""
    if not packet_ids:
        return {}
    rows = await session.execute(
        select(
            RedPacketShareRow.packet_id,
            func.count(),
            func.coalesce(func.sum(RedPacketShareRow.amount_cents), 0),
        )
        .where(RedPacketShareRow.packet_id.in_(packet_ids), RedPacketShareRow.viewer_id.is_not(None))
        .group_by(RedPacketShareRow.packet_id)
    )
    return {packet_id: (int(n), int(cents)) for packet_id, n, cents in rows}


def _packet(row: RedPacketRow, totals: tuple[int, int], shares: tuple[GrabbedShare, ...] = ()) -> RedPacket:
    return RedPacket(
        id=row.id,
        shop_id=row.shop_id,
        room_id=row.room_id,
        show_id=row.show_id,
        total_cents=row.total_cents,
        count=row.count,
        state=RedPacketState(row.state),
        opens_at=row.opens_at,
        expires_at=row.expires_at,
        finished_at=row.finished_at,
        created_by=row.created_by,
        grabbed_count=totals[0],
        grabbed_cents=totals[1],
        shares=shares,
    )


async def get_red_packet(ctx: InteractionsContext, principal: Principal, packet_id: int) -> RedPacket:
    """The packet with its grabbed shares (unclaimed shares are never shown)."""
    check_permission(principal, Permission.SHOWS_READ)
    async with ctx.db.read() as session:
        row = await session.get(RedPacketRow, packet_id)
        if row is None or row.shop_id != principal.shop_id:
            raise RedPacketNotFound(f"red packet {packet_id} not found")
        grabbed = await session.execute(
            select(
                RedPacketShareRow.viewer_id,
                RedPacketShareRow.nickname,
                RedPacketShareRow.amount_cents,
                RedPacketShareRow.grabbed_at,
            )
            .where(RedPacketShareRow.packet_id == packet_id, RedPacketShareRow.viewer_id.is_not(None))
            .order_by(RedPacketShareRow.grabbed_at, RedPacketShareRow.index.desc())
            .limit(MAX_LISTED_SHARES)
        )
        shares = tuple(
            GrabbedShare(viewer_id=v, nickname=n or "", amount_cents=a, grabbed_at=at)
            for v, n, a, at in grabbed
            if v is not None and at is not None
        )
        totals = await _grab_totals(session, [packet_id])
    return _packet(row, totals.get(packet_id, (0, 0)), shares)


async def get_red_packets(
    ctx: InteractionsContext, principal: Principal, room_id: int, page: PageParams
) -> list[RedPacket]:
    """The room's packets, oldest first (``limit + 1`` of them, for ``page_of``)."""
    check_permission(principal, Permission.SHOWS_READ)
    async with ctx.db.read() as session:
        await _room_in_shop(session, principal.shop_id, room_id)
        rows = list(
            await session.scalars(
                select(RedPacketRow)
                .where(RedPacketRow.room_id == room_id, RedPacketRow.id > page.after_id)
                .order_by(RedPacketRow.id)
                .limit(page.limit + 1)
            )
        )
        totals = await _grab_totals(session, [r.id for r in rows])
    return [_packet(r, totals.get(r.id, (0, 0))) for r in rows]


async def get_open_red_packets(ctx: InteractionsContext, *, shop_id: int, room_id: int) -> list[RedPacket]:
    """The room's packets that can still be grabbed (open, not expired), oldest first, for a room
    snapshot (no principal: the room is public; RoomNotFound unless it is the shop's)."""
    now = wall_now(ctx)
    async with ctx.db.read() as session:
        await _room_in_shop(session, shop_id, room_id)
        rows = list(
            await session.scalars(
                select(RedPacketRow)
                .where(
                    RedPacketRow.room_id == room_id,
                    RedPacketRow.state == RedPacketState.OPEN.value,
                    RedPacketRow.expires_at > now,
                )
                .order_by(RedPacketRow.id)
                .limit(MAX_OPEN_LISTED)
            )
        )
        totals = await _grab_totals(session, [r.id for r in rows])
    return [_packet(r, totals.get(r.id, (0, 0))) for r in rows]


# -- sending -------------------------------------------------------------------------------------


async def do_send_red_packet(
    ctx: InteractionsContext,
    principal: Principal,
    room_id: int,
    *,
    total_cents: int,
    count: int,
    expires_in_seconds: int = DEFAULT_EXPIRES_SECONDS,
    delay_seconds: int = 0,
) -> RedPacketChange:
    """Cut ``total_cents`` into ``count`` random shares, grabbable from ``delay_seconds`` from now until
    ``expires_in_seconds`` after that; emits ``red_packet.sent``."""
    check_permission(principal, Permission.SHOWS_CONTROL)
    check_red_packet(total_cents=total_cents, count=count)
    if not MIN_EXPIRES_SECONDS <= expires_in_seconds <= MAX_EXPIRES_SECONDS:
        raise InvalidRedPacket(f"a red packet lasts {MIN_EXPIRES_SECONDS} to {MAX_EXPIRES_SECONDS} seconds")
    if not 0 <= delay_seconds <= MAX_DELAY_SECONDS:
        raise InvalidRedPacket(f"a red packet opens 0 to {MAX_DELAY_SECONDS} seconds after it is sent")
    shares = split_red_packet(total_cents, count, secrets.SystemRandom())
    now = wall_now(ctx)
    opens_at = now + timedelta(seconds=delay_seconds)
    async with ctx.db.transaction() as session:
        await _room_in_shop(session, principal.shop_id, room_id)
        row = RedPacketRow(
            shop_id=principal.shop_id,
            room_id=room_id,
            show_id=await get_live_show_id(session, room_id),
            total_cents=total_cents,
            count=count,
            state=RedPacketState.OPEN.value,
            opens_at=opens_at,
            expires_at=opens_at + timedelta(seconds=expires_in_seconds),
            created_by=principal.staff_id,
            created_at=now,
        )
        session.add(row)
        await session.flush()
        await session.execute(
            insert(RedPacketShareRow),
            [{"packet_id": row.id, "index": i, "amount_cents": cents} for i, cents in enumerate(shares)],
        )
    meta = packet_meta_of(row)
    _metas.of(ctx.cache).put(row.id, meta)
    try:
        await ctx.counters.set(left_key(row.id), count, ttl_seconds=key_ttl(meta, now))
    except Exception:
        # The packet is committed; the first grab finds ``left`` missing and loads it from SQL.
        log.warning("could not load a new red packet into counters", packet_id=row.id, exc_info=True)
    payload = RedPacketSent(
        packet_id=row.id,
        total_cents=total_cents,
        count=count,
        opens_at=row.opens_at,
        expires_at=row.expires_at,
    )
    event = make_event(
        payload,
        shop_id=principal.shop_id,
        room_id=room_id,
        show_id=row.show_id,
        actor=f"staff:{principal.staff_id}",
    )
    return RedPacketChange(packet=_packet(row, (0, 0)), events=(event,))
