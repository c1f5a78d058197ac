"""Comment lotteries (福袋): staff open one per room with a prize, a number of winners, a window and
rules; signed-in viewers enter; staff draw, verifiably (:mod:`liveloop.interactions.lottery_draw`).

States: ``open`` (taking entries until ``closes_at``) -> ``closed`` (a draw has begun: no more entries)
-> ``drawn``; ``open`` or ``closed`` -> ``cancelled``. A room has at most one lottery open or closed.

Entering is in :mod:`liveloop.interactions.lottery_entries` (by comment keyword, or through the API
when there is no keyword); an entry is only written while the lottery is open in SQL. Drawing and
cancelling are in :mod:`liveloop.interactions.lottery_finish`.

Staff use cases need ``Permission.SHOWS_CONTROL`` (reading: ``SHOWS_READ``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

import structlog
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from liveloop.core.events import Event, make_event
from liveloop.core.pagination import PageParams
from liveloop.interactions.errors import (
    InvalidLottery,
    LotteryAlreadyOpen,
    LotteryNotDrawn,
    LotteryNotFound,
)
from liveloop.interactions.events import LotteryOpened, LotteryRuleData
from liveloop.interactions.lottery_draw import ALGORITHM, LotteryProof, new_seed, seed_hash
from liveloop.interactions.lottery_rules import LotteryRules, check_rules
from liveloop.interactions.service import InteractionsContext
from liveloop.interactions.storage import LotteryEntryRow, LotteryRow
from liveloop.rooms import RoomNotFound, get_live_show_id, get_room_shop_id
from liveloop.shops import Permission, Principal, check_permission

log = structlog.get_logger(__name__)

MAX_PRIZE_LENGTH = 100
MAX_WINNERS = 1000
MIN_DURATION_SECONDS, MAX_DURATION_SECONDS = 10, 24 * 3600
KEY_GRACE_SECONDS = 3600.0


class DrawAudience(Protocol):
    """Who is in a room now and how long they watched: the realtime layer answers (the app wires it)."""

    async def present(self, *, room_id: int, viewer_id: str) -> bool: ...

    async def watched_seconds(self, *, room_id: int, show_id: int | None, viewer_id: str) -> int: ...


class LotteryState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    DRAWN = "drawn"
    CANCELLED = "cancelled"


ACTIVE_STATES = (LotteryState.OPEN.value, LotteryState.CLOSED.value)


@dataclass(frozen=True, slots=True)
class Winner:
    viewer_id: str
    nickname: str


@dataclass(frozen=True, slots=True)
class Lottery:
    id: int
    shop_id: int
    room_id: int
    show_id: int | None
    prize: str
    winners_count: int
    rules: LotteryRules
    state: LotteryState
    opens_at: datetime
    closes_at: datetime
    seed_hash: str
    seed: str | None  # revealed by the draw (or a cancel)
    entries_count: int
    eligible_count: int | None
    winners: tuple[Winner, ...]
    drawn_at: datetime | None
    created_by: int | None


@dataclass(frozen=True, slots=True)
class LotteryChange:
    """A staff action's outcome; the caller emits ``events`` (the transaction has committed)."""

    lottery: Lottery
    events: tuple[Event, ...]


def room_key(room_id: int) -> str:
    """The id of the room's open keyword lottery (0: none), read for every comment."""
    return f"interactions:lottery:room:{room_id}"


def entrants_key(lottery_id: int) -> str:
    return f"interactions:lottery:{lottery_id}:entrants"


def wall_now(ctx: InteractionsContext) -> datetime:
    return datetime.fromtimestamp(ctx.wall_clock(), UTC)


# -- reading -------------------------------------------------------------------------------------


def lottery_of(row: LotteryRow, entries_count: int | None = None) -> Lottery:
    rules = LotteryRules(
        keyword=row.keyword, require_follow=row.require_follow, min_watch_minutes=row.min_watch_minutes
    )
    return Lottery(
        id=row.id,
        shop_id=row.shop_id,
        room_id=row.room_id,
        show_id=row.show_id,
        prize=row.prize,
        winners_count=row.winners_count,
        rules=rules,
        state=LotteryState(row.state),
        opens_at=row.opens_at,
        closes_at=row.closes_at,
        seed_hash=row.seed_hash,
        seed=row.seed,
        entries_count=row.entries_count if entries_count is None else entries_count,
        eligible_count=None if row.eligible is None else len(row.eligible),
        winners=tuple(Winner(w["viewer_id"], w["nickname"]) for w in row.winners or ()),
        drawn_at=row.drawn_at,
        created_by=row.created_by,
    )


async def lottery_row(session: AsyncSession, shop_id: int, lottery_id: int) -> LotteryRow:
    row = await session.get(LotteryRow, lottery_id)
    if row is None or row.shop_id != shop_id:
        raise LotteryNotFound(f"lottery {lottery_id} not found")
    return row


async def count_entries(session: AsyncSession, lottery_id: int) -> int:
    stmt = select(func.count()).select_from(LotteryEntryRow).where(LotteryEntryRow.lottery_id == lottery_id)
    return int(await session.scalar(stmt) or 0)


async def _room_in_shop(session: AsyncSession, shop_id: int, room_id: int) -> None:
    if await get_room_shop_id(session, room_id) != shop_id:
        raise RoomNotFound(f"room {room_id} not found")


async def get_lottery(ctx: InteractionsContext, principal: Principal, lottery_id: int) -> Lottery:
    check_permission(principal, Permission.SHOWS_READ)
    async with ctx.db.read() as session:
        row = await lottery_row(session, principal.shop_id, lottery_id)
        live = await count_entries(session, lottery_id) if row.state in ACTIVE_STATES else None
    return lottery_of(row, live)


