"""HTTP routes of the live tools: red packets (红包) and comment lotteries (福袋).

Staff routes take a staff API key (sending, drawing and cancelling need ``shows.control``: owner,
operator, host; reading needs ``shows.read``). The ``/viewer/...`` routes take a viewer token
(``Authorization: Bearer <viewer token>``): a signed-in viewer grabs a red packet or enters a lottery
that has no keyword (a keyword lottery is entered by commenting its keyword in the room).

Drawing needs to know who is in the room and how long they watched: the app provides a
:class:`~liveloop.interactions.lottery.DrawAudience` as ``app.state.draw_audience``; without one a
draw answers ``interactions.draw_unavailable``. Grabbing asks it too: only a viewer in the packet's
room now may grab (``rooms.not_present``; without an audience, nobody over HTTP).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field

from liveloop.core.container import ContainerDep
from liveloop.core.pagination import Page, page_of, paged
from liveloop.core.schemas import ERROR_RESPONSES, OutModel, StrictModel
from liveloop.interactions import lottery, lottery_entries, lottery_finish, redpacket, redpacket_grab
from liveloop.interactions.api import ContextDep
from liveloop.interactions.errors import DrawUnavailable, InvalidLottery
from liveloop.interactions.lottery_draw import ALGORITHM
from liveloop.interactions.lottery_rules import MAX_KEYWORD_LENGTH, MAX_WATCH_MINUTES, refuse_purchase
from liveloop.interactions.redpacket_split import MAX_SHARES, MAX_TOTAL_CENTS
from liveloop.shops import (
    PageDep,
    Permission,
    PrincipalDep,
    ViewerDep,
    check_permission,
)

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES, tags=["live tools"])
Id = Annotated[int, Path(ge=1, le=2**53)]


def draw_audience(request: Request) -> lottery.DrawAudience | None:
    """Who is in a room and how long they watched, as the app wired it (None: not wired)."""
    audience: lottery.DrawAudience | None = getattr(request.app.state, "draw_audience", None)
    return audience


AudienceDep = Annotated[lottery.DrawAudience | None, Depends(draw_audience)]


# -- red packets ---------------------------------------------------------------------------------


class RedPacketIn(StrictModel):
    total_cents: Annotated[
        int, Field(ge=1, le=MAX_TOTAL_CENTS, description="Integer cents (8.88 yuan = 888).")
    ]
    count: Annotated[int, Field(ge=1, le=MAX_SHARES, description="Shares; each is at least 1 cent.")]
    expires_in_seconds: Annotated[
        int, Field(ge=redpacket.MIN_EXPIRES_SECONDS, le=redpacket.MAX_EXPIRES_SECONDS)
    ] = redpacket.DEFAULT_EXPIRES_SECONDS
    delay_seconds: Annotated[
        int, Field(ge=0, le=redpacket.MAX_DELAY_SECONDS, description="A countdown before grabs start.")
    ] = 0


class RedPacketOut(OutModel):
    id: int
    room_id: int
    show_id: int | None
    total_cents: int
    count: int
    state: redpacket.RedPacketState
    opens_at: datetime
    expires_at: datetime
    finished_at: datetime | None
    created_by: int | None
    grabbed_count: int
    grabbed_cents: int


class ShareOut(OutModel):
    viewer_id: str
    nickname: str
    amount_cents: int
    grabbed_at: datetime


class RedPacketDetailOut(RedPacketOut):
    shares: list[ShareOut] = Field(
        description=f"Grabbed shares only, earliest first (at most {redpacket.MAX_LISTED_SHARES})."
    )


class GrabOut(OutModel):
    packet_id: int
    viewer_id: str
    nickname: str
    amount_cents: int


@router.post("/rooms/{room_id}/red-packets", response_model=RedPacketOut, status_code=status.HTTP_201_CREATED)
async def send_red_packet(
    container: ContainerDep, ctx: ContextDep, principal: PrincipalDep, room_id: Id, body: RedPacketIn
) -> RedPacketOut:
    """Send a red packet to the room: `total_cents` cut into `count` random shares, one per viewer."""
    change = await redpacket.do_send_red_packet(
        ctx,
        principal,
        room_id,
        total_cents=body.total_cents,
        count=body.count,
        expires_in_seconds=body.expires_in_seconds,
        delay_seconds=body.delay_seconds,
    )
    container.events.emit_many(change.events)
    return RedPacketOut.model_validate(change.packet)


@router.get("/rooms/{room_id}/red-packets", response_model=Page[RedPacketOut])
async def list_red_packets(
    ctx: ContextDep, principal: PrincipalDep, room_id: Id, page: PageDep
) -> Page[RedPacketOut]:
    return page_of(RedPacketOut, await redpacket.get_red_packets(ctx, principal, room_id, page), page)


@router.get("/red-packets/{packet_id}", response_model=RedPacketDetailOut)
async def read_red_packet(ctx: ContextDep, principal: PrincipalDep, packet_id: Id) -> RedPacketDetailOut:
    """The packet and who grabbed what; shares not grabbed yet are never shown."""
    return RedPacketDetailOut.model_validate(await redpacket.get_red_packet(ctx, principal, packet_id))


@router.post("/viewer/red-packets/{packet_id}/grab", response_model=GrabOut, tags=["viewer"])
async def grab_red_packet(
    container: ContainerDep, ctx: ContextDep, viewer: ViewerDep, audience: AudienceDep, packet_id: Id
) -> GrabOut:
    """Grab one share (signed-in viewers, once per packet). Only for the room's audience: a viewer not
    connected to the packet's room now is refused (`rooms.not_present`)."""
    grabbed = await redpacket_grab.do_grab(
        ctx,
        shop_id=viewer.shop_id,
        room_id=None,  # not a room socket: the audience must see the viewer in the packet's room
        packet_id=packet_id,
        viewer_id=viewer.viewer_id,
        nickname=viewer.nickname,
        presence=audience,
    )
    container.events.emit_many(grabbed.events)
    return GrabOut.model_validate(grabbed)


