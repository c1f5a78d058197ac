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


#: Live-tool events shown to the room as they are: event type -> (item type, payload fields kept).
_COPIED: dict[str, tuple[str, tuple[str, ...]]] = {
    "red_packet.sent": ("red_packet", ("packet_id", "total_cents", "count", "opens_at", "expires_at")),
    "red_packet.grabbed": ("red_packet_grabbed", ("packet_id", "nickname", "amount_cents")),
    "red_packet.finished": ("red_packet_finished", ("packet_id", "grabbed_count", "grabbed_cents", "reason")),
    "lottery.opened": (
        "lottery_opened",
        ("lottery_id", "prize", "winners_count", "rules", "closes_at", "seed_hash"),
    ),
    "lottery.drawn": (
        "lottery_drawn",
        ("lottery_id", "prize", "winners", "seed", "seed_hash", "entries_count"),
    ),
    "lottery.cancelled": ("lottery_cancelled", ("lottery_id", "reason")),
    "poll.opened": ("poll_opened", ("poll_id", "kind", "question", "options", "closes_at")),
    "poll.closed": ("poll_closed", ("poll_id", "question", "options", "result")),
    "lineup.reordered": ("lineup_reordered", ("show_id", "product_ids")),
    "question.answered": ("question_answered", ("question_id", "nickname", "text", "answer")),
    "question.pinned": ("question_pinned", ("question_id", "nickname", "text", "votes")),
    "question.unpinned": ("question_unpinned", ("question_id",)),
    "cohost.approved": ("cohost_seated", ("request_id", "nickname")),
    "cohost.ended": ("cohost_left", ("request_id", "nickname")),
    # "Someone just bought X": no buyer identity goes to the room.
    "order.paid": ("order_paid", ("product_id", "flash_sale_id", "quantity")),
}


def _item(event: Event) -> dict[str, Any] | None:
    data = event.data
    copied = _COPIED.get(event.type)
    if copied is not None:
        kind, fields = copied
        return {"type": kind} | {name: data.get(name) for name in fields}
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
