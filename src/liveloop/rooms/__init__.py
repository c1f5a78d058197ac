"""Rooms: a shop's live channels, their shows (scheduled -> live -> ended) and line-ups."""

from liveloop.rooms.errors import IllegalTransition, RoomNotFound, ShowNotFound
from liveloop.rooms.events import ShowCancelled, ShowEnded, ShowStarted
from liveloop.rooms.lineup import do_promote_in_lineup
from liveloop.rooms.model import ShowAction, ShowState
from liveloop.rooms.pages import RoomPage, get_room_page
from liveloop.rooms.service import get_live_show_id, get_room_shop_id

__all__ = [
    "IllegalTransition",
    "RoomNotFound",
    "RoomPage",
    "ShowAction",
    "ShowCancelled",
    "ShowEnded",
    "ShowNotFound",
    "ShowStarted",
    "ShowState",
    "do_promote_in_lineup",
    "get_live_show_id",
    "get_room_page",
    "get_room_shop_id",
]
