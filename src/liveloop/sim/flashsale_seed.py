"""The sale of ``liveloop bench flash-sale``: seeded over the API, buyers' tokens, the audit in SQL.

Tokens are minted in the bench process exactly as the product mints them
(``shops.credentials.sign_viewer_token`` with the shop's viewer key, read from its database):
10,000 tokens over the API would take longer than the sale itself.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from liveloop.commerce.model import HOLDING_STATES
from liveloop.commerce.storage import FlashSaleRow, OrderRow
from liveloop.core.db import create_engine
from liveloop.shops.credentials import sign_viewer_token
from liveloop.shops.storage import ShopRow
from liveloop.sim.common import BenchError
from liveloop.sim.server import Api

__all__ = ["SeededSale", "audit_sale", "mint_tokens", "request_order", "seed_sale"]

_HOLDING = [state.value for state in HOLDING_STATES]


@dataclass(frozen=True)
class SeededSale:
    product_id: int
    room_id: int
    show_id: int
    sale_id: int
    units: int
    limit: int


def seed_sale(api: Api, *, units: int, limit: int, price_cents: int = 990) -> SeededSale:
    """A product, a room with a live show, and a flash sale of ``units`` running now for an hour."""
    product = api.call(
        "POST",
        "/api/v1/products",
        {"sku": "FLASH-BENCH", "title": "秒杀 bench product", "price_cents": 9900, "stock": 0},
    )
    room = api.call("POST", "/api/v1/rooms", {"name": "flash sale bench"})
    now = datetime.now(UTC)
    show = api.call(
        "POST",
        "/api/v1/shows",
        {
            "room_id": room["id"],
            "title": "flash sale bench",
            "planned_start": now.isoformat(),
            "planned_end": (now + timedelta(hours=2)).isoformat(),
        },
    )
    api.call("POST", f"/api/v1/shows/{show['id']}/start")
    sale = api.call(
        "POST",
        "/api/v1/flash-sales",
        {
            "product_id": product["id"],
            "show_id": show["id"],
            "price_cents": price_cents,
            "stock": units,
            "per_user_limit": limit,
            "duration_seconds": 3600,
        },
    )
    if sale["state"] != "active":
        raise BenchError(f"the flash sale is {sale['state']}, not active")
    return SeededSale(
        product_id=int(product["id"]),
        room_id=int(room["id"]),
        show_id=int(show["id"]),
        sale_id=int(sale["id"]),
        units=units,
        limit=limit,
    )


async def mint_tokens(database_url: str, count: int, *, prefix: str = "buyer") -> tuple[int, list[str]]:
    """The only shop's id and ``count`` viewer tokens of distinct users ``{prefix}-{i}``."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            shops = (await conn.execute(select(ShopRow.id, ShopRow.viewer_key))).all()
    finally:
        await engine.dispose()
    if len(shops) != 1:
        raise BenchError(f"expected one shop in the bench database, found {len(shops)}")
    shop_id, key = int(shops[0][0]), str(shops[0][1])
    now, ttl = datetime.now(UTC), timedelta(hours=2)
    tokens = [
        sign_viewer_token(
            shop_id=shop_id, key=key, user_id=f"{prefix}-{i}", nickname=f"买家{i}", ttl=ttl, now=now
        )[0]
        for i in range(count)
    ]
    return shop_id, tokens


def request_order(buyers: int, *, greedy: float, limit: int, seed: int = 7) -> list[list[Any]]:
    """``[buyer, idempotency key]`` per request: every buyer once; a ``greedy`` share of them
    ``limit + 1`` times (distinct keys), shuffled so their requests race each other."""
    rng = random.Random(seed)
    extra = rng.sample(range(buyers), round(buyers * greedy)) if greedy > 0 else []
    requests: list[list[Any]] = [[b, f"b{b}-0"] for b in range(buyers)]
    requests += [[b, f"b{b}-{k}"] for b in extra for k in range(1, limit + 1)]
    rng.shuffle(requests)
    return requests


async def audit_sale(database_url: str, sale_id: int, *, limit: int) -> dict[str, Any]:
    """What the SQL truth says: units sold, orders by state, buyers over the per-user limit."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            allocated = await conn.scalar(
                select(FlashSaleRow.quantity_allocated).where(FlashSaleRow.id == sale_id)
            )
            states = dict(
                (
                    await conn.execute(
                        select(OrderRow.state, func.sum(OrderRow.quantity))
                        .where(OrderRow.flash_sale_id == sale_id)
                        .group_by(OrderRow.state)
                    )
                ).all()
            )
            per_buyer = (
                await conn.execute(
                    select(OrderRow.buyer_id, func.sum(OrderRow.quantity))
                    .where(OrderRow.flash_sale_id == sale_id, OrderRow.state.in_(_HOLDING))
                    .group_by(OrderRow.buyer_id)
                )
            ).all()
            orders = await conn.scalar(
                select(func.count()).select_from(OrderRow).where(OrderRow.flash_sale_id == sale_id)
            )
    finally:
        await engine.dispose()
    units = [int(u) for _b, u in per_buyer]
    return {
        "sold": sum(int(states.get(s, 0) or 0) for s in _HOLDING),
        "allocated": int(allocated or 0),
        "orders": int(orders or 0),
        "units_by_state": {str(k): int(v or 0) for k, v in states.items()},
        "buyers": len(units),
        "max_units_per_buyer": max(units, default=0),
        "buyers_over_limit": sum(1 for u in units if u > limit),
    }
