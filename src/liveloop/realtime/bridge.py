"""From domain events to the room: what staff do over REST reaches every socket on every node.

A consumer of the node's :class:`~liveloop.core.events.EventBus`: show transitions, deletions
and pins become priority items of the room stream; bans and kicks close the viewer's sockets
wherever they are connected.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog

from liveloop.core.db import Database
from liveloop.core.events import Event
from liveloop.realtime.node import RealtimeNode
from liveloop.realtime.protocol import CloseCode
from liveloop.realtime.stream import Lane
from liveloop.rooms import get_show_windows

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
    "showcase.explaining": (
        "explaining",
        ("show_id", "product_id", "previous_product_id", "name", "price_cents", "image_url"),
    ),
    "question.answered": ("question_answered", ("question_id", "nickname", "text", "answer")),
    "question.pinned": ("question_pinned", ("question_id", "nickname", "text", "votes")),
    "question.unpinned": ("question_unpinned", ("question_id",)),
    "cohost.approved": ("cohost_seated", ("request_id", "nickname")),
    "cohost.ended": ("cohost_left", ("request_id", "nickname")),
    # "Someone just bought X": no buyer identity goes to the room.
    "order.paid": ("order_paid", ("product_id", "flash_sale_id", "quantity")),
    "coupon.dropped": (
        "coupon_dropped",
        (
            "drop_id",
            "template_id",
            "name",
            "kind",
            "quantity",
            "expires_at",
            "amount_off_cents",
            "percent",
            "max_discount_cents",
            "threshold_cents",
            "product_id",
        ),
    ),
    "flash_sale.started": (
        "flash_sale_started",
        ("sale_id", "product_id", "price_cents", "stock", "per_user_limit", "starts_at", "ends_at"),
    ),
    "flash_sale.ended": ("flash_sale_ended", ("sale_id", "product_id", "sold")),
}


#: Items of a crowd (one per buyer, per grab): the room's notice lane, one frame a second at most.
_NOTICES = frozenset({"order_paid", "red_packet_grabbed"})


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
    """Forwards events to their room. Events that name only a show (orders: commerce sits below
    rooms and does not know them) reach the show's room, looked up once per show and kept."""

    def __init__(self, node: RealtimeNode, db: Database | None = None) -> None:
        self.node = node
        self.db = db
        self._show_rooms: dict[int, int] = {}

    async def __call__(self, events: Sequence[Event]) -> None:
        unknown = {
            e.show_id
            for e in events
            if e.room_id is None and e.show_id is not None and e.show_id not in self._show_rooms
        }
        if unknown and self.db is not None:
            try:
                windows = await get_show_windows(self.db, unknown)
            except Exception:
                log.exception("could not look up the rooms of shows", shows=sorted(unknown))
            else:
                self._show_rooms.update({show_id: w.room_id for show_id, w in windows.items()})
        for event in events:
            room_id = event.room_id
            if room_id is None and event.show_id is not None:
                room_id = self._show_rooms.get(event.show_id)
            if room_id is None:
                continue
            try:
                await self._forward(event, room_id)
            except Exception:
                log.exception("could not forward event to the room", type=event.type, room_id=room_id)

    async def _forward(self, event: Event, room_id: int) -> None:
        item = _item(event)
        if item is not None:
            lane = Lane.NOTICE if item["type"] in _NOTICES else Lane.PRIORITY
            await self.node.publish_to(room_id, lane, item)
        disconnect = _DISCONNECTS.get(event.type)
        if disconnect is not None:
            code, reason = disconnect
            await self.node.disconnect_viewer(
                room_id=room_id, viewer_id=event.data["viewer_id"], code=code, reason=reason
            )
