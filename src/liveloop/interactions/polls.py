"""Live polls: staff create, open and close them; signed-in viewers vote once; tallies live in Counters.

Voting and tallies are in :mod:`liveloop.interactions.poll_votes` (the hot path). Each node keeps the
meta of the open polls it serves (see :mod:`liveloop.interactions.poll_cache`); the values and pure
rules are in :mod:`liveloop.interactions.poll_rules`.

Closing counts ``poll_votes`` (never the counters) into ``result`` and emits ``poll.closed``; a
``next_product`` poll then moves the winning option's product to the front of its show's line-up and
emits ``lineup.reordered``. Staff use cases need ``Permission.SHOWS_CONTROL`` (reading them
``SHOWS_READ``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from liveloop.commerce import get_product_infos
from liveloop.core.errors import LiveloopError
from liveloop.core.events import Event, EventData, make_event
from liveloop.core.pagination import PageParams
from liveloop.interactions import storage
from liveloop.interactions.errors import (
    InvalidPoll,
    NoLiveShow,
    PollAlreadyClosed,
    PollNotFound,
    PollNotOpen,
)
from liveloop.interactions.events import LineupReordered, PollClosed, PollOpened
from liveloop.interactions.poll_cache import poll_cache
from liveloop.interactions.poll_rules import (
    CLOSED_KEY_TTL_SECONDS,
    MAX_DURATION_SECONDS,
    MAX_OPTION_LENGTH,
    MAX_OPTIONS,
    MAX_QUESTION_LENGTH,
    MIN_DURATION_SECONDS,
    MIN_OPTIONS,
    Poll,
    PollChange,
    PollKind,
    PollOption,
    PollResult,
    PollState,
    PollTally,
    VoteCast,
    check_draft,
    check_duration,
    check_open,
    check_poll,
    check_signed_in,
    option_key,
    voters_key,
)
from liveloop.interactions.service import InteractionsContext
from liveloop.rooms import RoomNotFound, do_promote_in_lineup, get_live_show_id, get_room_shop_id
from liveloop.shops import Permission, Principal, check_permission

__all__ = [
    "MAX_DURATION_SECONDS",
    "MAX_OPTIONS",
    "MAX_OPTION_LENGTH",
    "MAX_QUESTION_LENGTH",
    "MIN_DURATION_SECONDS",
    "MIN_OPTIONS",
    "Poll",
    "PollChange",
    "PollKind",
    "PollOption",
    "PollResult",
    "PollState",
    "PollTally",
    "VoteCast",
    "check_signed_in",
    "do_close_due_polls",
    "do_close_poll",
    "do_create_poll",
    "do_open_poll",
    "get_open_polls",
    "get_poll",
    "get_polls",
]

log = structlog.get_logger(__name__)


# -- reading -------------------------------------------------------------------------------------


def poll_of(row: storage.PollRow) -> Poll:
    result = None
    if row.result is not None:
        result = PollResult(
            counts=tuple(row.result["counts"]), total=row.result["total"], winner=row.result["winner"]
        )
    return Poll(
        id=row.id,
        shop_id=row.shop_id,
        room_id=row.room_id,
        show_id=row.show_id,
        question=row.question,
        options=tuple(PollOption(o["text"], o.get("product_id")) for o in row.options),
        kind=PollKind(row.kind),
        state=PollState(row.state),
        created_at=row.created_at,
        opened_at=row.opened_at,
        closes_at=row.closes_at,
        closed_at=row.closed_at,
        result=result,
    )


def _options_data(poll: Poll) -> list[dict[str, Any]]:
    return [{"text": o.text, "product_id": o.product_id} for o in poll.options]


async def _room_in_shop(session: AsyncSession, shop_id: int, room_id: int) -> None:
    if await get_room_shop_id(session, room_id) != shop_id:
        raise RoomNotFound(f"room {room_id} not found")


async def _poll_row(
    session: AsyncSession, shop_id: int, poll_id: int, *, for_update: bool = False
) -> storage.PollRow:
    row = await session.get(storage.PollRow, poll_id, with_for_update=for_update)
    if row is None or row.shop_id != shop_id:
        raise PollNotFound(f"poll {poll_id} not found")
    return row


async def get_poll(ctx: InteractionsContext, principal: Principal, poll_id: int) -> Poll:
    check_permission(principal, Permission.SHOWS_READ)
    async with ctx.db.read() as session:
        return poll_of(await _poll_row(session, principal.shop_id, poll_id))


async def get_polls(
    ctx: InteractionsContext, principal: Principal, room_id: int, page: PageParams
) -> list[Poll]:
    """A page of the room's polls (``page.limit + 1`` of them, by id)."""
    check_permission(principal, Permission.SHOWS_READ)
    async with ctx.db.read() as session:
        await _room_in_shop(session, principal.shop_id, room_id)
        rows = await session.scalars(
            select(storage.PollRow)
            .where(storage.PollRow.room_id == room_id, storage.PollRow.id > page.after_id)
            .order_by(storage.PollRow.id)
            .limit(page.limit + 1)
        )
        return [poll_of(row) for row in rows]


