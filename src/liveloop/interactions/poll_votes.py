"""Voting in live polls and their tallies (see :mod:`liveloop.interactions.polls`).

Voting is the hot path (the gateway calls :func:`do_vote` for every vote frame, with plain ids). On a
warm cache a vote costs ``add_member`` on the poll's voter set (the atomic one-vote-per-viewer gate),
``incr`` of the option's counter, one INSERT (the truth) and one ``get_many`` for the tally it returns.
The INSERT only happens while the poll is open in SQL (under a share lock on PostgreSQL), so a vote
racing a close is either counted by the close or refused, and then its counter changes are undone.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from sqlalchemy import BigInteger, Integer, String, insert, literal, select
from sqlalchemy.exc import IntegrityError

from liveloop.core.db import Database, UtcDateTime
from liveloop.core.events import make_event
from liveloop.interactions import storage
from liveloop.interactions.errors import (
    AlreadyVoted,
    InvalidOption,
    PollAlreadyClosed,
    PollNotFound,
    PollNotOpen,
)
from liveloop.interactions.events import PollVoted
from liveloop.interactions.poll_cache import poll_cache
from liveloop.interactions.poll_rules import (
    KEY_TTL_SECONDS,
    PollState,
    PollTally,
    VoteCast,
    check_signed_in,
    option_key,
    voters_key,
)
from liveloop.interactions.polls import poll_of
from liveloop.interactions.service import InteractionsContext, check_join

__all__ = ["do_vote", "get_tally"]

log = structlog.get_logger(__name__)


# -- tallies -------------------------------------------------------------------------------------


async def _counter_tally(ctx: InteractionsContext, poll_id: int, option_count: int) -> PollTally:
    counts = await ctx.counters.get_many([option_key(poll_id, i) for i in range(option_count)])
    return PollTally(poll_id=poll_id, counts=tuple(counts), total=sum(counts))


async def get_tally(ctx: InteractionsContext, *, poll_id: int) -> PollTally:
    """Live counts of an open poll (Counters, no SQL on a warm cache); the final result once closed;
    zeros for a draft. No principal: the room's broadcast reads it; check the poll's shop first."""
    try:
        meta = await poll_cache(ctx).open_poll(ctx.db, poll_id)
    except (PollNotOpen, PollAlreadyClosed):
        async with ctx.db.read() as session:
            row = await session.get_one(storage.PollRow, poll_id)
        poll = poll_of(row)
        if poll.result is None:
            return PollTally(poll_id=poll_id, counts=(0,) * len(poll.options), total=0)
        return PollTally(poll_id=poll_id, counts=poll.result.counts, total=poll.result.total, final=True)
    return await _counter_tally(ctx, poll_id, meta.option_count)


# -- viewers: the vote ---------------------------------------------------------------------------


async def _insert_vote(db: Database, *, poll_id: int, viewer_id: str, option: int) -> bool:
    """Write the vote iff the poll is open in SQL; False if it is not. IntegrityError: already voted."""
    poll = storage.PollRow
    source = (
        select(
            literal(poll_id, BigInteger()),
            literal(viewer_id, String()),
            literal(option, Integer()),
            literal(datetime.now(UTC), UtcDateTime()),
        )
        .where(poll.id == poll_id, poll.state == PollState.OPEN.value)
        .with_for_update(read=True)  # PostgreSQL: FOR SHARE, so a close waits for this vote to commit
    )
    stmt = (
        insert(storage.PollVoteRow)
        .from_select(["poll_id", "viewer_id", "option", "created_at"], source)
        .returning(storage.PollVoteRow.id)
    )
    async with db.transaction() as session:
        return await session.scalar(stmt) is not None


async def _undo(ctx: InteractionsContext, poll_id: int, option: int, *, voter: str | None) -> None:
    """Take back a vote's counter changes (the SQL row was not written)."""
    try:
        await ctx.counters.incr(option_key(poll_id, option), -1)
        if voter is not None:
            await ctx.counters.remove_member(voters_key(poll_id), voter)
    except Exception:
        log.warning("could not undo a refused vote's counters", poll_id=poll_id, exc_info=True)


async def do_vote(
    ctx: InteractionsContext,
    *,
    shop_id: int,
    room_id: int | None,
    poll_id: int,
    viewer_id: str,
    option: int,
) -> VoteCast:
    """Record ``viewer_id``'s vote for ``option`` (0-based) and return the live tally.

    Refusals change nothing: SignInRequired (guests, staff), PollNotFound (not the shop's, or not in
    ``room_id``; None skips the room check), PollNotOpen, PollAlreadyClosed (closed, or its time is up),
    InvalidOption, Banned, AlreadyVoted.
    """
    check_signed_in(viewer_id)
    cache = poll_cache(ctx)
    meta = await cache.open_poll(ctx.db, poll_id)
    if meta.shop_id != shop_id or room_id not in (None, meta.room_id):
        raise PollNotFound(f"poll {poll_id} not found")
    if meta.closes_at is not None and ctx.wall_clock() >= meta.closes_at:
        raise PollAlreadyClosed(f"poll {poll_id} has closed")
    if isinstance(option, bool) or not 0 <= option < meta.option_count:
        raise InvalidOption(f"option is 0 to {meta.option_count - 1}", details={"options": meta.option_count})
    await check_join(ctx, shop_id=shop_id, room_id=meta.room_id, viewer_id=viewer_id)
    if not await ctx.counters.add_member(voters_key(poll_id), viewer_id, ttl_seconds=KEY_TTL_SECONDS):
        raise AlreadyVoted("you have already voted in this poll")
    try:
        await ctx.counters.incr(option_key(poll_id, option), ttl_seconds=KEY_TTL_SECONDS)
    except BaseException:
        await ctx.counters.remove_member(voters_key(poll_id), viewer_id)
        raise
    try:
        written = await _insert_vote(ctx.db, poll_id=poll_id, viewer_id=viewer_id, option=option)
    except IntegrityError:
        # SQL already holds this viewer's vote (the counters were lost and rebuilt): they stay a voter.
        await _undo(ctx, poll_id, option, voter=None)
        raise AlreadyVoted("you have already voted in this poll") from None
    except BaseException:
        await _undo(ctx, poll_id, option, voter=viewer_id)
        raise
    if not written:
        await _undo(ctx, poll_id, option, voter=viewer_id)
        cache.drop(poll_id)  # closed on another node: read it again next time
        raise PollAlreadyClosed(f"poll {poll_id} has closed")
    tally = await _counter_tally(ctx, poll_id, meta.option_count)
    event = make_event(
        PollVoted(poll_id=poll_id, option=option),
        shop_id=shop_id,
        room_id=meta.room_id,
        show_id=meta.show_id,
        actor=viewer_id,
    )
    return VoteCast(poll_id=poll_id, viewer_id=viewer_id, option=option, tally=tally, events=(event,))
