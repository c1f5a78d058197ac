"""The live tools a viewer page starts from: open polls, red packets, the lottery, the product bag.

The room socket's snapshot carries recent comments only; the tools opened before the viewer came in
are rendered into the page's config, shaped like the stream items that announce them (``poll_opened``,
``red_packet``, ``lottery_opened``), so ``live.js`` applies both the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from liveloop.core.db import Database
from liveloop.interactions import InteractionsContext, get_room_tools
from liveloop.rooms import RoomPage, get_bag_products


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


async def get_live_state(db: Database, interactions: InteractionsContext, room: RoomPage) -> dict[str, Any]:
    tools = await get_room_tools(interactions, shop_id=room.shop_id, room_id=room.room_id)
    polls = [
        {
            "type": "poll_opened",
            "poll_id": poll.id,
            "kind": poll.kind.value,
            "question": poll.question,
            "options": [{"text": o.text, "product_id": o.product_id} for o in poll.options],
            "closes_at": _iso(poll.closes_at),
            "counts": list(tally.counts),
            "total": tally.total,
        }
        for poll, tally in tools.polls
    ]
    packets = [
        {
            "type": "red_packet",
            "packet_id": p.id,
            "total_cents": p.total_cents,
            "count": p.count,
            "opens_at": _iso(p.opens_at),
            "expires_at": _iso(p.expires_at),
            "grabbed_count": p.grabbed_count,
        }
        for p in tools.red_packets
    ]
    lottery = tools.lottery
    opened = None
    if lottery is not None:
        opened = {
            "type": "lottery_opened",
            "lottery_id": lottery.id,
            "prize": lottery.prize,
            "winners_count": lottery.winners_count,
            "rules": lottery.rules.as_list(),
            "closes_at": _iso(lottery.closes_at),
            "seed_hash": lottery.seed_hash,
            "state": lottery.state.value,
        }
    products = []
    if room.show_id is not None:
        products = [
            {
                "product_id": p.id,
                "name": p.title,
                "price_cents": p.price_cents,
                "list_price_cents": p.list_price_cents,
                "image_url": p.image_url,
            }
            for p in await get_bag_products(db, show_id=room.show_id)
        ]
    return {"polls": polls, "red_packets": packets, "lottery": opened, "products": products}
