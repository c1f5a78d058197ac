"""Live Q&A: signed-in viewers ask and upvote; staff answer, pin, unpin or dismiss.

The queue a room shows is its open questions, pinned first, then by votes (most first), then by age
(oldest first), plus the latest answered ones. A question follows the room's moderation: banned
viewers cannot take part, muted ones cannot ask, and the shop's sensitive words block or mask it as
they do comments; each viewer may ask ``ASK_BURST`` questions at once, then one per
``ASK_INTERVAL_SECONDS`` in a room.

Answering, pinning and unpinning need ``Permission.SHOWS_CONTROL`` (host, operator, owner);
dismissing needs ``Permission.MODERATE`` (moderators too); reading the queue ``SHOWS_READ``. Each
``do_*`` returns what happened and the events for the caller to emit (the transaction has committed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from liveloop.core.db import utcnow
from liveloop.core.events import Event, EventData, make_event
from liveloop.interactions import storage
from liveloop.interactions.contracts import FilterMode
from liveloop.interactions.errors import (
    AlreadyUpvoted,
    Banned,
    CommentEmpty,
    CommentInvalid,
    CommentTooLong,
    InvalidAnswer,
    Muted,
    OwnQuestion,
    QuestionBlocked,
    QuestionEmpty,
    QuestionInvalid,
    QuestionNotFound,
    QuestionNotOpen,
    QuestionRateLimited,
    QuestionTooLong,
)
from liveloop.interactions.events import (
    QuestionAnswered,
    QuestionAsked,
    QuestionDismissed,
    QuestionPinned,
    QuestionUnpinned,
    QuestionUpvoted,
)
from liveloop.interactions.model import check_comment_text
from liveloop.interactions.poll_rules import check_signed_in
from liveloop.interactions.service import InteractionsContext, check_join
from liveloop.rooms import RoomNotFound, get_live_show_id, get_room_shop_id
from liveloop.shops import Permission, Principal, check_permission

MAX_QUESTION_LENGTH = 200
MAX_ANSWER_LENGTH = 1000
MAX_NICKNAME_LENGTH = 100
ASK_INTERVAL_SECONDS = 30.0
ASK_BURST = 2
MAX_QUEUE = 200
DEFAULT_QUEUE = 50
ANSWERED_SHOWN = 20


class QuestionState(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    DISMISSED = "dismissed"


@dataclass(frozen=True, slots=True)
class Question:
    id: int
    shop_id: int
    room_id: int
    show_id: int | None
    viewer_id: str
    nickname: str
    text: str
    state: QuestionState
    pinned: bool
    votes: int
    answer: str | None
    answered_by: int | None
    created_at: datetime
    answered_at: datetime | None


@dataclass(frozen=True, slots=True)
class QaQueue:
    """Open questions in queue order, and the latest answered ones (newest first)."""

    room_id: int
    open: tuple[Question, ...]
    answered: tuple[Question, ...]


@dataclass(frozen=True, slots=True)
class QuestionChange:
    question: Question
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class Upvote:
    question_id: int
    votes: int
    events: tuple[Event, ...]


def check_question_text(text: str) -> str:
    """The question as it will be shown: stripped, 1..200 characters, no control characters."""
    try:
        return check_comment_text(text, max_length=MAX_QUESTION_LENGTH)
    except CommentEmpty:
        raise QuestionEmpty("a question needs some text") from None
    except CommentTooLong:
        raise QuestionTooLong(
            f"a question may have at most {MAX_QUESTION_LENGTH} characters",
            details={"max_length": MAX_QUESTION_LENGTH},
        ) from None
    except CommentInvalid as exc:
        raise QuestionInvalid(exc.message.replace("a comment", "a question")) from None


def check_answer(text: str) -> str:
    clean = text.strip()
    if not 1 <= len(clean) <= MAX_ANSWER_LENGTH:
        raise InvalidAnswer(f"an answer has 1 to {MAX_ANSWER_LENGTH} characters")
    return clean


def _question(row: storage.QuestionRow) -> Question:
    return Question(
        id=row.id,
        shop_id=row.shop_id,
        room_id=row.room_id,
        show_id=row.show_id,
        viewer_id=row.viewer_id,
        nickname=row.nickname,
        text=row.text,
        state=QuestionState(row.state),
        pinned=row.pinned,
        votes=row.votes,
        answer=row.answer,
        answered_by=row.answered_by,
        created_at=row.created_at,
        answered_at=row.answered_at,
    )


def _event(question: Question, actor: str, payload: EventData) -> Event:
    return make_event(
        payload, shop_id=question.shop_id, room_id=question.room_id, show_id=question.show_id, actor=actor
    )


# -- viewers -------------------------------------------------------------------------------------


async def do_ask(
    ctx: InteractionsContext,
    *,
    shop_id: int,
    room_id: int,
    show_id: int | None,
    viewer_id: str,
    nickname: str,
    text: str,
) -> QuestionChange:
    """Ask ``text`` in the room; ``show_id`` None means the room's live show, if any.

    Refusals change nothing: SignInRequired, RoomNotFound, Banned, Muted, QuestionEmpty /
    QuestionTooLong / QuestionInvalid, QuestionRateLimited (a question refused for its words still
    spends a token, so probing the word list is throttled), QuestionBlocked.
    """
    check_signed_in(viewer_id)
    shop, room = await ctx.cache.states(ctx.db, ctx.counters, shop_id=shop_id, room_id=room_id)
    if viewer_id in room.bans:
        raise Banned("you are banned from this room")
    until = room.mutes.get(viewer_id)
    if until is not None and (left := until - ctx.wall_clock()) > 0:
        seconds = math.ceil(round(left, 3))
        ends = datetime.fromtimestamp(until, UTC).isoformat()
        raise Muted(f"you are muted in this room for {seconds} s more", seconds_left=seconds, until=ends)
    clean = check_question_text(text)
    rate = await ctx.counters.rate_limit(
        f"interactions:ask:{room_id}:{viewer_id}", rate_per_second=1 / ASK_INTERVAL_SECONDS, burst=ASK_BURST
    )
    if not rate.allowed:
        wait = rate.retry_after_seconds
        raise QuestionRateLimited(f"one question every {ASK_INTERVAL_SECONDS:g} s", retry_after_seconds=wait)
    final = clean
    if shop.words:
        if shop.settings.filter_mode is FilterMode.BLOCK:
            if shop.words.contains(clean):
                raise QuestionBlocked("the question contains a word this shop does not allow")
        else:
            final = shop.words.mask(clean)
    async with ctx.db.transaction() as session:
        row = storage.QuestionRow(
            shop_id=shop_id,
            room_id=room_id,
            show_id=show_id if show_id is not None else await get_live_show_id(session, room_id),
            viewer_id=viewer_id,
            nickname=nickname.strip()[:MAX_NICKNAME_LENGTH],
            text=final,
            state=QuestionState.OPEN.value,
            pinned=False,
            votes=0,
        )
        session.add(row)
        await session.flush()
        question = _question(row)
    payload = QuestionAsked(
        question_id=question.id, nickname=question.nickname, text=final, masked=final != clean
    )
    return QuestionChange(question=question, events=(_event(question, viewer_id, payload),))


async def do_upvote(ctx: InteractionsContext, *, shop_id: int, question_id: int, viewer_id: str) -> Upvote:
    """Add ``viewer_id``'s vote to an open question (once; never to their own)."""
    check_signed_in(viewer_id)
    async with ctx.db.read() as session:
        row = await _question_row(session, shop_id, question_id)
    if row.viewer_id == viewer_id:
        raise OwnQuestion("you cannot upvote your own question")
    if row.state != QuestionState.OPEN:
        raise QuestionNotOpen(f"question {question_id} is {row.state}")
    await check_join(ctx, shop_id=shop_id, room_id=row.room_id, viewer_id=viewer_id)
    table = storage.QuestionRow
    try:
        async with ctx.db.transaction() as session:
            votes = await session.scalar(
                update(table)
                .where(table.id == question_id, table.state == QuestionState.OPEN.value)
                .values(votes=table.votes + 1)
                .returning(table.votes)
                .execution_options(synchronize_session=False)
            )
            if votes is None:
                raise QuestionNotOpen(f"question {question_id} is no longer open")
            await session.execute(
                insert(storage.QuestionVoteRow).values(
                    question_id=question_id, viewer_id=viewer_id, created_at=utcnow()
                )
            )
    except IntegrityError:
        raise AlreadyUpvoted("you have already upvoted this question") from None
    question = _question(row)
    event = _event(question, viewer_id, QuestionUpvoted(question_id=question_id, votes=votes))
    return Upvote(question_id=question_id, votes=votes, events=(event,))


