"""Claiming a dropped coupon (抢券), and a buyer's own coupons.

A claim, in order: the drop is checked (this shop's, its window open, its template enabled); the
viewer must be in the drop's room now (one presence read in the Counters, before any counter
changes, so a refused claim costs no unit); ``Counters.reserve`` refuses the crowd fast (the drop's
coupons left, the viewer's coupons of the template against its per-user limit); then one SQL
transaction issues the coupon. If it fails, the reservation is given back.

The SQL store guards itself, so the counters may be lost or run ahead without one coupon too many:
the transaction's first statement is a conditional UPDATE of the drop's ``claimed`` that cannot pass
its ``quantity`` (nor its window), the second one of the template's ``quantity_issued`` that cannot
pass ``total_quantity``; the viewer's coupons of the template are counted under those row locks, and
a unique constraint holds a viewer to one coupon per drop. Lock order: the drop row, then its
template row (nothing else locks both).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from liveloop.commerce.context import CommerceContext
from liveloop.commerce.coupon_cache import DropKeys
from liveloop.commerce.coupon_events import CouponClaimed
from liveloop.commerce.coupon_rules import CouponState, Validity, coupon_window
from liveloop.commerce.errors import (
    CouponExpired,
    CouponLimitReached,
    CouponNotFound,
    CouponSoldOut,
    DropClosed,
)
from liveloop.commerce.orders import check_buyer
from liveloop.commerce.presence import RoomPresence, check_present
from liveloop.commerce.storage import CouponDropRow, CouponRow, CouponTemplateRow
from liveloop.core.counters import ReserveStatus
from liveloop.core.db import Database, utcnow
from liveloop.core.events import make_event
from liveloop.core.pagination import PageParams
from liveloop.shops import Viewer


@dataclass(frozen=True, slots=True)
class OwnedCoupon:
    """A buyer's coupon with the template it was issued from."""

    coupon: CouponRow
    template: CouponTemplateRow


async def _drop_and_template(
    session: AsyncSession, shop_id: int, drop_id: int
) -> tuple[CouponDropRow, CouponTemplateRow]:
    drop = await session.get(CouponDropRow, drop_id, populate_existing=True)
    if drop is None or drop.shop_id != shop_id:
        raise CouponNotFound(f"coupon drop {drop_id} not found")
    template = await session.get_one(CouponTemplateRow, drop.template_id, populate_existing=True)
    return drop, template


def _check_open(drop: CouponDropRow, template: CouponTemplateRow, now: datetime) -> None:
    if now >= drop.expires_at or template.disabled_at is not None:
        raise DropClosed(f"coupon drop {drop.id} is closed")
    if template.valid_until is not None and now >= template.valid_until:
        raise CouponExpired(f"the coupons of drop {drop.id} are no longer valid")


async def _issue(
    session: AsyncSession, drop_id: int, *, shop_id: int, owner: str, now: datetime
) -> CouponRow:
    """The truth's guards and the coupon, in one transaction whose first statement takes the lock."""
    claimed = await session.execute(
        update(CouponDropRow)
        .where(
            CouponDropRow.id == drop_id,
            CouponDropRow.shop_id == shop_id,
            CouponDropRow.expires_at > now,
            CouponDropRow.claimed < CouponDropRow.quantity,
        )
        .values(claimed=CouponDropRow.claimed + 1)
        .returning(CouponDropRow.template_id)
        .execution_options(synchronize_session=False)
    )
    template_id = claimed.scalar()
    drop, template = await _drop_and_template(session, shop_id, drop_id)
    if template_id is None:
        _check_open(drop, template, now)
        raise CouponSoldOut(f"every coupon of drop {drop_id} has been claimed")
    issued = await session.execute(
        update(CouponTemplateRow)
        .where(
            CouponTemplateRow.id == template_id,
            CouponTemplateRow.disabled_at.is_(None),
            CouponTemplateRow.quantity_issued < CouponTemplateRow.total_quantity,
        )
        .values(quantity_issued=CouponTemplateRow.quantity_issued + 1)
        .returning(CouponTemplateRow.per_user_limit)
        .execution_options(synchronize_session=False)
    )
    limit = issued.scalar()
    if limit is None:
        _check_open(drop, template, now)
        raise CouponSoldOut(f"every coupon of template {template_id} has been issued")
    _check_open(drop, template, now)
    held = await session.scalar(
        select(func.count())
        .select_from(CouponRow)
        .where(CouponRow.template_id == template_id, CouponRow.owner_id == owner)
    )
    if int(held or 0) + 1 > limit:
        raise CouponLimitReached(f"at most {limit} of these coupons per buyer")
    validity = Validity(template.valid_from, template.valid_until, template.valid_days)
    valid_from, valid_until = coupon_window(validity, claimed_at=now)
    coupon = CouponRow(
        shop_id=shop_id,
        template_id=template_id,
        drop_id=drop_id,
        owner_id=owner,
        room_id=drop.room_id,
        show_id=drop.show_id,
        claimed_at=now,
        valid_from=valid_from,
        valid_until=valid_until,
        discount_cents=0,
    )
    session.add(coupon)
    await session.flush()
    return coupon


