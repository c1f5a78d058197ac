"""HTTP routes for staff: the sensitive-word list, comment settings, room slow mode, bans and mutes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, status
from pydantic import AfterValidator, Field

from liveloop.core.container import ContainerDep
from liveloop.core.pagination import Page, page_of
from liveloop.core.schemas import ERROR_RESPONSES, OutModel, PatchModel, StrictModel
from liveloop.interactions import model, moderation, rules
from liveloop.interactions.contracts import FilterMode
from liveloop.interactions.errors import InvalidViewerId
from liveloop.interactions.service import InteractionsContext
from liveloop.shops import PageDep, PrincipalDep

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["moderation"])
RoomId = Annotated[int, Path(ge=1, le=2**53)]


def _viewer_id(value: str) -> str:
    try:
        return model.check_viewer_id(value)
    except InvalidViewerId as exc:
        raise ValueError(exc.message) from None


ViewerId = Annotated[
    str,
    Field(min_length=3, max_length=66, description='"u:<user id>" or "d:<device id>"', examples=["u:alice"]),
    AfterValidator(_viewer_id),
]
Word = Annotated[str, Field(min_length=1, max_length=model.MAX_WORD_LENGTH)]
Reason = Annotated[str, Field(max_length=model.MAX_REASON_LENGTH)]


def interactions_context(request: Request) -> InteractionsContext:
    """The process-wide context (its moderation cache must outlive a request)."""
    ctx: InteractionsContext = request.app.state.interactions
    return ctx


ContextDep = Annotated[InteractionsContext, Depends(interactions_context)]


class WordsIn(StrictModel):
    words: Annotated[list[Word], Field(min_length=1, max_length=model.MAX_WORDS_PER_REQUEST)]


class WordOut(OutModel):
    id: int
    word: str = Field(description="In matching form: NFKC, case-folded, without spaces or punctuation.")
    created_at: datetime


class WordsAddedOut(OutModel):
    added: list[str] = Field(description="The words that were not listed yet, in matching form.")
    total: int


class WordsRemovedOut(OutModel):
    removed: list[str]
    total: int


class SettingsOut(OutModel):
    filter_mode: FilterMode
    max_comment_length: int
    comment_rate_per_second: float
    comment_burst: int


class SettingsPatch(PatchModel):
    filter_mode: FilterMode | None = Field(default=None, description="block refuses, mask stars the words.")
    max_comment_length: Annotated[int, Field(ge=1, le=model.MAX_LENGTH_LIMIT)] | None = None
    comment_rate_per_second: (
        Annotated[float, Field(ge=model.MIN_RATE_PER_SECOND, le=model.MAX_RATE_PER_SECOND)] | None
    ) = None
    comment_burst: Annotated[int, Field(ge=1, le=model.MAX_BURST)] | None = None


class RoomModerationOut(OutModel):
    room_id: int
    slow_mode_seconds: int
    pinned_offset: int | None
    pinned_text: str | None


class RoomModerationPatch(PatchModel):
    slow_mode_seconds: Annotated[int, Field(ge=0, le=model.MAX_SLOW_MODE_SECONDS)] | None = None


class BanIn(StrictModel):
    viewer_id: ViewerId
    reason: Reason = ""


class BanOut(OutModel):
    room_id: int
    viewer_id: str
    reason: str
    banned_by: int | None
    created_at: datetime


class MuteIn(StrictModel):
    viewer_id: ViewerId
    seconds: Annotated[int, Field(ge=1, le=model.MAX_MUTE_SECONDS)]


class MuteOut(OutModel):
    room_id: int
    viewer_id: str
    until: datetime


@router.get("/moderation/words", response_model=Page[WordOut])
async def list_words(ctx: ContextDep, principal: PrincipalDep, page: PageDep) -> Page[WordOut]:
    rows = await rules.get_words(ctx, principal, page)
    return page_of(WordOut, rows, page)


@router.post("/moderation/words", response_model=WordsAddedOut)
async def add_words(ctx: ContextDep, principal: PrincipalDep, body: WordsIn) -> WordsAddedOut:
    """Add words to the shop's list; they apply to every comment in every room of the shop."""
    changed = await rules.do_add_words(ctx, principal, words=body.words)
    return WordsAddedOut(added=list(changed.words), total=changed.total)