# -- lotteries -----------------------------------------------------------------------------------


class RuleIn(BaseModel):
    """One condition. Unknown fields are kept only to be refused with a clear reason."""

    model_config = ConfigDict(extra="allow")

    kind: Annotated[str, Field(min_length=1, max_length=40, description="keyword, follow or watch_time.")]
    keyword: Annotated[str, Field(max_length=MAX_KEYWORD_LENGTH)] | None = None
    minutes: Annotated[int, Field(ge=1, le=MAX_WATCH_MINUTES)] | None = None


class RuleOut(BaseModel):
    kind: str
    keyword: str | None = None
    minutes: int | None = None


class LotteryIn(StrictModel):
    """A purchase can never be a condition: any purchase-like rule or field is refused."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    prize: Annotated[str, Field(min_length=1, max_length=lottery.MAX_PRIZE_LENGTH)]
    winners_count: Annotated[int, Field(ge=1, le=lottery.MAX_WINNERS)]
    duration_seconds: Annotated[
        int,
        Field(
            ge=lottery.MIN_DURATION_SECONDS,
            le=lottery.MAX_DURATION_SECONDS,
            description="How long it takes entries, from now.",
        ),
    ] = 300
    rules: Annotated[list[RuleIn], Field(max_length=20, default_factory=list)]


class WinnerOut(OutModel):
    viewer_id: str
    nickname: str


class LotteryOut(BaseModel):
    id: int
    room_id: int
    show_id: int | None
    prize: str
    winners_count: int
    rules: list[RuleOut]
    state: lottery.LotteryState
    opens_at: datetime
    closes_at: datetime
    seed_hash: str = Field(description="sha256 of the secret seed, published when the lottery opens.")
    seed: str | None = Field(description="Revealed by the draw (or a cancel).")
    entries_count: int
    eligible_count: int | None
    winners: list[WinnerOut]
    drawn_at: datetime | None
    created_by: int | None


class CancelIn(StrictModel):
    reason: Annotated[str, Field(max_length=200)] = ""


class EntryOut(BaseModel):
    lottery_id: int
    viewer_id: str


class ProofOut(BaseModel):
    """Everything needed to recompute the winners: `liveloop lottery verify` checks it."""

    lottery_id: int
    algorithm: str = Field(description=f"{ALGORITHM}: see liveloop.interactions.lottery_draw.")
    seed_hash: str
    seed: str
    winners_count: int
    eligible: list[str]
    winners: list[WinnerOut]


def _lottery_out(value: lottery.Lottery) -> LotteryOut:
    return LotteryOut(
        id=value.id,
        room_id=value.room_id,
        show_id=value.show_id,
        prize=value.prize,
        winners_count=value.winners_count,
        rules=[RuleOut(**rule) for rule in value.rules.as_list()],
        state=value.state,
        opens_at=value.opens_at,
        closes_at=value.closes_at,
        seed_hash=value.seed_hash,
        seed=value.seed,
        entries_count=value.entries_count,
        eligible_count=value.eligible_count,
        winners=[WinnerOut(viewer_id=w.viewer_id, nickname=w.nickname) for w in value.winners],
        drawn_at=value.drawn_at,
        created_by=value.created_by,
    )


@router.post("/rooms/{room_id}/lotteries", response_model=LotteryOut, status_code=status.HTTP_201_CREATED)
async def open_lottery(
    container: ContainerDep, ctx: ContextDep, principal: PrincipalDep, room_id: Id, body: LotteryIn
) -> LotteryOut:
    """Open a lottery in the room now. Its seed's hash is published at once; the seed at the draw."""
    check_permission(principal, Permission.SHOWS_CONTROL)
    extra: dict[str, Any] = body.model_extra or {}
    refuse_purchase([*extra, *(str(v) for v in extra.values())])
    if extra:
        raise InvalidLottery(f"a lottery has no field {sorted(extra)[0]!r}")
    change = await lottery.do_open_lottery(
        ctx,
        principal,
        room_id,
        prize=body.prize,
        winners_count=body.winners_count,
        duration_seconds=body.duration_seconds,
        rules=[rule.model_dump(exclude_none=True) for rule in body.rules],
    )
    container.events.emit_many(change.events)
    return _lottery_out(change.lottery)


