"""The live-tool frames of a room socket: vote, grab, enter_lottery, ask, upvote, seat_request,
seat_cancel and buy.

Each frame runs the use case its viewer route runs (``POST /api/v1/viewer/...``, ``/buyer/orders``),
through the domain facades, with the socket's viewer and room: the same checks, the same refusals
with the same codes (guests and staff tokens are refused by the use case, as over REST), the same
events. The answer is the ``ack`` of the frame with a ``result`` shaped like the route's response.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from liveloop.commerce import CommerceContext, OrderRequest, do_place_order
from liveloop.core.errors import LiveloopError
from liveloop.core.events import EventBus
from liveloop.interactions import (
    InteractionsContext,
    do_ask,
    do_enter_lottery,
    do_grab,
    do_upvote,
    do_vote,
)
from liveloop.realtime.node import LocalRoom
from liveloop.realtime.protocol_tools import (
    AskIn,
    BuyIn,
    EnterLotteryIn,
    GrabIn,
    SeatCancelIn,
    SeatRequestIn,
    UpvoteIn,
    VoteIn,
)
from liveloop.rooms import (
    SeatRequestNotFound,
    SeatState,
    do_leave_seat,
    do_request_seat,
    get_my_seat_request,
    seat_event,
)
from liveloop.shops import Viewer

ToolFrame = VoteIn | GrabIn | EnterLotteryIn | AskIn | UpvoteIn | SeatRequestIn | SeatCancelIn | BuyIn
TOOL_FRAME_TYPES = (VoteIn, GrabIn, EnterLotteryIn, AskIn, UpvoteIn, SeatRequestIn, SeatCancelIn, BuyIn)
_OPEN_SEATS = (SeatState.REQUESTED.value, SeatState.APPROVED.value)


class OrdersUnavailable(LiveloopError):
    """The server runs without the commerce runtime (no ``app.state.commerce``): nothing to buy with."""

    code = "commerce.unavailable"


@dataclass(frozen=True, slots=True)
class ToolScope:
    """Who acts, where, and with what: one per socket."""

    room: LocalRoom
    viewer: Viewer
    interactions: InteractionsContext
    events: EventBus
    commerce: CommerceContext | None


async def run_tool(scope: ToolScope, frame: ToolFrame) -> dict[str, Any]:
    """Run ``frame``'s use case, emit its events and return the ack's ``result``.

    Refusals raise the use case's ``LiveloopError`` (the session answers an error frame with its code).
    """
    match frame:
        case VoteIn():
            return await _vote(scope, frame)
        case GrabIn():
            return await _grab(scope, frame)
        case EnterLotteryIn():
            return await _enter(scope, frame)
        case AskIn():
            return await _ask(scope, frame)
        case UpvoteIn():
            return await _upvote(scope, frame)
        case SeatRequestIn():
            return await _seat_request(scope)
        case SeatCancelIn():
            return await _seat_cancel(scope, frame)
        case BuyIn():
            return await _buy(scope, frame)


async def _vote(scope: ToolScope, frame: VoteIn) -> dict[str, Any]:
    cast = await do_vote(
        scope.interactions,
        shop_id=scope.room.shop_id,
        room_id=scope.room.room_id,
        poll_id=frame.poll_id,
        viewer_id=scope.viewer.viewer_id,
        option=frame.option,
    )
    scope.events.emit_many(cast.events)
    tally = cast.tally
    return {
        "poll_id": cast.poll_id,
        "option": cast.option,
        "tally": {"counts": list(tally.counts), "total": tally.total, "final": tally.final},
    }


async def _grab(scope: ToolScope, frame: GrabIn) -> dict[str, Any]:
    grabbed = await do_grab(
        scope.interactions,
        shop_id=scope.room.shop_id,
        room_id=scope.room.room_id,
        packet_id=frame.packet_id,
        viewer_id=scope.viewer.viewer_id,
        nickname=scope.viewer.nickname,
    )
    scope.events.emit_many(grabbed.events)
    return {
        "packet_id": grabbed.packet_id,
        "amount_cents": grabbed.amount_cents,
        "nickname": grabbed.nickname,
    }


async def _enter(scope: ToolScope, frame: EnterLotteryIn) -> dict[str, Any]:
    entered = await do_enter_lottery(
        scope.interactions,
        shop_id=scope.room.shop_id,
        lottery_id=frame.lottery_id,
        viewer_id=scope.viewer.viewer_id,
        nickname=scope.viewer.nickname,
    )
    scope.events.emit_many(entered.events)
    return {"lottery_id": entered.lottery_id}


async def _ask(scope: ToolScope, frame: AskIn) -> dict[str, Any]:
    change = await do_ask(
        scope.interactions,
        shop_id=scope.room.shop_id,
        room_id=scope.room.room_id,
        show_id=None,  # the room's live show, read with the question (as the REST route does)
        viewer_id=scope.viewer.viewer_id,
        nickname=scope.viewer.nickname,
        text=frame.text,
    )
    scope.events.emit_many(change.events)
    q = change.question
    question = {
        "id": q.id,
        "nickname": q.nickname,
        "text": q.text,
        "state": q.state.value,
        "pinned": q.pinned,
        "votes": q.votes,
        "answer": q.answer,
        "created_at": _iso(q.created_at),
        "mine": True,
    }
    return {"question": question}


async def _upvote(scope: ToolScope, frame: UpvoteIn) -> dict[str, Any]:
    upvote = await do_upvote(
        scope.interactions,
        shop_id=scope.room.shop_id,
        question_id=frame.question_id,
        viewer_id=scope.viewer.viewer_id,
    )
    scope.events.emit_many(upvote.events)
    return {"question_id": upvote.question_id, "votes": upvote.votes}


async def _seat_request(scope: ToolScope) -> dict[str, Any]:
    row = await do_request_seat(scope.interactions.db, scope.viewer, scope.room.room_id)
    scope.events.emit(seat_event(row, actor=scope.viewer.viewer_id))
    return {"request_id": row.id, "state": row.state}


async def _seat_cancel(scope: ToolScope, frame: SeatCancelIn) -> dict[str, Any]:
    db, viewer, room_id = scope.interactions.db, scope.viewer, scope.room.room_id
    if frame.request_id is not None:
        latest = await get_my_seat_request(db, viewer, room_id)  # the open request, if any, is the latest
        if latest.id != frame.request_id or latest.state not in _OPEN_SEATS:
            raise SeatRequestNotFound(f"you have no open seat request {frame.request_id} in this room")
    row = await do_leave_seat(db, viewer, room_id)
    scope.events.emit(seat_event(row, actor=viewer.viewer_id))
    return {"request_id": row.id, "state": row.state}


async def _buy(scope: ToolScope, frame: BuyIn) -> dict[str, Any]:
    if scope.commerce is None:
        raise OrdersUnavailable("this server does not take orders")
    request = OrderRequest(
        idempotency_key=frame.idempotency_key,
        quantity=frame.quantity,
        product_id=frame.product_id,
        flash_sale_id=frame.flash_sale_id,
        show_id=scope.room.show_id,
        coupon_id=frame.coupon_id,
    )
    view = await do_place_order(scope.commerce, scope.viewer, request)
    order, payment = view.order, view.payment
    return {
        "order": {
            "id": order.id,
            "product_id": order.product_id,
            "flash_sale_id": order.flash_sale_id,
            "quantity": order.quantity,
            "unit_price_cents": order.unit_price_cents,
            "amount_cents": order.amount_cents,
            "discount_cents": order.discount_cents,
            "coupon_id": order.coupon_id,
            "state": order.state,
            "reserved_until": _iso(order.reserved_until),
            "replayed": view.replayed,
            "payment": None
            if payment is None
            else {
                "provider": payment.provider,
                "state": payment.state.value,
                "amount_cents": payment.amount_cents,
                "simulated": payment.simulated,
                "notice": payment.notice,
            },
        }
    }


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds")
