"""The live-tool frames of the room protocol (v1): what a viewer sends to vote, grab a red packet, enter
a lottery, ask, upvote, ask for a co-host seat or buy, and the ``result`` its ``ack`` carries.

Each frame runs the use case of the matching viewer route of the REST API (``docs/protocol.md`` names
them); the ack's ``result`` is shaped like that route's answer and a refusal is an error frame with the
route's code. ``liveloop.realtime.protocol`` puts these frames in :data:`CLIENT_FRAME`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Ref = Annotated[str, Field(max_length=64, description="Echoed back in the ack or error for this frame.")]
ToolId = Annotated[int, Field(ge=1, le=2**53)]


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class VoteIn(_Frame):
    """Vote once in an open poll (signed-in viewers)."""

    type: Literal["vote"]
    poll_id: ToolId
    option: Annotated[int, Field(ge=0, le=2**31, description="The option's index, from 0.")]
    ref: Ref | None = None


class GrabIn(_Frame):
    """Grab one share of a red packet (signed-in viewers, once per packet)."""

    type: Literal["grab"]
    packet_id: ToolId
    ref: Ref | None = None


class EnterLotteryIn(_Frame):
    """Enter a lottery that has no keyword (a keyword lottery is entered by commenting its keyword)."""

    type: Literal["enter_lottery"]
    lottery_id: ToolId
    ref: Ref | None = None


class AskIn(_Frame):
    """Ask the host a question (signed-in viewers; one every 30 s after a burst of 2)."""

    type: Literal["ask"]
    text: Annotated[str, Field(max_length=2000, description="1-200 characters once stripped.")]
    ref: Ref | None = None


class UpvoteIn(_Frame):
    """Upvote an open question, once (not your own)."""

    type: Literal["upvote"]
    question_id: ToolId
    ref: Ref | None = None


class SeatRequestIn(_Frame):
    """Ask for a co-host seat (连麦); staff approve or reject it."""

    type: Literal["seat_request"]
    ref: Ref | None = None


class SeatCancelIn(_Frame):
    """Withdraw your pending seat request, or leave your seat."""

    type: Literal["seat_cancel"]
    request_id: ToolId | None = Field(default=None, description="If given, it must be your open request.")
    ref: Ref | None = None


class BuyIn(_Frame):
    """Place an order (signed-in viewers): name exactly one of product_id and flash_sale_id. A retry
    with the same idempotency_key never orders twice."""

    type: Literal["buy"]
    product_id: ToolId | None = None
    flash_sale_id: ToolId | None = None
    quantity: Annotated[int, Field(ge=1, le=99)] = 1
    idempotency_key: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]
    coupon_id: ToolId | None = Field(default=None, description="A coupon the viewer claimed, to redeem.")
    ref: Ref | None = None


# -- the ack's ``result`` of each frame ------------------------------------------------------------


class TallyOut(BaseModel):
    counts: list[int] = Field(description="Votes per option, in option order.")
    total: int
    final: bool = Field(description="True once the poll has closed.")


class VotedOut(BaseModel):
    """``vote``: the vote and the live tally including it."""

    poll_id: int
    option: int
    tally: TallyOut


class GrabbedOut(BaseModel):
    """``grab``: the share this viewer got."""

    packet_id: int
    amount_cents: int = Field(description="Integer cents (8.88 yuan = 888).")
    nickname: str


class EnteredLotteryOut(BaseModel):
    """``enter_lottery``, or a comment that entered a keyword lottery."""

    lottery_id: int


class QuestionOut(BaseModel):
    """``ask``: the question as the room's Q&A lists it."""

    id: int
    nickname: str
    text: str
    state: str
    pinned: bool
    votes: int
    answer: str | None
    created_at: str
    mine: bool


class AskedOut(BaseModel):
    question: QuestionOut


class UpvotedOut(BaseModel):
    """``upvote``: the question's votes after this one."""

    question_id: int
    votes: int


class SeatOut(BaseModel):
    """``seat_request`` / ``seat_cancel``: the request's state after the frame."""

    request_id: int
    state: Literal["requested", "approved", "rejected", "cancelled", "ended"]


class PaymentOut(BaseModel):
    provider: str
    state: str = Field(description="pending, succeeded, failed or refunded.")
    amount_cents: int
    simulated: bool = Field(description="True for the embedded simulator: no money moves.")
    notice: str | None


class OrderOut(BaseModel):
    """``buy``: the order (``state`` created until paid). Follow it with ``GET /api/v1/buyer/orders/{id}``."""

    id: int
    product_id: int
    flash_sale_id: int | None
    quantity: int
    unit_price_cents: int
    amount_cents: int = Field(description="What the buyer pays: the price less the coupon's discount.")
    discount_cents: int = Field(description="What the coupon took off (0 without one).")
    coupon_id: int | None
    state: str = Field(description="created, paid, cancelled, expired or refunded.")
    reserved_until: str = Field(description="An unpaid order expires then.")
    replayed: bool = Field(description="True when the idempotency key had already placed this order.")
    payment: PaymentOut | None


class BoughtOut(BaseModel):
    order: OrderOut


AckResult = VotedOut | GrabbedOut | EnteredLotteryOut | AskedOut | UpvotedOut | SeatOut | BoughtOut
