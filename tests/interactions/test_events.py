"""Every interactions event: its schema, and a round trip through the envelope."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from liveloop.core.events import Event, EventData, make_event
from liveloop.interactions import (
    EVENT_TYPES,
    CommentBlocked,
    CommentDeleted,
    CommentPosted,
    FollowMade,
    LikeBatched,
    MessagePinned,
    MessageUnpinned,
    ShareChannel,
    ShareMade,
    SlowModeChanged,
    ViewerBanned,
    ViewerKicked,
    ViewerMuted,
    ViewerUnbanned,
)

SAMPLES: list[EventData] = [
    CommentPosted(text="主播好 ***", masked=True, offset=42),
    CommentPosted(text="hi"),
    CommentBlocked(reason="interactions.comment_blocked"),
    CommentDeleted(offset=42, reason="spam"),
    LikeBatched(count=37),
    ShareMade(channel=ShareChannel.MOMENTS),
    FollowMade(),
    ViewerMuted(viewer_id="u:alice", seconds=600, until=datetime(2026, 12, 1, 12, 10, tzinfo=UTC)),
    ViewerBanned(viewer_id="d:device-1", reason="广告"),
    ViewerUnbanned(viewer_id="d:device-1"),
    ViewerKicked(viewer_id="u:bob"),
    MessagePinned(offset=7, text="今晚8点秒杀"),
    MessageUnpinned(offset=7),
    SlowModeChanged(seconds=10),
]


def test_every_type_is_registered_under_its_own_name() -> None:
    # Polls, Q&A, lotteries and red packets round-trip their events in their own test modules.
    assert all(name == cls.TYPE for name, cls in EVENT_TYPES.items())
    assert {type(s).TYPE for s in SAMPLES} <= set(EVENT_TYPES)
    assert set(EVENT_TYPES) >= {
        "comment.posted",
        "comment.blocked",
        "comment.deleted",
        "like.batched",
        "share.made",
        "follow.made",
        "viewer.muted",
        "viewer.banned",
        "viewer.unbanned",
        "viewer.kicked",
        "message.pinned",
        "message.unpinned",
    }
    for name, cls in EVENT_TYPES.items():
        assert name == cls.TYPE
        assert name.count(".") == 1


@pytest.mark.parametrize("payload", SAMPLES, ids=lambda p: f"{type(p).TYPE}")
def test_round_trip_through_the_envelope(payload: EventData) -> None:
    event = make_event(payload, shop_id=1, room_id=2, show_id=3, actor="staff:9")
    assert (event.type, event.v) == (type(payload).TYPE, 1)
    wire = Event.model_validate_json(event.model_dump_json())
    assert wire == event
    assert EVENT_TYPES[wire.type].model_validate(wire.data) == payload


def test_schemas_refuse_bad_payloads() -> None:
    with pytest.raises(ValidationError):
        LikeBatched(count=0)
    with pytest.raises(ValidationError):
        ShareMade.model_validate({"channel": "tiktok"})
    with pytest.raises(ValidationError):
        CommentPosted.model_validate({"text": "x", "offset": -1})
    with pytest.raises(ValidationError):
        ViewerKicked.model_validate({"viewer_id": "u:bob", "extra": 1})
