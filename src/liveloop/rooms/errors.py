"""Stable error codes of the rooms domain."""

from __future__ import annotations

from liveloop.core.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited, Unauthenticated


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


class ShowNotLive(Conflict):
    """Explaining a product and viewer signals need the show to be live."""

    code = "showcase.show_not_live"


class NotInLineup(InvalidInput):
    """The product is not in the show's line-up (``details.product_ids`` names the ones that are not)."""

    code = "showcase.not_in_lineup"


class InvalidSignal(InvalidInput):
    code = "showcase.invalid_signal"


class SignalsRateLimited(RateLimited):
    code = "showcase.rate_limited"

    def __init__(self, message: str, *, retry_after_seconds: float) -> None:
        self.retry_after_seconds = round(retry_after_seconds, 3)
        super().__init__(message, details={"retry_after_seconds": self.retry_after_seconds})


class MissingAudience(Unauthenticated):
    """Neither a viewer token (or staff key, where allowed) nor a guest device id was sent."""

    code = "auth.missing_credentials"
