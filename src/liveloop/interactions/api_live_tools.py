"""HTTP routes of the live tools: polls and Q&A.

Staff routes take a staff API key; the ``/viewer/...`` routes take a viewer token (``Authorization:
Bearer <viewer token>``, see ``POST /api/v1/viewer-tokens``): a signed-in viewer votes, asks and
upvotes; the shop and the viewer come from the token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from pydantic import Field

from liveloop.core.container import ContainerDep
from liveloop.core.pagination import Page, page_of
from liveloop.core.schemas import ERROR_RESPONSES, ErrorBody, OutModel, StrictModel
from liveloop.interactions import poll_votes, polls, qa
from liveloop.interactions.api import ContextDep
from liveloop.shops import PageDep, PrincipalDep, Viewer, ViewerDep

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["live tools"])
Id = Annotated[int, Path(ge=1, le=2**53)]
QueueLimit = Annotated[int, Query(ge=1, le=qa.MAX_QUEUE, description="Open questions to list.")]


# -- polls ---------------------------------------------------------------------------------------


class PollOptionIn(StrictModel):
    text: Annotated[str, Field(min_length=1, max_length=polls.MAX_OPTION_LENGTH)]
    product_id: Annotated[int, Field(ge=1, le=2**53)] | None = None


class PollIn(StrictModel):
    question: Annotated[str, Field(min_length=1, max_length=polls.MAX_QUESTION_LENGTH)]
    options: Annotated[list[PollOptionIn], Field(min_length=polls.MIN_OPTIONS, max_length=polls.MAX_OPTIONS)]
    kind: polls.PollKind = Field(
        default=polls.PollKind.NORMAL,
        description="next_product: every option names a product; closing moves the winner to the front "
        "of the live show's line-up.",
    )


class PollOpenIn(StrictModel):
    duration_seconds: (
        Annotated[int, Field(ge=polls.MIN_DURATION_SECONDS, le=polls.MAX_DURATION_SECONDS)] | None
    ) = Field(default=None, description="Stop taking votes after this long (omitted: until closed).")


class PollOptionOut(OutModel):
    text: str
    product_id: int | None


class PollResultOut(OutModel):
    counts: list[int]
    total: int
    winner: int | None = Field(description="The most voted option (ties: the lowest index); null: no votes.")


class TallyOut(OutModel):
    counts: list[int] = Field(description="Votes per option, in option order.")
    total: int
    final: bool = Field(description="True once the poll has closed (counted from the stored votes).")


class PollOut(OutModel):
    id: int
    room_id: int
    show_id: int | None
    question: str
    options: list[PollOptionOut]
    kind: polls.PollKind
    state: polls.PollState
    created_at: datetime
    opened_at: datetime | None
    closes_at: datetime | None
    closed_at: datetime | None
    result: PollResultOut | None
    tally: TallyOut | None = Field(default=None, description="Live counts (single-poll reads only).")


class VoteIn(StrictModel):
    # Not bounded by the poll's options here: the service answers interactions.invalid_option.
    option: Annotated[int, Field(ge=0, le=2**31, description="The option's index, from 0.")]


class VoteOut(OutModel):
    poll_id: int
    option: int
    tally: TallyOut


def _poll_out(poll: polls.Poll, tally: polls.PollTally | None = None) -> PollOut:
    out = PollOut.model_validate(poll)
    return out if tally is None else out.model_copy(update={"tally": TallyOut.model_validate(tally)})


@router.post("/rooms/{room_id}/polls", response_model=PollOut, status_code=status.HTTP_201_CREATED)
async def create_poll(ctx: ContextDep, principal: PrincipalDep, room_id: Id, body: PollIn) -> PollOut:
    """A draft poll: 2-6 options, each optionally one of the shop's products. Open it to broadcast it."""
    poll = await polls.do_create_poll(
        ctx,
        principal,
        room_id,
        question=body.question,
        options=[polls.PollOption(o.text, o.product_id) for o in body.options],
        kind=body.kind,
    )
    return _poll_out(poll)


@router.get("/rooms/{room_id}/polls", response_model=Page[PollOut])
async def list_polls(ctx: ContextDep, principal: PrincipalDep, room_id: Id, page: PageDep) -> Page[PollOut]:
    return page_of(PollOut, await polls.get_polls(ctx, principal, room_id, page), page)