async def get_open_polls(ctx: InteractionsContext, *, shop_id: int, room_id: int) -> list[Poll]:
    """The room's open polls, oldest first, for a room snapshot (no principal: the room is public;
    RoomNotFound unless it is the shop's). Their live counts come from
    :func:`~liveloop.interactions.poll_votes.get_tally`."""
    async with ctx.db.read() as session:
        await _room_in_shop(session, shop_id, room_id)
        rows = await session.scalars(
            select(storage.PollRow)
            .where(storage.PollRow.room_id == room_id, storage.PollRow.state == PollState.OPEN.value)
            .order_by(storage.PollRow.id)
        )
        return [poll_of(row) for row in rows]


# -- staff: create, open, close ------------------------------------------------------------------


def _events(poll: Poll, actor: str | None, *payloads: EventData) -> tuple[Event, ...]:
    return tuple(
        make_event(p, shop_id=poll.shop_id, room_id=poll.room_id, show_id=poll.show_id, actor=actor)
        for p in payloads
    )


def _staff(principal: Principal) -> str:
    return f"staff:{principal.staff_id}"


async def do_create_poll(
    ctx: InteractionsContext,
    principal: Principal,
    room_id: int,
    *,
    question: str,
    options: Sequence[PollOption],
    kind: PollKind = PollKind.NORMAL,
) -> Poll:
    """A draft poll in the room (nothing is broadcast until it opens). Products must be the shop's."""
    check_permission(principal, Permission.SHOWS_CONTROL)
    clean, cleaned = check_poll(question, options, kind)
    async with ctx.db.transaction() as session:
        await _room_in_shop(session, principal.shop_id, room_id)
        product_ids = [o.product_id for o in cleaned if o.product_id is not None]
        found = await get_product_infos(session, shop_id=principal.shop_id, product_ids=product_ids)
        for pid in product_ids:
            if pid not in found:
                raise InvalidPoll(f"product {pid} is not one of this shop's", details={"product_id": pid})
            if found[pid].archived:
                raise InvalidPoll(f"product {pid} is archived", details={"product_id": pid})
        row = storage.PollRow(
            shop_id=principal.shop_id,
            room_id=room_id,
            show_id=await get_live_show_id(session, room_id),
            question=clean,
            options=[{"text": o.text, "product_id": o.product_id} for o in cleaned],
            kind=kind.value,
            state=PollState.DRAFT.value,
            created_by=principal.staff_id or None,
        )
        session.add(row)
        await session.flush()
        return poll_of(row)


async def do_open_poll(
    ctx: InteractionsContext, principal: Principal, poll_id: int, *, duration_seconds: int | None = None
) -> PollChange:
    """Open a draft poll for votes, until closed or for ``duration_seconds`` (then it refuses votes and
    :func:`do_close_due_polls` closes it). It belongs to the room's live show, if one is on air."""
    check_permission(principal, Permission.SHOWS_CONTROL)
    check_duration(duration_seconds)
    async with ctx.db.read() as session:
        draft = await _poll_row(session, principal.shop_id, poll_id)
        check_draft(draft.state, poll_id)
    # A draft has no votes: clearing its keys first means no stale counter survives into the poll.
    await ctx.counters.delete(voters_key(poll_id), *(option_key(poll_id, i) for i in range(MAX_OPTIONS)))
    now = datetime.fromtimestamp(ctx.wall_clock(), UTC)
    async with ctx.db.transaction() as session:
        row = await _poll_row(session, principal.shop_id, poll_id, for_update=True)
        check_draft(row.state, poll_id)
        row.show_id = await get_live_show_id(session, row.room_id) or row.show_id
        if row.kind == PollKind.NEXT_PRODUCT and row.show_id is None:
            raise NoLiveShow("a next-product poll reorders a show's line-up: start the show first")
        row.state = PollState.OPEN.value
        row.opened_at = now
        row.closes_at = None if duration_seconds is None else now + timedelta(seconds=duration_seconds)
        await session.flush()
        poll = poll_of(row)
    poll_cache(ctx).drop(poll_id)
    opened = PollOpened.model_validate(
        {
            "poll_id": poll.id,
            "kind": poll.kind.value,
            "question": poll.question,
            "options": _options_data(poll),
            "closes_at": poll.closes_at,
        }
    )
    return PollChange(poll=poll, events=_events(poll, _staff(principal), opened))


