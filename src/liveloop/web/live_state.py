"""The live tools a room shows right now: what a viewer who comes in late starts from.

The room socket's snapshot carries recent comments only; the tools opened before the viewer came
in (polls, red packets, the lottery, flash sales, coupon drops) and the product explained now are
read here, shaped like the stream items that announce them (``poll_opened``, ``red_packet``,
``lottery_opened``, ``flash_sale_started``, ``coupon_dropped``, ``explaining``) plus the fields
that changed since (tallies, units left, coupons claimed), so a client applies both the same way.
The viewer page renders them into its config (``web.pages``); apps read them from
``GET /api/v1/rooms/{room_id}/live-tools`` (``web.live_tools``). Secrets stay out: no unclaimed
red-packet shares, no lottery seed.

This module composes three domains (interactions, commerce, rooms), which is why it sits in the
app layer: no domain may import one above it (see the import-linter layers in pyproject.toml).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from liveloop.commerce import (
    CouponKind,
    OpenCouponDrop,
    RoomFlashSale,
    SaleState,
    get_open_coupon_drops,
    get_room_flash_sales,
)
from liveloop.core.db import Database
from liveloop.core.schemas import OutModel
from liveloop.interactions import InteractionsContext, LotteryState, PollKind, get_room_tools
from liveloop.rooms import RoomPage, get_bag_products, get_explaining


class PollOptionItem(OutModel):
    text: str
    product_id: int | None


class PollItem(OutModel):
    type: Literal["poll_opened"] = "poll_opened"
    poll_id: int
    kind: PollKind
    question: str
    options: list[PollOptionItem]
    closes_at: datetime | None
    counts: list[int] = Field(description="Votes per option so far, in option order.")
    total: int


class RedPacketItem(OutModel):
    type: Literal["red_packet"] = "red_packet"
    packet_id: int
    total_cents: int
    count: int
    opens_at: datetime | None
    expires_at: datetime | None
    grabbed_count: int = Field(description="Shares grabbed so far (the unclaimed shares are never shown).")


class LotteryItem(OutModel):
    type: Literal["lottery_opened"] = "lottery_opened"
    lottery_id: int
    prize: str
    winners_count: int
    rules: list[dict[str, Any]]
    closes_at: datetime | None
    seed_hash: str = Field(description="sha256 of the secret seed; the seed itself comes with the draw.")
    state: LotteryState


class FlashSaleItem(OutModel):
    type: Literal["flash_sale_started"] = "flash_sale_started"
    sale_id: int
    product_id: int
    name: str = Field(description="The product's title.")
    price_cents: int = Field(description="The special price, integer cents.")
    stock: int = Field(description="The sale's units in all.")
    stock_left: int = Field(description="Units not held by orders yet.")
    per_user_limit: int
    starts_at: datetime
    ends_at: datetime
    state: SaleState = Field(description="active, or scheduled (counting down to starts_at).")


class CouponDropItem(OutModel):
    type: Literal["coupon_dropped"] = "coupon_dropped"
    drop_id: int
    template_id: int
    name: str
    kind: CouponKind
    quantity: int = Field(description="Coupons the drop offered.")
    claimed: int
    left: int = Field(description="Coupons the next claims can still get.")
    expires_at: datetime = Field(description="Claims close then.")
    amount_off_cents: int | None
    percent: int | None
    max_discount_cents: int | None
    threshold_cents: int | None
    product_id: int | None = Field(description="Only this product; null: the whole shop.")


class ExplainingItem(OutModel):
    type: Literal["explaining"] = "explaining"
    show_id: int
    product_id: int
    name: str
    price_cents: int
    image_url: str | None
    since: datetime


class LiveToolsOut(OutModel):
    room_id: int
    show_id: int | None = Field(description="The show live in the room (null: none, so no sales).")
    polls: list[PollItem] = Field(description="Open polls with their counts, oldest first.")
    red_packets: list[RedPacketItem] = Field(description="Packets that can still be grabbed, oldest first.")
    lottery: LotteryItem | None = Field(description="The lottery taking entries or being drawn.")
    flash_sales: list[FlashSaleItem] = Field(description="The live show's sales not ended, oldest first.")
    coupon_drops: list[CouponDropItem] = Field(description="Drops still open for claims, oldest first.")
    explaining: ExplainingItem | None = Field(description="The product explained now (讲解中).")


def _flash_sale(found: RoomFlashSale) -> FlashSaleItem:
    sale = found.sale
    return FlashSaleItem(
        sale_id=sale.id,
        product_id=sale.product_id,
        name=found.name,
        price_cents=sale.price_cents,
        stock=sale.stock,
        stock_left=found.stock_left,
        per_user_limit=sale.per_user_limit,
        starts_at=sale.starts_at,
        ends_at=sale.ends_at,
        state=sale.state,
    )


def _coupon_drop(drop: OpenCouponDrop) -> CouponDropItem:
    terms = drop.terms
    return CouponDropItem(
        drop_id=drop.drop_id,
        template_id=drop.template_id,
        name=drop.name,
        kind=terms.kind,
        quantity=drop.quantity,
        claimed=drop.claimed,
        left=drop.left,
        expires_at=drop.expires_at,
        amount_off_cents=terms.amount_off_cents,
        percent=terms.percent,
        max_discount_cents=terms.max_discount_cents,
        threshold_cents=terms.threshold_cents,
        product_id=drop.product_id,
    )


async def get_live_tools(db: Database, interactions: InteractionsContext, room: RoomPage) -> LiveToolsOut:
    """The room's open tools; ``room`` is already known to be the caller's (or public, for the page)."""
    tools = await get_room_tools(interactions, shop_id=room.shop_id, room_id=room.room_id)
    polls = [
        PollItem(
            poll_id=poll.id,
            kind=poll.kind,
            question=poll.question,
            options=[PollOptionItem(text=o.text, product_id=o.product_id) for o in poll.options],
            closes_at=poll.closes_at,
            counts=list(tally.counts),
            total=tally.total,
        )
        for poll, tally in tools.polls
    ]
    packets = [
        RedPacketItem(
            packet_id=p.id,
            total_cents=p.total_cents,
            count=p.count,
            opens_at=p.opens_at,
            expires_at=p.expires_at,
            grabbed_count=p.grabbed_count,
        )
        for p in tools.red_packets
    ]
    lottery = None
    if tools.lottery is not None:
        found = tools.lottery
        lottery = LotteryItem(
            lottery_id=found.id,
            prize=found.prize,
            winners_count=found.winners_count,
            rules=found.rules.as_list(),
            closes_at=found.closes_at,
            seed_hash=found.seed_hash,
            state=found.state,
        )
    sales: list[FlashSaleItem] = []
    explaining = None
    if room.show_id is not None:
        sales = [
            _flash_sale(s) for s in await get_room_flash_sales(db, shop_id=room.shop_id, show_id=room.show_id)
        ]
        async with db.read() as session:
            now = await get_explaining(session, room.show_id)
        if now is not None:
            explaining = ExplainingItem(
                show_id=now.show_id,
                product_id=now.product_id,
                name=now.name,
                price_cents=now.price_cents,
                image_url=now.image_url,
                since=now.since,
            )
    drops = await get_open_coupon_drops(db, shop_id=room.shop_id, room_id=room.room_id)
    return LiveToolsOut(
        room_id=room.room_id,
        show_id=room.show_id,
        polls=polls,
        red_packets=packets,
        lottery=lottery,
        flash_sales=sales,
        coupon_drops=[_coupon_drop(d) for d in drops],
        explaining=explaining,
    )


async def get_live_state(db: Database, interactions: InteractionsContext, room: RoomPage) -> dict[str, Any]:
    """The viewer page's ``live`` config: the room's open tools (as JSON) and the live show's bag."""
    state = (await get_live_tools(db, interactions, room)).model_dump(mode="json")
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
    return state | {"products": products}