async def do_claim_coupon(
    ctx: CommerceContext, viewer: Viewer, drop_id: int, *, presence: RoomPresence | None
) -> OwnedCoupon:
    """Give the signed-in viewer one coupon of the drop; emits ``coupon.claimed``.

    Refusals change nothing: BuyerRequired (guests, staff), CouponNotFound, DropClosed, CouponExpired,
    NotInRoom (``presence`` does not see the viewer in the drop's room; None: nobody is seen),
    CouponLimitReached (the template's per-user limit, or a second claim of this drop), CouponSoldOut.
    """
    owner = check_buyer(viewer)
    now = utcnow()
    async with ctx.db.read() as session:
        drop, template = await _drop_and_template(session, viewer.shop_id, drop_id)
    _check_open(drop, template, now)
    await check_present(presence, room_id=drop.room_id, viewer_id=owner, what="coupons")
    keys = DropKeys(template.id, drop.id, template.per_user_limit)
    reserved = await ctx.coupons.reserve(keys, owner)
    if reserved.status is ReserveStatus.OVER_LIMIT:
        raise CouponLimitReached(f"at most {template.per_user_limit} of these coupons per buyer")
    if reserved.status is not ReserveStatus.ALLOWED:
        raise CouponSoldOut(f"every coupon of drop {drop_id} has been claimed")
    try:
        async with ctx.db.transaction() as session:
            coupon = await _issue(session, drop_id, shop_id=viewer.shop_id, owner=owner, now=now)
    except IntegrityError:  # the viewer's coupon of this drop, claimed by a concurrent request
        await ctx.coupons.release(keys, owner)
        raise CouponLimitReached("one coupon per buyer per drop") from None
    except CouponSoldOut:
        await ctx.coupons.invalidate(keys)  # the cache ran ahead of the truth: reload it
        raise
    except BaseException:
        await ctx.coupons.release(keys, owner)
        raise
    payload = CouponClaimed(drop_id=drop.id, template_id=template.id, coupon_id=coupon.id)
    ctx.events.emit(
        make_event(payload, shop_id=viewer.shop_id, room_id=drop.room_id, show_id=drop.show_id, actor=owner)
    )
    return OwnedCoupon(coupon, template)


def _state_filter(state: CouponState, now: datetime) -> tuple[ColumnElement[bool], ...]:
    match state:
        case CouponState.REDEEMED:
            return (CouponRow.redeemed_at.is_not(None),)
        case CouponState.IN_USE:
            return (CouponRow.redeemed_at.is_(None), CouponRow.used_order_id.is_not(None))
        case CouponState.EXPIRED:
            return (CouponRow.used_order_id.is_(None), CouponRow.valid_until <= now)
        case CouponState.AVAILABLE:
            return (CouponRow.used_order_id.is_(None), CouponRow.valid_until > now)


async def get_buyer_coupons(
    db: Database, viewer: Viewer, page: PageParams, *, state: CouponState | None = None
) -> list[OwnedCoupon]:
    """The viewer's own coupons, oldest first (``limit + 1`` of them, for the next cursor)."""
    owner = check_buyer(viewer)
    stmt = (
        select(CouponRow, CouponTemplateRow)
        .join(CouponTemplateRow, CouponTemplateRow.id == CouponRow.template_id)
        .where(CouponRow.shop_id == viewer.shop_id, CouponRow.owner_id == owner, CouponRow.id > page.after_id)
    )
    if state is not None:
        stmt = stmt.where(*_state_filter(state, utcnow()))
    async with db.read() as session:
        rows = await session.execute(stmt.order_by(CouponRow.id).limit(page.limit + 1))
        return [OwnedCoupon(coupon, template) for coupon, template in rows]