# -- reading -------------------------------------------------------------------------------------


async def _question_row(
    session: AsyncSession, shop_id: int, question_id: int, *, for_update: bool = False
) -> storage.QuestionRow:
    row = await session.get(storage.QuestionRow, question_id, with_for_update=for_update)
    if row is None or row.shop_id != shop_id:
        raise QuestionNotFound(f"question {question_id} not found")
    return row


async def get_queue(
    ctx: InteractionsContext, *, shop_id: int, room_id: int, limit: int = DEFAULT_QUEUE
) -> QaQueue:
    """The room's queue: up to ``limit`` open questions in queue order, and the latest answered ones.
    No principal (the room's snapshot, the viewer route); RoomNotFound unless the room is the shop's."""
    table = storage.QuestionRow
    async with ctx.db.read() as session:
        if await get_room_shop_id(session, room_id) != shop_id:
            raise RoomNotFound(f"room {room_id} not found")
        open_rows = await session.scalars(
            select(table)
            .where(table.room_id == room_id, table.state == QuestionState.OPEN.value)
            .order_by(table.pinned.desc(), table.votes.desc(), table.created_at, table.id)
            .limit(min(max(limit, 1), MAX_QUEUE))
        )
        open_questions = tuple(_question(r) for r in open_rows)
        answered_rows = await session.scalars(
            select(table)
            .where(table.room_id == room_id, table.state == QuestionState.ANSWERED.value)
            .order_by(table.answered_at.desc(), table.id.desc())
            .limit(ANSWERED_SHOWN)
        )
        answered = tuple(_question(r) for r in answered_rows)
    return QaQueue(room_id=room_id, open=open_questions, answered=answered)


