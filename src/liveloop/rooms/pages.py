"""What the public viewer page may show of a room: its name, the show now live and its line-up (read
only).

No principal: the page is public, like the room socket. Only display fields leave this module.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from liveloop.commerce import get_product_infos
from liveloop.core.db import Database
from liveloop.rooms.model import ShowState
from liveloop.rooms.storage import LineupRow, RoomRow, RtcConfigRow, ShowRow


@dataclass(frozen=True, slots=True)
class RoomPage:
    room_id: int
    shop_id: int
    room_name: str
    show_id: int | None
    show_title: str | None
    playback_url: str | None
    # The shop's co-host RTC provider and, for LiveKit, the server a seated viewer's page joins
    # (public: every token answer names it too). Secrets never leave the rtc module.
    rtc_provider: str | None = None
    rtc_url: str | None = None


async def get_room_page(db: Database, room_id: int) -> RoomPage | None:
    """The room and its live show (if any) for the viewer page; None when there is no such room."""
    async with db.read() as session:
        room = await session.get(RoomRow, room_id)
        if room is None:
            return None
        show = await session.scalar(
            select(ShowRow).where(ShowRow.room_id == room_id, ShowRow.state == ShowState.LIVE.value)
        )
        rtc = await session.get(RtcConfigRow, room.shop_id)
    return RoomPage(
        room_id=room.id,
        shop_id=room.shop_id,
        room_name=room.name,
        show_id=show.id if show else None,
        show_title=show.title if show else None,
        playback_url=show.playback_url if show else None,
        rtc_provider=rtc.provider if rtc else None,
        rtc_url=rtc.livekit_url if rtc else None,
    )


@dataclass(frozen=True, slots=True)
class BagProduct:
    """A product of the show's line-up as the product bag (购物袋) lists it."""

    id: int
    title: str
    price_cents: int
    list_price_cents: int | None
    image_url: str | None


async def get_bag_products(db: Database, *, show_id: int) -> list[BagProduct]:
    """The show's line-up in order, without archived products (none for an unknown show)."""
    async with db.read() as session:
        show = await session.get(ShowRow, show_id)
        if show is None:
            return []
        ids = list(
            await session.scalars(
                select(LineupRow.product_id).where(LineupRow.show_id == show_id).order_by(LineupRow.position)
            )
        )
        products = await get_product_infos(session, shop_id=show.shop_id, product_ids=ids)
    shown = [products[i] for i in ids if i in products and not products[i].archived]
    return [
        BagProduct(
            id=p.id,
            title=p.title,
            price_cents=p.price_cents,
            list_price_cents=p.list_price_cents,
            image_url=p.image_url,
        )
        for p in shown
    ]