@router.delete("/moderation/words", response_model=WordsRemovedOut)
async def remove_words(ctx: ContextDep, principal: PrincipalDep, body: WordsIn) -> WordsRemovedOut:
    changed = await rules.do_remove_words(ctx, principal, words=body.words)
    return WordsRemovedOut(removed=list(changed.words), total=changed.total)


@router.get("/moderation/settings", response_model=SettingsOut)
async def read_settings(ctx: ContextDep, principal: PrincipalDep) -> SettingsOut:
    return SettingsOut.model_validate(await rules.get_moderation_settings(ctx, principal))


@router.patch("/moderation/settings", response_model=SettingsOut)
async def update_settings(ctx: ContextDep, principal: PrincipalDep, body: SettingsPatch) -> SettingsOut:
    settings = await rules.do_update_moderation_settings(
        ctx,
        principal,
        filter_mode=body.filter_mode,
        max_comment_length=body.max_comment_length,
        comment_rate_per_second=body.comment_rate_per_second,
        comment_burst=body.comment_burst,
    )
    return SettingsOut.model_validate(settings)


@router.get("/rooms/{room_id}/moderation", response_model=RoomModerationOut)
async def read_room_moderation(
    ctx: ContextDep, principal: PrincipalDep, room_id: RoomId
) -> RoomModerationOut:
    return RoomModerationOut.model_validate(await moderation.get_room_moderation(ctx, principal, room_id))


@router.patch("/rooms/{room_id}/moderation", response_model=RoomModerationOut)
async def update_room_moderation(
    container: ContainerDep,
    ctx: ContextDep,
    principal: PrincipalDep,
    room_id: RoomId,
    body: RoomModerationPatch,
) -> RoomModerationOut:
    """Slow mode: each viewer may post one comment every `slow_mode_seconds` (0 turns it off)."""
    if body.slow_mode_seconds is not None:
        decision = await moderation.do_set_slow_mode(ctx, principal, room_id, seconds=body.slow_mode_seconds)
        container.events.emit_many(decision.events)
    return RoomModerationOut.model_validate(await moderation.get_room_moderation(ctx, principal, room_id))


@router.get("/rooms/{room_id}/bans", response_model=Page[BanOut])
async def list_bans(ctx: ContextDep, principal: PrincipalDep, room_id: RoomId, page: PageDep) -> Page[BanOut]:
    rows = await moderation.get_bans(ctx, principal, room_id, page)
    return page_of(BanOut, rows, page)


@router.post("/rooms/{room_id}/bans", response_model=BanOut, status_code=status.HTTP_201_CREATED)
async def ban_viewer(
    container: ContainerDep, ctx: ContextDep, principal: PrincipalDep, room_id: RoomId, body: BanIn
) -> BanOut:
    """Ban a viewer from the room until unbanned: they are disconnected and may not comment or return."""
    decision = await moderation.do_ban(ctx, principal, room_id, viewer_id=body.viewer_id, reason=body.reason)
    container.events.emit_many(decision.events)
    return BanOut(
        room_id=room_id,
        viewer_id=body.viewer_id,
        reason=decision.reason,
        banned_by=decision.staff_id,
        created_at=decision.at,
    )


@router.delete("/rooms/{room_id}/bans/{viewer_id}", status_code=status.HTTP_204_NO_CONTENT)
async def unban_viewer(
    container: ContainerDep,
    ctx: ContextDep,
    principal: PrincipalDep,
    room_id: RoomId,
    viewer_id: Annotated[str, Path(min_length=1, max_length=66)],
) -> None:
    decision = await moderation.do_unban(ctx, principal, room_id, viewer_id=viewer_id)
    container.events.emit_many(decision.events)


@router.post("/rooms/{room_id}/mutes", response_model=MuteOut, status_code=status.HTTP_201_CREATED)
async def mute_viewer(
    container: ContainerDep, ctx: ContextDep, principal: PrincipalDep, room_id: RoomId, body: MuteIn
) -> MuteOut:
    """Refuse a viewer's comments in the room for `seconds` (replaces an earlier mute of that viewer)."""
    decision = await moderation.do_mute(
        ctx, principal, room_id, viewer_id=body.viewer_id, seconds=body.seconds
    )
    container.events.emit_many(decision.events)
    assert decision.until is not None
    return MuteOut(room_id=room_id, viewer_id=body.viewer_id, until=decision.until)