async def _count_votes(session: AsyncSession, poll_id: int, option_count: int) -> list[int]:
    vote = storage.PollVoteRow
    rows = await session.execute(
        select(vote.option, func.count()).where(vote.poll_id == poll_id).group_by(vote.option)
    )
    counts = [0] * option_count
    for option, count in rows:
        counts[option] = int(count)
    return counts


async def _close(ctx: InteractionsContext, *, shop_id: int, poll_id: int, actor: str | None) -> PollChange:
    now = datetime.fromtimestamp(ctx.wall_clock(), UTC)
    async with ctx.db.transaction() as session:
        # The state changes first: from here no vote can be inserted (PostgreSQL: the row lock; SQLite:
        # the write lock), and every vote inserted before has committed, so the count below is final.
        closed = await session.scalar(
            update(storage.PollRow)
            .where(
                storage.PollRow.id == poll_id,
                storage.PollRow.shop_id == shop_id,
                storage.PollRow.state == PollState.OPEN.value,
            )
            .values(state=PollState.CLOSED.value, closed_at=now)
            .returning(storage.PollRow.id)
            .execution_options(synchronize_session=False)
        )
        row = await _poll_row(session, shop_id, poll_id)
        if closed is None:
            check_open(row.state, poll_id)
            raise PollAlreadyClosed(f"poll {poll_id} has closed")  # not reached: it was open
        result = PollResult.of(await _count_votes(session, poll_id, len(row.options)))
        row.result = {"counts": list(result.counts), "total": result.total, "winner": result.winner}
        await session.flush()
        poll = poll_of(row)
    poll_cache(ctx).drop(poll_id)
    await _expire_counters(ctx, poll)
    options = _options_data(poll)
    payloads: list[EventData] = [
        PollClosed.model_validate(
            {"poll_id": poll.id, "question": poll.question, "options": options, "result": row.result}
        )
    ]
    product_id = None if result.winner is None else poll.options[result.winner].product_id
    if poll.kind is PollKind.NEXT_PRODUCT and product_id is not None and poll.show_id is not None:
        try:
            lineup = await do_promote_in_lineup(
                ctx.db, shop_id=poll.shop_id, show_id=poll.show_id, product_id=product_id
            )
        except LiveloopError as exc:
            # The poll's result stands; the line-up refused (the show ended, the product was archived).
            log.warning("next-product poll could not reorder the line-up", poll_id=poll.id, code=exc.code)
        else:
            payloads.append(LineupReordered(show_id=poll.show_id, product_ids=lineup, poll_id=poll.id))
    return PollChange(poll=poll, events=_events(poll, actor, *payloads))


async def _expire_counters(ctx: InteractionsContext, poll: Poll) -> None:
    keys = [voters_key(poll.id), *(option_key(poll.id, i) for i in range(len(poll.options)))]
    try:
        for key in keys:
            await ctx.counters.expire(key, CLOSED_KEY_TTL_SECONDS)
    except Exception:
        log.warning("could not expire a closed poll's counters", poll_id=poll.id, exc_info=True)


async def do_close_poll(ctx: InteractionsContext, principal: Principal, poll_id: int) -> PollChange:
    """Close an open poll: count its votes from SQL into ``result``; a next-product poll reorders."""
    check_permission(principal, Permission.SHOWS_CONTROL)
    return await _close(ctx, shop_id=principal.shop_id, poll_id=poll_id, actor=_staff(principal))


async def do_close_due_polls(ctx: InteractionsContext, *, limit: int = 100) -> list[PollChange]:
    """Close the open polls whose ``closes_at`` has passed (run it every few seconds, on one node or
    many: a poll closed by another caller meanwhile is skipped). Events have no staff actor."""
    now = datetime.fromtimestamp(ctx.wall_clock(), UTC)
    async with ctx.db.read() as session:
        due = list(
            await session.execute(
                select(storage.PollRow.id, storage.PollRow.shop_id)
                .where(storage.PollRow.state == PollState.OPEN.value, storage.PollRow.closes_at <= now)
                .order_by(storage.PollRow.closes_at)
                .limit(limit)
            )
        )
    changes = []
    for poll_id, shop_id in due:
        try:
            changes.append(await _close(ctx, shop_id=shop_id, poll_id=poll_id, actor=None))
        except (PollAlreadyClosed, PollNotOpen, PollNotFound):
            continue
    return changes
