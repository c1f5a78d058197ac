"""Who may take what a live room hands out: only its audience (a heartbeat within the presence window).

Coupon drops here and red packets in ``interactions`` ask the same port; the app wires the realtime
layer's audience (``app.state.draw_audience``, the lottery draw's), one Counters read per check.
"""

from __future__ import annotations

from typing import Protocol

from liveloop.commerce.errors import NotInRoom


class RoomPresence(Protocol):
    """Whether a viewer is in a room now (a heartbeat within the presence window)."""

    async def present(self, *, room_id: int, viewer_id: str) -> bool: ...


async def check_present(presence: RoomPresence | None, *, room_id: int, viewer_id: str, what: str) -> None:
    """Raise NotInRoom unless ``viewer_id`` is in ``room_id`` now (None: this server cannot tell, so
    no). ``what`` names the room's give-away in the message ("coupons", "red packets")."""
    if presence is None:
        raise NotInRoom(f"this server cannot see who is in the room, so it cannot hand out its {what}")
    if not await presence.present(room_id=room_id, viewer_id=viewer_id):
        raise NotInRoom(f"join the live room to get its {what}")
