"""Events of the live room itself: viewers entering and leaving, host messages."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from liveloop.core.events import EventData

TrafficSource = Literal["recommend", "follow", "search", "share", "campaign", "group", "ad", "other"]
TRAFFIC_SOURCES: frozenset[str] = frozenset(TrafficSource.__args__)  # type: ignore[attr-defined]


class ViewerEntered(EventData):
    """A viewing session began (a reconnect within the presence window is not a new entry)."""

    TYPE = "viewer.entered"
    viewer_id: str
    nickname: str
    guest: bool
    source: TrafficSource = "other"


class ViewerLeft(EventData):
    """A viewing session ended: the socket closed, or no heartbeat for the presence window."""

    TYPE = "viewer.left"
    viewer_id: str
    reason: Literal["closed", "timeout", "kicked", "banned", "flooding", "slow_consumer"]
    watch_seconds: Annotated[float, Field(ge=0)]


class HostMessagePosted(EventData):
    TYPE = "host_message.posted"
    text: str
    offset: int
    staff_id: int
