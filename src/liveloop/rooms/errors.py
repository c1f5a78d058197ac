"""Stable error codes of the rooms domain."""

from __future__ import annotations

from liveloop.core.errors import Conflict, InvalidInput, NotFound


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
