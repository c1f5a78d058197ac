"""Entering comment lotteries: by commenting the keyword (:func:`do_note_comment`, called by the
gateway for every accepted comment) or, without a keyword, through :func:`do_enter_lottery`; and the
follows a ``follow`` rule checks (:func:`do_note_follow`).

Without an open keyword lottery in the room a comment costs one Counters ``get``. With one, a comment
that contains the keyword enters its author once: ``add_member`` on the lottery's entrant set, then one
INSERT, the truth, written only while the lottery is open in SQL (under a share lock on PostgreSQL, so
a draw's close waits for it): the entries a draw reads are final.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, String, exists, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from liveloop.core.counters import Counters
from liveloop.core.db import Database, UtcDateTime
from liveloop.core.events import Event, make_event
from liveloop.interactions.errors import (
    AlreadyEntered,
    KeywordEntryOnly,
    LotteryClosed,
    LotteryNotFound,
    SignInRequired,
)
from liveloop.interactions.events import LotteryEntered
from liveloop.interactions.lottery import (
    KEY_GRACE_SECONDS,
    LotteryState,
    entrants_key,
    room_key,
    wall_now,
)
from liveloop.interactions.lottery_rules import keyword_matches
from liveloop.interactions.model import check_viewer_id
from liveloop.interactions.node_memo import NodeMemos
from liveloop.interactions.service import InteractionsContext, check_join
from liveloop.interactions.storage import LotteryEntryRow, LotteryRow, RoomFollowRow

_REBUILD_BATCH = 256


@dataclass(frozen=True, slots=True)
class Entered:
    lottery_id: int
    viewer_id: str
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class LotteryMeta:
    """What an entry needs to know of a lottery. Only ``closes_at`` ever changes (a draw moves it
    earlier), and SQL has the last word on it."""

    lottery_id: int
    shop_id: int
    room_id: int
    show_id: int | None
    keyword: str | None
    closes_at: datetime


_metas: NodeMemos[LotteryMeta] = NodeMemos()


def _check_signed_in(viewer_id: str) -> None:
    if not viewer_id.startswith("u:"):
        raise SignInRequired("sign in to enter lotteries: guests and staff cannot")
    check_viewer_id(viewer_id)


def _insert(session: AsyncSession, entity: type[Any]) -> postgresql.Insert | sqlite.Insert:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(entity)
    return sqlite.insert(entity)


def _meta(row: LotteryRow) -> LotteryMeta:
    return LotteryMeta(
        lottery_id=row.id,
        shop_id=row.shop_id,
        room_id=row.room_id,
        show_id=row.show_id,
        keyword=row.keyword,
        closes_at=row.closes_at,
    )


async def _lottery_meta(ctx: InteractionsContext, lottery_id: int) -> LotteryMeta | None:
    memo = _metas.of(ctx.cache)
    meta = memo.get(lottery_id)
    if meta is None:
        async with ctx.db.read() as session:
            row = await session.get(LotteryRow, lottery_id)
        if row is None:
            return None
        meta = _meta(row)
        memo.put(lottery_id, meta)
    return meta


async def _insert_entry(
    db: Database, meta: LotteryMeta, viewer_id: str, nickname: str, now: datetime
) -> bool:
    """Write the entry if the lottery is open in SQL; False when closed or already entered."""
    lottery_id = meta.lottery_id
    async with db.transaction() as session:
        # PostgreSQL: FOR SHARE, so a draw's close waits for this entry to commit.
        await session.execute(
            select(LotteryRow.id).where(LotteryRow.id == lottery_id).with_for_update(read=True)
        )
        source = select(
            literal(lottery_id, BigInteger()),
            literal(viewer_id, String()),
            literal(nickname, String()),
            literal(now, UtcDateTime()),
        ).where(
            exists().where(
                LotteryRow.id == lottery_id,
                LotteryRow.state == LotteryState.OPEN.value,
                LotteryRow.closes_at > now,
            )
        )
        stmt = (
            _insert(session, LotteryEntryRow)
            .from_select(["lottery_id", "viewer_id", "nickname", "entered_at"], source)
            .on_conflict_do_nothing(index_elements=["lottery_id", "viewer_id"])
            .returning(LotteryEntryRow.id)
        )
        return await session.scalar(stmt) is not None


async def _enter(
    ctx: InteractionsContext, meta: LotteryMeta, *, viewer_id: str, nickname: str, now: datetime, via: str
) -> Entered | None:
    """Enter once; None when already entered (Counters or SQL) or the lottery closed meanwhile."""
    ttl = max((meta.closes_at - now).total_seconds(), 0.0) + KEY_GRACE_SECONDS
    if not await ctx.counters.add_member(entrants_key(meta.lottery_id), viewer_id, ttl_seconds=ttl):
        return None
    try:
        written = await _insert_entry(ctx.db, meta, viewer_id, nickname[:100], now)
    except BaseException:
        await ctx.counters.remove_member(entrants_key(meta.lottery_id), viewer_id)
        raise
    if not written:
        return None
    payload = LotteryEntered(lottery_id=meta.lottery_id, via=via)
    event = make_event(
        payload, shop_id=meta.shop_id, room_id=meta.room_id, show_id=meta.show_id, actor=viewer_id
    )
    return Entered(lottery_id=meta.lottery_id, viewer_id=viewer_id, events=(event,))


async def do_note_comment(
    ctx: InteractionsContext, *, shop_id: int, room_id: int, viewer_id: str, nickname: str, text: str
) -> tuple[Event, ...]:
    """Enter the comment's author in the room's open keyword lottery when ``text`` contains its keyword.

    Call it for every accepted comment (after ``check_comment``); returns the events to emit (none,
    or ``lottery.entered`` the first time). Guests and staff are never entered.
    """
    if not viewer_id.startswith("u:"):
        return ()
    lottery_id = await ctx.counters.get(room_key(room_id))
    if not lottery_id:
        return ()
    meta = await _lottery_meta(ctx, lottery_id)
    now = wall_now(ctx)
    if (
        meta is None
        or meta.keyword is None
        or (meta.shop_id, meta.room_id) != (shop_id, room_id)
        or now >= meta.closes_at
        or not keyword_matches(meta.keyword, text)
    ):
        return ()
    entered = await _enter(ctx, meta, viewer_id=viewer_id, nickname=nickname, now=now, via="keyword")
    return () if entered is None else entered.events


async def do_note_follow(ctx: InteractionsContext, *, shop_id: int, room_id: int, viewer_id: str) -> None:
    """Record that a signed-in viewer follows the room (what the ``follow`` rule checks)."""
    if not viewer_id.startswith("u:"):
        return
    async with ctx.db.transaction() as session:
        stmt = _insert(session, RoomFollowRow).values(
            room_id=room_id, viewer_id=viewer_id, shop_id=shop_id, followed_at=wall_now(ctx)
        )
        await session.execute(stmt.on_conflict_do_nothing(index_elements=["room_id", "viewer_id"]))


async def do_enter_lottery(
    ctx: InteractionsContext, *, shop_id: int, lottery_id: int, viewer_id: str, nickname: str
) -> Entered:
    """Enter a lottery that has no keyword (a keyword lottery is entered by commenting it).

    Refusals change nothing: SignInRequired, LotteryNotFound, KeywordEntryOnly, LotteryClosed, Banned,
    AlreadyEntered.
    """
    _check_signed_in(viewer_id)
    meta = await _lottery_meta(ctx, lottery_id)
    if meta is None or meta.shop_id != shop_id:
        raise LotteryNotFound(f"lottery {lottery_id} not found")
    if meta.keyword is not None:
        raise KeywordEntryOnly(f"comment {meta.keyword!r} in the room to enter this lottery")
    now = wall_now(ctx)
    if now >= meta.closes_at:
        raise LotteryClosed(f"lottery {lottery_id} takes no more entries")
    await check_join(ctx, shop_id=shop_id, room_id=meta.room_id, viewer_id=viewer_id)
    entered = await _enter(ctx, meta, viewer_id=viewer_id, nickname=nickname, now=now, via="api")
    if entered is not None:
        return entered
    async with ctx.db.read() as session:
        known = await session.scalar(
            select(LotteryEntryRow.id).where(
                LotteryEntryRow.lottery_id == lottery_id, LotteryEntryRow.viewer_id == viewer_id
            )
        )
    if known is not None:
        raise AlreadyEntered("you have already entered this lottery")
    await ctx.counters.remove_member(entrants_key(lottery_id), viewer_id)
    raise LotteryClosed(f"lottery {lottery_id} takes no more entries")


async def do_rebuild_lotteries(db: Database, counters: Counters) -> int:
    """Restore, from SQL, each room's open keyword lottery and its entrants; return how many.

    Call it at startup with :func:`do_rebuild_red_packets`.
    """
    now = datetime.now(UTC)
    async with db.read() as session:
        rows = list(
            await session.scalars(
                select(LotteryRow).where(
                    LotteryRow.state == LotteryState.OPEN.value, LotteryRow.keyword.is_not(None)
                )
            )
        )
        entrants = {
            row.id: list(
                await session.scalars(
                    select(LotteryEntryRow.viewer_id).where(LotteryEntryRow.lottery_id == row.id)
                )
            )
            for row in rows
        }
    for row in rows:
        ttl = max((row.closes_at - now).total_seconds(), 0.0) + KEY_GRACE_SECONDS
        await counters.set(room_key(row.room_id), row.id, ttl_seconds=ttl)
        await counters.delete(entrants_key(row.id))
        for start in range(0, len(entrants[row.id]), _REBUILD_BATCH):
            batch = entrants[row.id][start : start + _REBUILD_BATCH]
            await asyncio.gather(
                *(counters.add_member(entrants_key(row.id), v, ttl_seconds=ttl) for v in batch)
            )
    return len(rows)
