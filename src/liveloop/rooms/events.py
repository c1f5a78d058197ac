"""Events of rooms and shows."""

from __future__ import annotations

from liveloop.core.events import EventData


class ShowStarted(EventData):
    TYPE = "show.started"
    show_id: int
    room_id: int
    title: str


class ShowEnded(EventData):
    TYPE = "show.ended"
    show_id: int
    room_id: int
    title: str


class ShowCancelled(EventData):
    TYPE = "show.cancelled"
    show_id: int
    room_id: int
    title: str
