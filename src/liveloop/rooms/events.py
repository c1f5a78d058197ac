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


class _SeatEvent(EventData):
    room_id: int
    request_id: int
    viewer_id: str
    nickname: str


class CohostRequested(_SeatEvent):
    TYPE = "cohost.requested"


class CohostApproved(_SeatEvent):
    TYPE = "cohost.approved"


class CohostRejected(_SeatEvent):
    TYPE = "cohost.rejected"


class CohostCancelled(_SeatEvent):
    TYPE = "cohost.cancelled"


class CohostEnded(_SeatEvent):
    """The guest left the seat, or staff ended it (the envelope's ``actor`` says which)."""

    TYPE = "cohost.ended"
