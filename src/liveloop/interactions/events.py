"""The events of comments, reactions and moderation (payloads of ``liveloop.core.events.Event``).

``Event.actor`` says who acted: the viewer (``u:<user>`` / ``d:<device>``) for comments, likes,
shares and follows; ``staff:<id>`` for moderation, whose target viewer is in the payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Annotated, ClassVar

from pydantic import Field

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
        )
    }
)