async def get_lotteries(
    ctx: InteractionsContext, principal: Principal, room_id: int, page: PageParams
) -> list[Lottery]:
    """The room's lotteries, oldest first (``limit + 1`` of them, for ``page_of``)."""
    check_permission(principal, Permission.SHOWS_READ)
    async with ctx.db.read() as session:
        await _room_in_shop(session, principal.shop_id, room_id)
        rows = await session.scalars(
            select(LotteryRow)
            .where(LotteryRow.room_id == room_id, LotteryRow.id > page.after_id)
            .order_by(LotteryRow.id)
            .limit(page.limit + 1)
        )
        return [lottery_of(r) for r in rows]


async def get_active_lottery(ctx: InteractionsContext, *, shop_id: int, room_id: int) -> Lottery | None:
    """The room's lottery that is open or being drawn, if any, for a room snapshot (no principal: the
    room is public; RoomNotFound unless it is the shop's)."""
    async with ctx.db.read() as session:
        await _room_in_shop(session, shop_id, room_id)
        row = await session.scalar(
            select(LotteryRow).where(LotteryRow.room_id == room_id, LotteryRow.state.in_(ACTIVE_STATES))
        )
        if row is None:
            return None
        return lottery_of(row, await count_entries(session, row.id))


async def get_lottery_proof(ctx: InteractionsContext, principal: Principal, lottery_id: int) -> LotteryProof:
    """What anyone needs to recompute the winners (LotteryNotDrawn before the draw)."""
    check_permission(principal, Permission.SHOWS_READ)
    async with ctx.db.read() as session:
        row = await lottery_row(session, principal.shop_id, lottery_id)
    if row.state != LotteryState.DRAWN.value or row.seed is None or row.eligible is None:
        raise LotteryNotDrawn(f"lottery {lottery_id} has not been drawn")
    return LotteryProof(
        lottery_id=row.id,
        seed_hash=row.seed_hash,
        seed=row.seed,
        winners_count=row.winners_count,
        eligible=tuple(row.eligible),
        winners=tuple(w["viewer_id"] for w in row.winners or ()),
        algorithm=ALGORITHM,
    )


# -- opening and entering ------------------------------------------------------------------------


def check_lottery(*, prize: str, winners_count: int, duration_seconds: int) -> str:
    clean = prize.strip()
    if not 1 <= len(clean) <= MAX_PRIZE_LENGTH or not clean.isprintable():
        raise InvalidLottery(f"a prize is 1 to {MAX_PRIZE_LENGTH} printable characters")
    if isinstance(winners_count, bool) or not 1 <= winners_count <= MAX_WINNERS:
        raise InvalidLottery(f"a lottery has 1 to {MAX_WINNERS} winners")
    if not MIN_DURATION_SECONDS <= duration_seconds <= MAX_DURATION_SECONDS:
        raise InvalidLottery(
            f"a lottery takes entries for {MIN_DURATION_SECONDS} to {MAX_DURATION_SECONDS} s"
        )
    return clean


def lottery_events(row: LotteryRow, *payloads: Any, actor: str) -> tuple[Event, ...]:
    return tuple(
        make_event(p, shop_id=row.shop_id, room_id=row.room_id, show_id=row.show_id, actor=actor)
        for p in payloads
    )


async def do_open_lottery(
    ctx: InteractionsContext,
    principal: Principal,
    room_id: int,
    *,
    prize: str,
    winners_count: int,
    duration_seconds: int,
    rules: Sequence[Mapping[str, Any]] = (),
) -> LotteryChange:
    """Open a lottery in the room now, taking entries for ``duration_seconds``; emits ``lottery.opened``
    with the seed's hash. Refuses any purchase condition (PurchaseConditionForbidden)."""
    check_permission(principal, Permission.SHOWS_CONTROL)
    checked = check_rules(rules)
    clean = check_lottery(prize=prize, winners_count=winners_count, duration_seconds=duration_seconds)
    seed, now = new_seed(), wall_now(ctx)
    try:
        async with ctx.db.transaction() as session:
            await _room_in_shop(session, principal.shop_id, room_id)
            row = LotteryRow(
                shop_id=principal.shop_id,
                room_id=room_id,
                show_id=await get_live_show_id(session, room_id),
                prize=clean,
                winners_count=winners_count,
                keyword=checked.keyword,
                require_follow=checked.require_follow,
                min_watch_minutes=checked.min_watch_minutes,
                state=LotteryState.OPEN.value,
                opens_at=now,
                closes_at=now + timedelta(seconds=duration_seconds),
                seed_hash=seed_hash(seed),
                secret_seed=seed,  # no read path shows it; the draw copies it to ``seed``
                seed=None,
                entries_count=0,
                created_by=principal.staff_id,
                created_at=now,
            )
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise LotteryAlreadyOpen(f"room {room_id} already runs a lottery: draw or cancel it first") from None
    if checked.keyword is not None:
        try:
            ttl = duration_seconds + KEY_GRACE_SECONDS
            await ctx.counters.set(room_key(room_id), row.id, ttl_seconds=ttl)
        except Exception:
            log.warning(
                "could not announce a keyword lottery to the comment path", lottery_id=row.id, exc_info=True
            )
    payload = LotteryOpened(
        lottery_id=row.id,
        prize=row.prize,
        winners_count=row.winners_count,
        rules=[LotteryRuleData(**r) for r in checked.as_list()],
        opens_at=row.opens_at,
        closes_at=row.closes_at,
        seed_hash=row.seed_hash,
    )
    return LotteryChange(
        lottery=lottery_of(row), events=lottery_events(row, payload, actor=f"staff:{principal.staff_id}")
    )