async def get_questions(
    ctx: InteractionsContext, principal: Principal, room_id: int, *, limit: int = DEFAULT_QUEUE
) -> QaQueue:
    """The room's queue as staff see it (:func:`get_queue`)."""
    check_permission(principal, Permission.SHOWS_READ)
    return await get_queue(ctx, shop_id=principal.shop_id, room_id=room_id, limit=limit)


# -- staff ---------------------------------------------------------------------------------------


async def _change(
    ctx: InteractionsContext, principal: Principal, question_id: int, **values: object
) -> tuple[Question, bool]:
    """Set ``values`` on an open question; return it and whether anything changed."""
    async with ctx.db.transaction() as session:
        row = await _question_row(session, principal.shop_id, question_id, for_update=True)
        if row.state != QuestionState.OPEN:
            raise QuestionNotOpen(f"question {question_id} is {row.state}")
        changed = any(getattr(row, name) != value for name, value in values.items())
        for name, value in values.items():
            setattr(row, name, value)
        await session.flush()
        return _question(row), changed


def _staff(principal: Principal) -> str:
    return f"staff:{principal.staff_id}"


async def do_answer_question(
    ctx: InteractionsContext, principal: Principal, question_id: int, *, answer: str
) -> QuestionChange:
    """Answer an open question: it leaves the queue (unpinned) and joins the answered ones."""
    check_permission(principal, Permission.SHOWS_CONTROL)
    clean = check_answer(answer)
    question, _ = await _change(
        ctx,
        principal,
        question_id,
        state=QuestionState.ANSWERED.value,
        pinned=False,
        answer=clean,
        answered_by=principal.staff_id,
        answered_at=utcnow(),
    )
    payload = QuestionAnswered(
        question_id=question.id, nickname=question.nickname, text=question.text, answer=clean
    )
    return QuestionChange(question=question, events=(_event(question, _staff(principal), payload),))


async def do_pin_question(ctx: InteractionsContext, principal: Principal, question_id: int) -> QuestionChange:
    """Pin an open question to the top of the queue (already pinned: nothing changes, no event)."""
    check_permission(principal, Permission.SHOWS_CONTROL)
    question, changed = await _change(ctx, principal, question_id, pinned=True)
    payload = QuestionPinned(
        question_id=question.id, nickname=question.nickname, text=question.text, votes=question.votes
    )
    events = (_event(question, _staff(principal), payload),) if changed else ()
    return QuestionChange(question=question, events=events)


async def do_unpin_question(
    ctx: InteractionsContext, principal: Principal, question_id: int
) -> QuestionChange:
    check_permission(principal, Permission.SHOWS_CONTROL)
    question, changed = await _change(ctx, principal, question_id, pinned=False)
    payload = QuestionUnpinned(question_id=question.id)
    events = (_event(question, _staff(principal), payload),) if changed else ()
    return QuestionChange(question=question, events=events)


async def do_dismiss_question(
    ctx: InteractionsContext, principal: Principal, question_id: int
) -> QuestionChange:
    """Take an open question out of the queue without answering it (moderators may)."""
    check_permission(principal, Permission.MODERATE)
    question, _ = await _change(
        ctx, principal, question_id, state=QuestionState.DISMISSED.value, pinned=False
    )
    payload = QuestionDismissed(question_id=question.id)
    return QuestionChange(question=question, events=(_event(question, _staff(principal), payload),))
