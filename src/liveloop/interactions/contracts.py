"""Frozen values that cross the interactions domain's border (to the gateway and the API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from liveloop.core.events import Event


class FilterMode(StrEnum):
    """What a comment containing a sensitive word becomes: refused, or shown with the word masked."""

    BLOCK = "block"
    MASK = "mask"


class ShareChannel(StrEnum):
    WECHAT = "wechat"
    MOMENTS = "moments"
    WEIBO = "weibo"
    LINK = "link"
    OTHER = "other"


class ModerationAction(StrEnum):
    MUTE = "mute"
    BAN = "ban"
    UNBAN = "unban"
    KICK = "kick"
    DELETE = "delete"
    PIN = "pin"
    UNPIN = "unpin"
    SLOW_MODE = "slow_mode"


@dataclass(frozen=True, slots=True)
class ModerationSettings:
    """A shop's comment rules (every room of the shop)."""

    filter_mode: FilterMode
    max_comment_length: int
    comment_rate_per_second: float
    comment_burst: int


@dataclass(frozen=True, slots=True)
class RoomModeration:
    room_id: int
    slow_mode_seconds: int
    pinned_offset: int | None
    pinned_text: str | None


@dataclass(frozen=True, slots=True)
class CommentDecision:
    """A comment that may be posted (a refusal is raised instead): ``text`` is what to broadcast,
    stripped and, when ``masked``, with sensitive words replaced by ``*``."""

    shop_id: int
    room_id: int
    viewer_id: str
    text: str
    masked: bool


@dataclass(frozen=True, slots=True)
class ModerationDecision:
    """What a staff action decided. The caller emits ``events`` (the transaction has committed) and
    the gateway enforces the rest: close ``viewer_id``'s sockets in the room when ``disconnect``, drop
    the message at ``offset`` (delete) or show it pinned (pin)."""

    action: ModerationAction
    shop_id: int
    room_id: int
    staff_id: int
    at: datetime
    events: tuple[Event, ...]
    viewer_id: str | None = None
    reason: str = ""
    disconnect: bool = False
    until: datetime | None = None
    offset: int | None = None
    slow_mode_seconds: int | None = None
