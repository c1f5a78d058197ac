"""Stable error codes of the rooms domain."""

from __future__ import annotations

from liveloop.core.errors import Conflict, Forbidden, InvalidInput, NotFound


class RoomNotFound(NotFound):
    code = "rooms.room_not_found"


class ShowNotFound(NotFound):
    code = "rooms.show_not_found"


class IllegalTransition(Conflict):
    code = "rooms.illegal_transition"


class RoomBusy(Conflict):
    code = "rooms.room_busy"


class ShowClosed(Conflict):
    code = "rooms.show_closed"


class InvalidSchedule(InvalidInput):
    code = "rooms.invalid_schedule"


class InvalidLineup(InvalidInput):
    code = "rooms.invalid_lineup"


class SeatRequestNotFound(NotFound):
    code = "rooms.seat_request_not_found"


class SeatRequestOpen(Conflict):
    """The viewer already has a pending request or a seat in this room."""

    code = "rooms.seat_request_open"


class SeatsFull(Conflict):
    code = "rooms.seats_full"


class RtcNotConfigured(Conflict):
    code = "rooms.rtc_not_configured"


class InvalidRtcConfig(InvalidInput):
    code = "rooms.invalid_rtc_config"


class ViewerAccountRequired(Forbidden):
    """Seats are for signed-in viewers: not guests, not staff socket tokens."""

    code = "rooms.viewer_account_required"
