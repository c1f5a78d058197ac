"""Drawing and cancelling a comment lottery (see :mod:`liveloop.interactions.lottery`).

Drawing (:func:`do_draw`): close the window, read the entries, keep those who meet the rules and are
present (the caller answers presence and watch time), then pick the winners from the seed committed to
when the lottery opened; the seed, the eligible list and the winners are stored and published.
Staff use cases need ``Permission.SHOWS_CONTROL``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import structlog
from sqlalchemy import case, select, update

from liveloop.core.counters import Counters
from liveloop.interactions.errors import InvalidLottery, LotteryFinished
from liveloop.interactions.events import LotteryCancelled, LotteryDrawn, LotteryWinnerData
from liveloop.interactions.lottery import (
    ACTIVE_STATES,
    LotteryChange,
    LotteryState,
    count_entries,
    entrants_key,
    lottery_events,
    lottery_of,
    lottery_row,
    room_key,
    wall_now,
)
from liveloop.interactions.lottery_draw import draw_winners
from liveloop.interactions.service import InteractionsContext
from liveloop.interactions.storage import LotteryEntryRow, LotteryRow, RoomFollowRow
from liveloop.shops import Permission, Principal, check_permission

log = structlog.get_logger(__name__)

_PROBE_BATCH = 256

Present = Callable[[str], Awaitable[bool]]
WatchedSeconds = Callable[[str], Awaitable[int]]


async def _close(
    ctx: InteractionsContext, principal: Principal, lottery_id: int, now: datetime
) -> LotteryRow:
    """open -> closed (closed stays closed): from here on no entry is written."""
    async with ctx.db.transaction() as session:
        row: LotteryRow | None = await session.scalar(
            update(LotteryRow)
            .where(
                LotteryRow.id == lottery_id,
                LotteryRow.shop_id == principal.shop_id,
                LotteryRow.state.in_(ACTIVE_STATES),
            )
            .values(
                state=LotteryState.CLOSED.value,
                closes_at=case((LotteryRow.closes_at > now, now), else_=LotteryRow.closes_at),
            )
            .returning(LotteryRow)
        )
        if row is None:
            await lottery_row(session, principal.shop_id, lottery_id)  # LotteryNotFound
            raise LotteryFinished(f"lottery {lottery_id} has already been drawn or cancelled")
    await _forget_keyword(ctx.counters, row)
    return row


async def _forget_keyword(counters: Counters, row: LotteryRow) -> None:
    try:
        if await counters.get(room_key(row.room_id)) == row.id:
            await counters.delete(room_key(row.room_id))
    except Exception:
        # Harmless: the comment path reads the lottery, sees it closed, and enters nobody.
        log.warning("could not clear a room's keyword lottery", lottery_id=row.id, exc_info=True)


async def _eligible(
    ctx: InteractionsContext,
    row: LotteryRow,
    entrants: Sequence[str],
    *,
    present: Present,
    watched_seconds: WatchedSeconds,
) -> list[str]:
    """The entrants who meet every rule and are present, sorted (cheap checks first, presence last)."""
    candidates = sorted(set(entrants))
    if row.require_follow:
        async with ctx.db.read() as session:
            followers = set(
                await session.scalars(
                    select(RoomFollowRow.viewer_id).where(RoomFollowRow.room_id == row.room_id)
                )
            )
        candidates = [v for v in candidates if v in followers]

    async def keep(check: Callable[[str], Awaitable[bool]], viewers: list[str]) -> list[str]:
        kept: list[str] = []
        for start in range(0, len(viewers), _PROBE_BATCH):
            batch = viewers[start : start + _PROBE_BATCH]
            answers = await asyncio.gather(*(check(v) for v in batch))
            kept.extend(v for v, ok in zip(batch, answers, strict=True) if ok)
        return kept

    if row.min_watch_minutes:
        need = row.min_watch_minutes * 60

        async def watched_enough(viewer: str) -> bool:
            return await watched_seconds(viewer) >= need

        candidates = await keep(watched_enough, candidates)
    return await keep(present, candidates)


async def do_draw(
    ctx: InteractionsContext,
    principal: Principal,
    lottery_id: int,
    *,
    present: Present,
    watched_seconds: WatchedSeconds,
) -> LotteryChange:
    """Close the lottery, keep the entrants who meet its rules and are ``present`` now, and draw the
    winners from the committed seed; emits ``lottery.drawn`` (seed, eligible list, winners).

    ``present`` and ``watched_seconds`` answer for one viewer id (the realtime layer knows). If they
    raise, the lottery stays closed and can be drawn again. LotteryFinished when drawn or cancelled.
    """
    check_permission(principal, Permission.SHOWS_CONTROL)
    now = wall_now(ctx)
    row = await _close(ctx, principal, lottery_id, now)
    async with ctx.db.read() as session:
        entries = await session.execute(
            select(LotteryEntryRow.viewer_id, LotteryEntryRow.nickname).where(
                LotteryEntryRow.lottery_id == lottery_id
            )
        )
    nicknames: dict[str, str] = dict(entries.all())
    eligible = await _eligible(ctx, row, list(nicknames), present=present, watched_seconds=watched_seconds)
    seed = row.secret_seed
    winners = [
        {"viewer_id": v, "nickname": nicknames[v]} for v in draw_winners(seed, eligible, row.winners_count)
    ]
    drawn_at = wall_now(ctx)
    async with ctx.db.transaction() as session:
        done = await session.scalar(
            update(LotteryRow)
            .where(LotteryRow.id == lottery_id, LotteryRow.state == LotteryState.CLOSED.value)
            .values(
                state=LotteryState.DRAWN.value,
                seed=seed,
                eligible=eligible,
                winners=winners,
                entries_count=len(nicknames),
                drawn_at=drawn_at,
            )
            .returning(LotteryRow)
        )
    if done is None:
        raise LotteryFinished(f"lottery {lottery_id} has already been drawn or cancelled")
    await ctx.counters.delete(entrants_key(lottery_id))
    payload = LotteryDrawn(
        lottery_id=lottery_id,
        prize=done.prize,
        seed_hash=done.seed_hash,
        seed=seed,
        entries_count=len(nicknames),
        eligible=eligible,
        winners=[LotteryWinnerData(**w) for w in winners],
    )
    return LotteryChange(
        lottery=lottery_of(done), events=lottery_events(done, payload, actor=f"staff:{principal.staff_id}")
    )


async def do_cancel_lottery(
    ctx: InteractionsContext, principal: Principal, lottery_id: int, *, reason: str = ""
) -> LotteryChange:
    """Cancel an open or closed lottery: nobody wins; the seed is revealed all the same."""
    check_permission(principal, Permission.SHOWS_CONTROL)
    clean = reason.strip()
    if len(clean) > 200:
        raise InvalidLottery("a reason has at most 200 characters")
    async with ctx.db.transaction() as session:
        row = await session.scalar(
            update(LotteryRow)
            .where(
                LotteryRow.id == lottery_id,
                LotteryRow.shop_id == principal.shop_id,
                LotteryRow.state.in_(ACTIVE_STATES),
            )
            .values(state=LotteryState.CANCELLED.value, seed=LotteryRow.secret_seed)
            .returning(LotteryRow)
        )
        if row is None:
            await lottery_row(session, principal.shop_id, lottery_id)
            raise LotteryFinished(f"lottery {lottery_id} has already been drawn or cancelled")
        entries = await count_entries(session, lottery_id)
        row.entries_count = entries
    await _forget_keyword(ctx.counters, row)
    await ctx.counters.delete(entrants_key(lottery_id))
    payload = LotteryCancelled(
        lottery_id=lottery_id, seed_hash=row.seed_hash, seed=row.seed or "", reason=clean
    )
    return LotteryChange(
        lottery=lottery_of(row), events=lottery_events(row, payload, actor=f"staff:{principal.staff_id}")
    )
