"""From domain events to the room: what staff do over REST reaches every socket on every node.

A consumer of the node's :class:`~liveloop.core.events.EventBus`: show transitions, deletions
and pins become priority items of the room stream; bans and kicks close the viewer's sockets
wherever they are connected.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog

from liveloop.core.events import Event
from liveloop.realtime.node import RealtimeNode
from liveloop.realtime.protocol import CloseCode
from liveloop.realtime.stream import Lane

log = structlog.get_logger(__name__)


def _item(event: Event) -> dict[str, Any] | None:
    data = event.data
    match event.type:
        case "show.started":
            return {"type": "show_started", "show_id": data["show_id"], "title": data["title"]}
        case "show.ended" | "show.cancelled":
            return {"type": "show_ended", "show_id": data["show_id"]}
        case "comment.deleted":
            return {"type": "comment_deleted", "offset": data["offset"]}
        case "message.pinned":
            return {"type": "pinned", "message": {"offset": data["offset"], "text": data["text"]}}
        case "message.unpinned":
            return {"type": "unpinned", "offset": data["offset"]}
    return None


_DISCONNECTS = {
    "viewer.banned": (CloseCode.FORBIDDEN, "banned"),
    "viewer.kicked": (CloseCode.KICKED, "kicked"),
}


class RoomBridge:
    def __init__(self, node: RealtimeNode) -> None:
        self.node = node

    async def __call__(self, events: Sequence[Event]) -> None:
        for event in events:
            if event.room_id is None:
                continue
            try:
                await self._forward(event, event.room_id)
            except Exception:
                log.exception("could not forward event to the room", type=event.type, room_id=event.room_id)

    async def _forward(self, event: Event, room_id: int) -> None:
        item = _item(event)
        if item is not None:
            await self.node.publish_to(room_id, Lane.PRIORITY, item)
        disconnect = _DISCONNECTS.get(event.type)
        if disconnect is not None:
            code, reason = disconnect
            await self.node.disconnect_viewer(
                room_id=room_id, viewer_id=event.data["viewer_id"], code=code, reason=reason
            )
