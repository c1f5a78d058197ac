"""The events of comments, reactions and moderation (payloads of ``liveloop.core.events.Event``).

``Event.actor`` says who acted: the viewer (``u:<user>`` / ``d:<device>``) for comments, likes,
shares and follows; ``staff:<id>`` for moderation, whose target viewer is in the payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from liveloop.core.events import EventData
from liveloop.interactions.contracts import ShareChannel

Offset = Annotated[int, Field(ge=0, description="The message's offset in the room stream.")]
ViewerId = Annotated[str, Field(min_length=3, max_length=66, description='"u:<user>" or "d:<device>"')]


class CommentPosted(EventData):
    TYPE: ClassVar[str] = "comment.posted"

    text: str = Field(description="What was broadcast: stripped, and masked when `masked`.")
    masked: bool = False
    offset: Offset | None = None


class CommentBlocked(EventData):
    TYPE: ClassVar[str] = "comment.blocked"

    reason: str = Field(description="The refusal's error code, e.g. interactions.comment_blocked.")


class CommentDeleted(EventData):
    TYPE: ClassVar[str] = "comment.deleted"

    offset: Offset
    reason: str = ""


class LikeBatched(EventData):
    TYPE: ClassVar[str] = "like.batched"

    count: int = Field(ge=1, description="Taps carried by one frame.")


class ShareMade(EventData):
    TYPE: ClassVar[str] = "share.made"

    channel: ShareChannel


class FollowMade(EventData):
    TYPE: ClassVar[str] = "follow.made"


class ViewerMuted(EventData):
    TYPE: ClassVar[str] = "viewer.muted"

    viewer_id: ViewerId
    seconds: int = Field(ge=1)
    until: datetime


class ViewerBanned(EventData):
    TYPE: ClassVar[str] = "viewer.banned"

    viewer_id: ViewerId
    reason: str = ""


class ViewerUnbanned(EventData):
    TYPE: ClassVar[str] = "viewer.unbanned"

    viewer_id: ViewerId


class ViewerKicked(EventData):
    TYPE: ClassVar[str] = "viewer.kicked"

    viewer_id: ViewerId
    reason: str = ""


class MessagePinned(EventData):
    TYPE: ClassVar[str] = "message.pinned"

    offset: Offset
    text: str


class MessageUnpinned(EventData):
    TYPE: ClassVar[str] = "message.unpinned"

    offset: Offset


class SlowModeChanged(EventData):
    TYPE: ClassVar[str] = "slow_mode.changed"

    seconds: int = Field(ge=0, description="0 turns slow mode off.")


# -- live tools: polls and Q&A (``actor``: the viewer for votes, asks and upvotes; else the staff) --

PollId = Annotated[int, Field(ge=1)]
QuestionId = Annotated[int, Field(ge=1)]


class PollOptionData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    product_id: int | None = None


class PollResultData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    counts: list[Annotated[int, Field(ge=0)]] = Field(description="Votes per option, in option order.")
    total: int = Field(ge=0)
    winner: int | None = Field(description="The most voted option (ties: the lowest index); null: no votes.")


class PollOpened(EventData):
    TYPE: ClassVar[str] = "poll.opened"

    poll_id: PollId
    kind: str = Field(description="normal, or next_product (the winner moves to the front of the line-up).")
    question: str
    options: list[PollOptionData]
    closes_at: datetime | None = None


class PollVoted(EventData):
    TYPE: ClassVar[str] = "poll.voted"

    poll_id: PollId
    option: int = Field(ge=0)


class PollClosed(EventData):
    TYPE: ClassVar[str] = "poll.closed"

    poll_id: PollId
    question: str
    options: list[PollOptionData]
    result: PollResultData


class LineupReordered(EventData):
    TYPE: ClassVar[str] = "lineup.reordered"

    show_id: int = Field(ge=1)
    product_ids: list[int] = Field(description="The whole line-up, in its new order.")
    poll_id: int | None = Field(default=None, description="The next-product poll that decided it.")


class QuestionAsked(EventData):
    TYPE: ClassVar[str] = "question.asked"

    question_id: QuestionId
    nickname: str
    text: str = Field(description="What the room shows: stripped, and masked when `masked`.")
    masked: bool = False


class QuestionUpvoted(EventData):
    TYPE: ClassVar[str] = "question.upvoted"

    question_id: QuestionId
    votes: int = Field(ge=1, description="The question's votes after this one.")


class QuestionAnswered(EventData):
    TYPE: ClassVar[str] = "question.answered"

    question_id: QuestionId
    nickname: str
    text: str
    answer: str


class QuestionPinned(EventData):
    TYPE: ClassVar[str] = "question.pinned"

    question_id: QuestionId
    nickname: str
    text: str
    votes: int = Field(ge=0)


class QuestionUnpinned(EventData):
    TYPE: ClassVar[str] = "question.unpinned"

    question_id: QuestionId


class QuestionDismissed(EventData):
    TYPE: ClassVar[str] = "question.dismissed"

    question_id: QuestionId


# -- live tools: red packets and lotteries (``actor``: the viewer for grabs and entries, the staff for
# what they did, none for a red packet that ends by itself) -----------------------------------------

Hex64 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class RedPacketSent(EventData):
    TYPE: ClassVar[str] = "red_packet.sent"

    packet_id: int = Field(ge=1)
    total_cents: int = Field(ge=1, description="Integer cents (1 yuan = 100).")
    count: int = Field(ge=1, description="Shares; each is at least 1 cent.")
    opens_at: datetime = Field(description="Grabs start then (a countdown when later than the event).")
    expires_at: datetime


class RedPacketGrabbed(EventData):
    TYPE: ClassVar[str] = "red_packet.grabbed"

    packet_id: int = Field(ge=1)
    viewer_id: ViewerId
    nickname: str
    amount_cents: int = Field(ge=1, description='The share: the room shows "<nickname> got 8.88".')


class RedPacketFinished(EventData):
    TYPE: ClassVar[str] = "red_packet.finished"

    packet_id: int = Field(ge=1)
    reason: str = Field(description="emptied (every share grabbed) or expired (the rest returned).")
    count: int = Field(ge=1)
    total_cents: int = Field(ge=1)
    grabbed_count: int = Field(ge=0)
    grabbed_cents: int = Field(ge=0)
    returned_cents: int = Field(ge=0, description="Unclaimed shares given back to the shop.")


class LotteryRuleData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = Field(description="keyword, follow or watch_time.")
    keyword: str | None = None
    minutes: int | None = None


class LotteryWinnerData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    viewer_id: ViewerId
    nickname: str


class LotteryOpened(EventData):
    TYPE: ClassVar[str] = "lottery.opened"

    lottery_id: int = Field(ge=1)
    prize: str
    winners_count: int = Field(ge=1)
    rules: list[LotteryRuleData]
    opens_at: datetime
    closes_at: datetime
    seed_hash: Hex64 = Field(description="sha256 of the secret seed, revealed by the draw.")


class LotteryEntered(EventData):
    TYPE: ClassVar[str] = "lottery.entered"

    lottery_id: int = Field(ge=1)
    via: str = Field(description="keyword (a comment) or api.")


class LotteryDrawn(EventData):
    TYPE: ClassVar[str] = "lottery.drawn"

    lottery_id: int = Field(ge=1)
    prize: str
    seed_hash: Hex64
    seed: Hex64
    entries_count: int = Field(ge=0)
    eligible: list[str] = Field(description="Every eligible viewer id, sorted: the draw's public input.")
    winners: list[LotteryWinnerData] = Field(description="In rank order (lowest ticket first).")


class LotteryCancelled(EventData):
    TYPE: ClassVar[str] = "lottery.cancelled"

    lottery_id: int = Field(ge=1)
    seed_hash: Hex64
    seed: Hex64
    reason: str = ""


EVENT_TYPES: Mapping[str, type[EventData]] = MappingProxyType(
    {
        cls.TYPE: cls
        for cls in (
            CommentPosted,
            CommentBlocked,
            CommentDeleted,
            LikeBatched,
            ShareMade,
            FollowMade,
            ViewerMuted,
            ViewerBanned,
            ViewerUnbanned,
            ViewerKicked,
            MessagePinned,
            MessageUnpinned,
            SlowModeChanged,
            PollOpened,
            PollVoted,
            PollClosed,
            LineupReordered,
            QuestionAsked,
            QuestionUpvoted,
            QuestionAnswered,
            QuestionPinned,
            QuestionUnpinned,
            QuestionDismissed,
            RedPacketSent,
            RedPacketGrabbed,
            RedPacketFinished,
            LotteryOpened,
            LotteryEntered,
            LotteryDrawn,
            LotteryCancelled,
        )
    }
)