@router.get("/polls/{poll_id}", response_model=PollOut)
async def read_poll(ctx: ContextDep, principal: PrincipalDep, poll_id: Id) -> PollOut:
    poll = await polls.get_poll(ctx, principal, poll_id)
    return _poll_out(poll, await poll_votes.get_tally(ctx, poll_id=poll.id))


@router.post("/polls/{poll_id}/open", response_model=PollOut)
async def open_poll(
    container: ContainerDep,
    ctx: ContextDep,
    principal: PrincipalDep,
    poll_id: Id,
    body: PollOpenIn | None = None,
) -> PollOut:
    """Start taking votes (a next-product poll needs a live show in the room)."""
    duration = body.duration_seconds if body else None
    change = await polls.do_open_poll(ctx, principal, poll_id, duration_seconds=duration)
    container.events.emit_many(change.events)
    return _poll_out(change.poll, await poll_votes.get_tally(ctx, poll_id=poll_id))


@router.post("/polls/{poll_id}/close", response_model=PollOut)
async def close_poll(
    container: ContainerDep, ctx: ContextDep, principal: PrincipalDep, poll_id: Id
) -> PollOut:
    """Stop the votes and publish the result; a next-product poll moves the winner to the line-up's front."""
    change = await polls.do_close_poll(ctx, principal, poll_id)
    container.events.emit_many(change.events)
    return _poll_out(change.poll, await poll_votes.get_tally(ctx, poll_id=poll_id))


@router.post(
    "/viewer/polls/{poll_id}/votes",
    response_model=VoteOut,
    status_code=status.HTTP_201_CREATED,
    tags=["viewer"],
)
async def vote(
    container: ContainerDep, ctx: ContextDep, viewer: ViewerDep, poll_id: Id, body: VoteIn
) -> VoteOut:
    """Vote once in an open poll (signed-in viewers only)."""
    cast = await poll_votes.do_vote(
        ctx,
        shop_id=viewer.shop_id,
        room_id=None,
        poll_id=poll_id,
        viewer_id=viewer.viewer_id,
        option=body.option,
    )
    container.events.emit_many(cast.events)
    return VoteOut(poll_id=cast.poll_id, option=cast.option, tally=TallyOut.model_validate(cast.tally))


# -- Q&A -----------------------------------------------------------------------------------------


class QuestionIn(StrictModel):
    # Bounded loosely so that an empty or long question gets its own code from the service.
    text: Annotated[str, Field(max_length=10 * qa.MAX_QUESTION_LENGTH, description="1-200 characters.")]


class AnswerIn(StrictModel):
    answer: Annotated[str, Field(min_length=1, max_length=qa.MAX_ANSWER_LENGTH)]


class QuestionOut(OutModel):
    """A question as the room shows it."""

    id: int
    nickname: str
    text: str
    state: qa.QuestionState
    pinned: bool
    votes: int
    answer: str | None
    created_at: datetime
    answered_at: datetime | None


class ViewerQuestionOut(QuestionOut):
    mine: bool = Field(description="Asked by the viewer of the token (who may not upvote it).")


class StaffQuestionOut(QuestionOut):
    room_id: int
    show_id: int | None
    viewer_id: str = Field(description="Who asked, to moderate them (mute, ban).")
    answered_by: int | None


class StaffQueueOut(OutModel):
    open: list[StaffQuestionOut] = Field(description="Pinned first, then most votes, then oldest.")
    answered: list[StaffQuestionOut] = Field(description="The latest answered questions, newest first.")


class ViewerQueueOut(OutModel):
    open: list[ViewerQuestionOut] = Field(description="Pinned first, then most votes, then oldest.")
    answered: list[ViewerQuestionOut] = Field(description="The latest answered questions, newest first.")


class UpvoteOut(OutModel):
    question_id: int
    votes: int


_RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorBody, "description": "Too many questions: retry after `details.retry_after_seconds`"}
}


def _viewer_question(question: qa.Question, viewer: Viewer) -> ViewerQuestionOut:
    out = QuestionOut.model_validate(question).model_dump()
    return ViewerQuestionOut(**out, mine=question.viewer_id == viewer.viewer_id)