@router.get("/rooms/{room_id}/lotteries", response_model=Page[LotteryOut])
async def list_lotteries(
    ctx: ContextDep, principal: PrincipalDep, room_id: Id, page: PageDep
) -> Page[LotteryOut]:
    rows = await lottery.get_lotteries(ctx, principal, room_id, page)
    return paged(rows, page, _lottery_out)


@router.get("/lotteries/{lottery_id}", response_model=LotteryOut)
async def read_lottery(ctx: ContextDep, principal: PrincipalDep, lottery_id: Id) -> LotteryOut:
    return _lottery_out(await lottery.get_lottery(ctx, principal, lottery_id))


@router.post("/lotteries/{lottery_id}/draw", response_model=LotteryOut)
async def draw_lottery(
    container: ContainerDep, ctx: ContextDep, principal: PrincipalDep, lottery_id: Id, audience: AudienceDep
) -> LotteryOut:
    """Draw now among the entrants who meet the rules and are in the room; publishes the seed, the
    eligible list and the winners."""
    check_permission(principal, Permission.SHOWS_CONTROL)
    found = await lottery.get_lottery(ctx, principal, lottery_id)
    if audience is None:
        raise DrawUnavailable("this server cannot see who is in the room, so it cannot draw")
    room_id, show_id = found.room_id, found.show_id

    async def present(viewer_id: str) -> bool:
        return await audience.present(room_id=room_id, viewer_id=viewer_id)

    async def watched_seconds(viewer_id: str) -> int:
        return await audience.watched_seconds(room_id=room_id, show_id=show_id, viewer_id=viewer_id)

    change = await lottery_finish.do_draw(
        ctx, principal, lottery_id, present=present, watched_seconds=watched_seconds
    )
    container.events.emit_many(change.events)
    return _lottery_out(change.lottery)


@router.post("/lotteries/{lottery_id}/cancel", response_model=LotteryOut)
async def cancel_lottery(
    container: ContainerDep,
    ctx: ContextDep,
    principal: PrincipalDep,
    lottery_id: Id,
    body: CancelIn | None = None,
) -> LotteryOut:
    """Cancel: nobody wins, and the seed is revealed all the same."""
    reason = body.reason if body is not None else ""
    change = await lottery_finish.do_cancel_lottery(ctx, principal, lottery_id, reason=reason)
    container.events.emit_many(change.events)
    return _lottery_out(change.lottery)


@router.get("/lotteries/{lottery_id}/proof", response_model=ProofOut)
async def read_lottery_proof(ctx: ContextDep, principal: PrincipalDep, lottery_id: Id) -> ProofOut:
    """The public proof of a drawn lottery: seed, its hash, the eligible list and the winners."""
    proof = await lottery.get_lottery_proof(ctx, principal, lottery_id)
    found = await lottery.get_lottery(ctx, principal, lottery_id)
    return ProofOut(
        lottery_id=proof.lottery_id,
        algorithm=proof.algorithm,
        seed_hash=proof.seed_hash,
        seed=proof.seed,
        winners_count=proof.winners_count,
        eligible=list(proof.eligible),
        winners=[WinnerOut(viewer_id=w.viewer_id, nickname=w.nickname) for w in found.winners],
    )


@router.post(
    "/viewer/lotteries/{lottery_id}/entries",
    response_model=EntryOut,
    status_code=status.HTTP_201_CREATED,
    tags=["viewer"],
)
async def enter_lottery(
    container: ContainerDep, ctx: ContextDep, viewer: ViewerDep, lottery_id: Id
) -> EntryOut:
    """Enter a lottery that has no keyword (signed-in viewers, once)."""
    entered = await lottery_entries.do_enter_lottery(
        ctx,
        shop_id=viewer.shop_id,
        lottery_id=lottery_id,
        viewer_id=viewer.viewer_id,
        nickname=viewer.nickname,
    )
    container.events.emit_many(entered.events)
    return EntryOut(lottery_id=entered.lottery_id, viewer_id=entered.viewer_id)
