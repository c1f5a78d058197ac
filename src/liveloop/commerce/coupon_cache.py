"""Coupon drops in Counters: the crowd's fast gate, a cache of the SQL truth (as ``commerce.stock``).

Each drop has a counter of the coupons it still gives, and each template a per-viewer map of the
coupons claimed (``Counters.reserve`` checks both in one step, the map against the template's
per-user limit). Both are recomputed from SQL, never trusted across a restart:

    left = min(drop.quantity - drop.claimed, template.total_quantity - template.quantity_issued)
           (0 once the template is disabled or the drop's window is over)
    a viewer's coupons = count(coupons of the template they own)

The keys of one template share a Redis hash tag, so ``reserve`` may touch both on a cluster too.
A cache that runs ahead of the truth costs a refused SQL write (the truth guards itself: see
``commerce.coupon_claims``), and one that lags is reloaded, so neither hands out one coupon too many.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from sqlalchemy import func, select

from liveloop.commerce.storage import CouponDropRow, CouponRow, CouponTemplateRow
from liveloop.core.counters import Counters, ReserveResult, ReserveStatus
from liveloop.core.db import Database, utcnow

log = structlog.get_logger(__name__)

#: Drop counters outlive the drop's window by this much (late releases still find them).
DROP_GRACE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class DropKeys:
    template_id: int
    drop_id: int
    per_user_limit: int

    @property
    def stock_key(self) -> str:
        return f"commerce:coupon:{{ct{self.template_id}}}:drop:{self.drop_id}:left"

    @property
    def taken_key(self) -> str:
        return f"commerce:coupon:{{ct{self.template_id}}}:taken"


async def load_drop(db: Database, counters: Counters, drop_id: int, *, replace: bool) -> bool:
    """Write the drop's counters from SQL; without ``replace`` only if they are absent."""
    now = utcnow()
    async with db.read() as session:
        drop = await session.get(CouponDropRow, drop_id)
        if drop is None:
            return False
        template = await session.get_one(CouponTemplateRow, drop.template_id)
        rows = await session.execute(
            select(CouponRow.owner_id, func.count())
            .where(CouponRow.template_id == template.id)
            .group_by(CouponRow.owner_id)
        )
        taken = {owner: int(count) for owner, count in rows}
    left = min(drop.quantity - drop.claimed, template.total_quantity - template.quantity_issued)
    if template.disabled_at is not None or drop.expires_at <= now:
        left = 0
    keys = DropKeys(template.id, drop.id, template.per_user_limit)
    ttl = max(60.0, (drop.expires_at + DROP_GRACE - now).total_seconds())
    return await counters.load_stock(
        keys.stock_key, keys.taken_key, stock=max(left, 0), taken=taken, replace=replace, ttl_seconds=ttl
    )


@dataclass(eq=False)
class CouponCache:
    """Reserve and release drop coupons in Counters, loading absent counters once per process at a time."""

    db: Database
    counters: Counters
    _loading: dict[int, asyncio.Future[bool]] = field(default_factory=dict, repr=False)

    async def reserve(self, keys: DropKeys, owner: str) -> ReserveResult:
        for _ in range(3):
            result = await self.counters.reserve(
                keys.stock_key, keys.taken_key, owner, quantity=1, limit=keys.per_user_limit
            )
            if result.status is not ReserveStatus.UNLOADED:
                return result
            await self._load_once(keys.drop_id)
        return result  # still unloaded: the drop is gone

    async def release(self, keys: DropKeys, owner: str) -> None:
        await self.counters.release(keys.stock_key, keys.taken_key, owner, quantity=1)

    async def invalidate(self, keys: DropKeys) -> None:
        """Drop the drop's counter so the next claim reloads it (the cache disagreed with the truth)."""
        await self.counters.delete(keys.stock_key)

    async def _load_once(self, drop_id: int) -> None:
        pending = self._loading.get(drop_id)
        if pending is not None:  # a crowd after a restart makes one SQL read, not one each
            await asyncio.shield(pending)
            return
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._loading[drop_id] = future
        try:
            future.set_result(await load_drop(self.db, self.counters, drop_id, replace=False))
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs "never retrieved"
            raise
        finally:
            del self._loading[drop_id]


async def do_rebuild_coupon_counters(db: Database, counters: Counters) -> int:
    """Overwrite the counters of every open drop from SQL (on startup, like the stock counters)."""
    async with db.read() as session:
        ids = list(
            await session.scalars(
                select(CouponDropRow.id)
                .where(CouponDropRow.expires_at > utcnow(), CouponDropRow.claimed < CouponDropRow.quantity)
                .order_by(CouponDropRow.id)
            )
        )
    for drop_id in ids:
        await load_drop(db, counters, drop_id, replace=True)
    if ids:
        log.info("coupon drop counters rebuilt", drops=len(ids))
    return len(ids)