@router.get("/rooms/{room_id}/questions", response_model=StaffQueueOut)
async def list_questions(
    ctx: ContextDep, principal: PrincipalDep, room_id: Id, limit: QueueLimit = qa.DEFAULT_QUEUE
) -> StaffQueueOut:
    return StaffQueueOut.model_validate(await qa.get_questions(ctx, principal, room_id, limit=limit))


@router.post("/questions/{question_id}/answer", response_model=StaffQuestionOut)
async def answer_question(
    container: ContainerDep, ctx: ContextDep, principal: PrincipalDep, question_id: Id, body: AnswerIn
) -> StaffQuestionOut:
    """Answer an open question; the room shows it with the answer."""
    change = await qa.do_answer_question(ctx, principal, question_id, answer=body.answer)
    container.events.emit_many(change.events)
    return StaffQuestionOut.model_validate(change.question)


@router.post("/questions/{question_id}/pin", response_model=StaffQuestionOut)
async def pin_question(
    container: ContainerDep, ctx: ContextDep, principal: PrincipalDep, question_id: Id
) -> StaffQuestionOut:
    change = await qa.do_pin_question(ctx, principal, question_id)
    container.events.emit_many(change.events)
    return StaffQuestionOut.model_validate(change.question)


@router.post("/questions/{question_id}/unpin", response_model=StaffQuestionOut)
async def unpin_question(
    container: ContainerDep, ctx: ContextDep, principal: PrincipalDep, question_id: Id
) -> StaffQuestionOut:
    change = await qa.do_unpin_question(ctx, principal, question_id)
    container.events.emit_many(change.events)
    return StaffQuestionOut.model_validate(change.question)


@router.post("/questions/{question_id}/dismiss", response_model=StaffQuestionOut)
async def dismiss_question(
    container: ContainerDep, ctx: ContextDep, principal: PrincipalDep, question_id: Id
) -> StaffQuestionOut:
    """Take a question out of the queue unanswered (moderators may)."""
    change = await qa.do_dismiss_question(ctx, principal, question_id)
    container.events.emit_many(change.events)
    return StaffQuestionOut.model_validate(change.question)


@router.get("/viewer/rooms/{room_id}/questions", response_model=ViewerQueueOut, tags=["viewer"])
async def viewer_questions(
    ctx: ContextDep, viewer: ViewerDep, room_id: Id, limit: QueueLimit = qa.DEFAULT_QUEUE
) -> ViewerQueueOut:
    queue = await qa.get_queue(ctx, shop_id=viewer.shop_id, room_id=room_id, limit=limit)
    return ViewerQueueOut(
        open=[_viewer_question(q, viewer) for q in queue.open],
        answered=[_viewer_question(q, viewer) for q in queue.answered],
    )


@router.post(
    "/viewer/rooms/{room_id}/questions",
    response_model=ViewerQuestionOut,
    status_code=status.HTTP_201_CREATED,
    responses=_RATE_LIMITED,
    tags=["viewer"],
)
async def ask_question(
    container: ContainerDep, ctx: ContextDep, viewer: ViewerDep, room_id: Id, body: QuestionIn
) -> ViewerQuestionOut:
    """Ask the host a question (signed-in viewers; one every 30 s after a burst of 2)."""
    change = await qa.do_ask(
        ctx,
        shop_id=viewer.shop_id,
        room_id=room_id,
        show_id=None,
        viewer_id=viewer.viewer_id,
        nickname=viewer.nickname,
        text=body.text,
    )
    container.events.emit_many(change.events)
    return _viewer_question(change.question, viewer)


@router.post(
    "/viewer/questions/{question_id}/upvotes",
    response_model=UpvoteOut,
    status_code=status.HTTP_201_CREATED,
    tags=["viewer"],
)
async def upvote_question(
    container: ContainerDep, ctx: ContextDep, viewer: ViewerDep, question_id: Id
) -> UpvoteOut:
    """Upvote an open question, once (not your own)."""
    upvote = await qa.do_upvote(
        ctx, shop_id=viewer.shop_id, question_id=question_id, viewer_id=viewer.viewer_id
    )
    container.events.emit_many(upvote.events)
    return UpvoteOut(question_id=upvote.question_id, votes=upvote.votes)
