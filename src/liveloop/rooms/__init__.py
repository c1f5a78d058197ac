"""Rooms: a shop's live channels, their shows (scheduled -> live -> ended), line-ups and showcase."""

from liveloop.rooms.cohost import (
    SeatState,
    do_leave_seat,
    do_request_seat,
    get_my_seat_request,
    seat_event,
)
from liveloop.rooms.errors import (
    IllegalTransition,
    NotInLineup,
    RoomNotFound,
    SeatRequestNotFound,
    ShowNotFound,
    ShowNotLive,
    SignalsRateLimited,
)
from liveloop.rooms.events import (
    EVENT_TYPES,
    CartAdded,
    ProductClicked,
    ProductExposed,
    ShowCancelled,
    ShowcaseExplaining,
    ShowEnded,
    ShowStarted,
    Surface,
)
from liveloop.rooms.lineup import do_promote_in_lineup
from liveloop.rooms.live_shows import LiveShow, get_live_shows
from liveloop.rooms.live_windows import get_latest_room_windows, get_show_windows
from liveloop.rooms.model import ShowAction, ShowState
from liveloop.rooms.overview import ShowCard, get_show_card, get_show_cards
from liveloop.rooms.pages import RoomPage, get_bag_products, get_room_page
from liveloop.rooms.service import get_live_show_id, get_room_shop_id
from liveloop.rooms.show_windows import ShowWindow, get_earlier_show_windows, get_show_window
from liveloop.rooms.showcase import Explaining, ExplainSegment, get_explain_segments, get_explaining
from liveloop.rooms.showcase_signals import ProductSignal, SignalKind, do_record_signals

__all__ = [
    "EVENT_TYPES",
    "CartAdded",
    "ExplainSegment",
    "Explaining",
    "IllegalTransition",
    "LiveShow",
    "NotInLineup",
    "ProductClicked",
    "ProductExposed",
    "ProductSignal",
    "RoomNotFound",
    "RoomPage",
    "SeatRequestNotFound",
    "SeatState",
    "ShowAction",
    "ShowCancelled",
    "ShowCard",
    "ShowEnded",
    "ShowNotFound",
    "ShowNotLive",
    "ShowStarted",
    "ShowState",
    "ShowWindow",
    "ShowcaseExplaining",
    "SignalKind",
    "SignalsRateLimited",
    "Surface",
    "do_leave_seat",
    "do_promote_in_lineup",
    "do_record_signals",
    "do_request_seat",
    "get_bag_products",
    "get_earlier_show_windows",
    "get_explain_segments",
    "get_explaining",
    "get_latest_room_windows",
    "get_live_show_id",
    "get_live_shows",
    "get_my_seat_request",
    "get_room_page",
    "get_room_shop_id",
    "get_show_card",
    "get_show_cards",
    "get_show_window",
    "get_show_windows",
    "seat_event",
]
