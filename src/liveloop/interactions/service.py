"""The viewer side of interactions, called by the gateway for every frame: comments, likes, shares,
follows. No principal: the gateway has authenticated the viewer and knows the room.

A comment costs one Counters operation (two when the room's slow mode is looser than the shop's
per-user rate), plus at most one ``get_many`` per shop and room per ``refresh_seconds`` to notice
moderation changes (see :mod:`liveloop.interactions.cache`). No SQL on a warm cache.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from liveloop.core.counters import Counters
from liveloop.core.db import Database
from liveloop.core.errors import LiveloopError
from liveloop.core.events import Event, make_event
from liveloop.interactions.cache import ModerationCache
from liveloop.interactions.contracts import CommentDecision, FilterMode
from liveloop.interactions.errors import Banned, CommentRateLimited, ContainsBlockedWord, Muted, SlowMode
from liveloop.interactions.events import CommentBlocked, CommentPosted, FollowMade, LikeBatched, ShareMade
from liveloop.interactions.model import (
    BucketKind,
    CommentPolicy,
    check_comment_text,
    check_likes,
    check_share_channel,
    comment_buckets,
)


@dataclass(frozen=True, slots=True)
class InteractionsContext:
    """What the interactions use cases run on. The gateway builds one per process and keeps it (the
    cache is only worth something when it lives); staff routes may build one per request."""

    db: Database
    counters: Counters
    cache: ModerationCache = field(default_factory=ModerationCache)
    wall_clock: Callable[[], float] = time.time  # mute expiry, seconds since the epoch


def _bucket_key(kind: BucketKind, room_id: int, viewer_id: str) -> str:
    return f"interactions:{kind.value}:{room_id}:{viewer_id}"


async def check_join(ctx: InteractionsContext, *, shop_id: int, room_id: int, viewer_id: str) -> None:
    """Raise Banned if the viewer may not enter the room (RoomNotFound if it is not the shop's)."""
    _, room = await ctx.cache.states(ctx.db, ctx.counters, shop_id=shop_id, room_id=room_id)
    if viewer_id in room.bans:
        raise Banned("you are banned from this room")


async def check_comment(
    ctx: InteractionsContext, *, shop_id: int, room_id: int, viewer_id: str, text: str
) -> CommentDecision:
    """Decide whether ``viewer_id`` may post ``text`` now; raise a ``CommentRejected`` if not.

    In order: ban, mute, text rules (empty, length, control characters), slow mode and per-user rate
    (a comment refused for its words still spends a token, so probing the word list is throttled),
    then the shop's sensitive words (block, or mask each matched character with ``*``).
    ``viewer_id`` is the authenticated ``Viewer.viewer_id``; it is not re-validated here.
    """
    shop, room = await ctx.cache.states(ctx.db, ctx.counters, shop_id=shop_id, room_id=room_id)
    if viewer_id in room.bans:
        raise Banned("you are banned from this room")
    until = room.mutes.get(viewer_id)
    if until is not None and (left := until - ctx.wall_clock()) > 0:
        seconds = math.ceil(round(left, 3))  # datetimes keep microseconds: 60.0000004 s is 60 s
        ends = datetime.fromtimestamp(until, UTC).isoformat()
        raise Muted(f"you are muted in this room for {seconds} s more", seconds_left=seconds, until=ends)
    settings = shop.settings
    clean = check_comment_text(text, max_length=settings.max_comment_length)
    policy = CommentPolicy.for_room(settings, slow_mode_seconds=room.slow_mode_seconds)
    for bucket in comment_buckets(policy):
        rate = await ctx.counters.rate_limit(
            _bucket_key(bucket.kind, room_id, viewer_id),
            rate_per_second=bucket.rate_per_second,
            burst=bucket.burst,
        )
        if not rate.allowed:
            wait = rate.retry_after_seconds
            if bucket.kind is BucketKind.SLOW_MODE:
                raise SlowMode(
                    f"slow mode: you can post again in {math.ceil(wait)} s", retry_after_seconds=wait
                )
            raise CommentRateLimited(f"too fast: try again in {math.ceil(wait)} s", retry_after_seconds=wait)
    if not shop.words:
        return CommentDecision(
            shop_id=shop_id, room_id=room_id, viewer_id=viewer_id, text=clean, masked=False
        )
    if policy.filter_mode is FilterMode.BLOCK:
        if shop.words.contains(clean):
            raise ContainsBlockedWord("the comment contains a word this shop does not allow")
        final = clean
    else:
        final = shop.words.mask(clean)
    return CommentDecision(
        shop_id=shop_id, room_id=room_id, viewer_id=viewer_id, text=final, masked=final != clean
    )


def comment_posted_event(
    decision: CommentDecision, *, offset: int | None = None, show_id: int | None = None
) -> Event:
    """The ``comment.posted`` event, once the gateway has appended the comment at ``offset``."""
    payload = CommentPosted(text=decision.text, masked=decision.masked, offset=offset)
    return make_event(
        payload, shop_id=decision.shop_id, room_id=decision.room_id, show_id=show_id, actor=decision.viewer_id
    )


def comment_blocked_event(
    error: LiveloopError, *, shop_id: int, room_id: int, viewer_id: str, show_id: int | None = None
) -> Event:
    """The ``comment.blocked`` event for a refusal (``reason`` is the error's code)."""
    return make_event(
        CommentBlocked(reason=error.code),
        shop_id=shop_id,
        room_id=room_id,
        show_id=show_id,
        actor=viewer_id,
    )


def like_event(
    *, shop_id: int, room_id: int, viewer_id: str, count: int, show_id: int | None = None
) -> Event:
    """``like.batched`` for one frame of ``count`` taps (1..MAX_LIKES_PER_FRAME, else InvalidLikes)."""
    payload = LikeBatched(count=check_likes(count))
    return make_event(payload, shop_id=shop_id, room_id=room_id, show_id=show_id, actor=viewer_id)


def share_event(
    *, shop_id: int, room_id: int, viewer_id: str, channel: str, show_id: int | None = None
) -> Event:
    """``share.made`` (InvalidShareChannel unless ``channel`` is a ``ShareChannel`` value)."""
    payload = ShareMade(channel=check_share_channel(channel))
    return make_event(payload, shop_id=shop_id, room_id=room_id, show_id=show_id, actor=viewer_id)


def follow_event(*, shop_id: int, room_id: int, viewer_id: str, show_id: int | None = None) -> Event:
    return make_event(FollowMade(), shop_id=shop_id, room_id=room_id, show_id=show_id, actor=viewer_id)
