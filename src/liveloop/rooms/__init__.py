"""Rooms: a shop's live channels, their shows (scheduled -> live -> ended) and line-ups."""

from liveloop.rooms.errors import IllegalTransition, RoomNotFound, ShowNotFound
from liveloop.rooms.model import ShowAction, ShowState

__all__ = ["IllegalTransition", "RoomNotFound", "ShowAction", "ShowNotFound", "ShowState"]
