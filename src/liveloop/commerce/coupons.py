"""Coupon templates (优惠券) and their drops into live rooms.

A template says what a coupon gives (``commerce.coupon_rules``), to which product (or the whole
shop), when it may be used, how many a viewer may claim and how many exist in all. A drop offers a
template's coupons to a room: the first ``quantity`` signed-in viewers to claim within the window get
one each (``commerce.coupon_claims``).

Permissions: templates are catalog work (``CATALOG_WRITE``: owner, operator; reading ``CATALOG_READ``);
dropping is show control (``SHOWS_CONTROL``: owner, operator, host), so the host drops on air;
reading drops is ``SHOWS_READ``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from liveloop.commerce.context import CommerceContext
from liveloop.commerce.coupon_cache import load_drop
from liveloop.commerce.coupon_events import CouponDropped
from liveloop.commerce.coupon_rules import (
    CouponKind,
    CouponTerms,
    DropState,
    Validity,
    check_terms,
    check_validity,
)
from liveloop.commerce.errors import (
    CouponDisabled,
    CouponExpired,
    CouponNotFound,
    CouponSoldOut,
    InvalidCoupon,
    ProductNotFound,
    RoomNotFound,
)
from liveloop.commerce.storage import (
    CouponDropRow,
    CouponTemplateRow,
    ProductRow,
    live_show_id,
    room_shop_id,
)
from liveloop.core.db import Database, utcnow
from liveloop.core.events import make_event
from liveloop.core.pagination import PageParams
from liveloop.shops import Permission, Principal, check_permission

MIN_WINDOW_SECONDS, MAX_WINDOW_SECONDS = 5, 24 * 3600


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    name: str
    terms: CouponTerms
    validity: Validity
    per_user_limit: int
    total_quantity: int
    product_id: int | None = None


def terms_of(row: CouponTemplateRow) -> CouponTerms:
    return CouponTerms(
        kind=CouponKind(row.kind),
        amount_off_cents=row.amount_off_cents,
        percent=row.percent,
        max_discount_cents=row.max_discount_cents,
        threshold_cents=row.threshold_cents,
    )


def validity_of(row: CouponTemplateRow) -> Validity:
    return Validity(valid_from=row.valid_from, valid_until=row.valid_until, valid_days=row.valid_days)


def drop_state(row: CouponDropRow, now: datetime) -> DropState:
    return DropState.CLOSED if now >= row.expires_at or row.claimed >= row.quantity else DropState.OPEN


async def _template_in_shop(session: AsyncSession, shop_id: int, template_id: int) -> CouponTemplateRow:
    row = await session.get(CouponTemplateRow, template_id, populate_existing=True)
    if row is None or row.shop_id != shop_id:
        raise CouponNotFound(f"coupon template {template_id} not found")
    return row


async def _check_room(session: AsyncSession, shop_id: int, room_id: int) -> None:
    if await room_shop_id(session, room_id) != shop_id:
        raise RoomNotFound(f"room {room_id} not found")


async def do_create_coupon_template(
    db: Database, principal: Principal, spec: TemplateSpec
) -> CouponTemplateRow:
    check_permission(principal, Permission.CATALOG_WRITE)
    check_terms(spec.terms)
    validity = check_validity(spec.validity, now=utcnow())
    if spec.per_user_limit < 1 or spec.total_quantity < 1:
        raise InvalidCoupon("per_user_limit and total_quantity must be at least 1")
    async with db.transaction() as session:
        if spec.product_id is not None:
            product = await session.get(ProductRow, spec.product_id)
            if product is None or product.shop_id != principal.shop_id or product.archived:
                raise ProductNotFound(f"product {spec.product_id} not found")
        row = CouponTemplateRow(
            shop_id=principal.shop_id,
            name=spec.name,
            kind=spec.terms.kind.value,
            amount_off_cents=spec.terms.amount_off_cents,
            percent=spec.terms.percent,
            max_discount_cents=spec.terms.max_discount_cents,
            threshold_cents=spec.terms.threshold_cents,
            product_id=spec.product_id,
            valid_from=validity.valid_from,
            valid_until=validity.valid_until,
            valid_days=validity.valid_days,
            per_user_limit=spec.per_user_limit,
            total_quantity=spec.total_quantity,
            quantity_issued=0,
            created_by=principal.staff_id,
        )
        session.add(row)
    return row


async def get_coupon_templates(
    db: Database, principal: Principal, page: PageParams, *, include_disabled: bool = True
) -> list[CouponTemplateRow]:
    check_permission(principal, Permission.CATALOG_READ)
    stmt = select(CouponTemplateRow).where(
        CouponTemplateRow.shop_id == principal.shop_id, CouponTemplateRow.id > page.after_id
    )
    if not include_disabled:
        stmt = stmt.where(CouponTemplateRow.disabled_at.is_(None))
    async with db.read() as session:
        return list(await session.scalars(stmt.order_by(CouponTemplateRow.id).limit(page.limit + 1)))


async def get_coupon_template(db: Database, principal: Principal, template_id: int) -> CouponTemplateRow:
    check_permission(principal, Permission.CATALOG_READ)
    async with db.read() as session:
        return await _template_in_shop(session, principal.shop_id, template_id)


async def do_disable_coupon_template(
    db: Database, principal: Principal, template_id: int
) -> CouponTemplateRow:
    """Stop issuing the template's coupons (open drops close); coupons already claimed stay usable.

    Disabling a disabled template changes nothing."""
    check_permission(principal, Permission.CATALOG_WRITE)
    now = utcnow()
    async with db.transaction() as session:
        await session.execute(
            update(CouponTemplateRow)
            .where(
                CouponTemplateRow.id == template_id,
                CouponTemplateRow.shop_id == principal.shop_id,
                CouponTemplateRow.disabled_at.is_(None),
            )
            .values(disabled_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return await _template_in_shop(session, principal.shop_id, template_id)


async def do_drop_coupons(
    ctx: CommerceContext,
    principal: Principal,
    *,
    room_id: int,
    template_id: int,
    quantity: int,
    window_seconds: int,
) -> CouponDropRow:
    """Offer ``quantity`` coupons of the template to the room for ``window_seconds``; emits
    ``coupon.dropped`` (with the show live in the room, if any) once the counters are loaded."""
    check_permission(principal, Permission.SHOWS_CONTROL)
    if quantity < 1 or not MIN_WINDOW_SECONDS <= window_seconds <= MAX_WINDOW_SECONDS:
        raise InvalidCoupon(
            f"quantity must be at least 1 and window_seconds {MIN_WINDOW_SECONDS} to {MAX_WINDOW_SECONDS}"
        )
    now = utcnow()
    async with ctx.db.transaction() as session:
        await _check_room(session, principal.shop_id, room_id)
        template = await _template_in_shop(session, principal.shop_id, template_id)
        if template.disabled_at is not None:
            raise CouponDisabled(f"coupon template {template_id} is disabled")
        if template.valid_until is not None and template.valid_until <= now:
            raise CouponExpired(f"coupon template {template_id} is no longer valid")
        left = template.total_quantity - template.quantity_issued
        if left <= 0:
            raise CouponSoldOut(f"every coupon of template {template_id} has been issued")
        if quantity > left:
            raise InvalidCoupon(f"only {left} coupons of this template are left to drop")
        drop = CouponDropRow(
            shop_id=principal.shop_id,
            template_id=template.id,
            room_id=room_id,
            show_id=await live_show_id(session, room_id),
            quantity=quantity,
            claimed=0,
            expires_at=now + timedelta(seconds=window_seconds),
            created_by=principal.staff_id,
            created_at=now,
        )
        session.add(drop)
    await load_drop(ctx.db, ctx.counters, drop.id, replace=True)
    payload = CouponDropped(
        drop_id=drop.id,
        template_id=template.id,
        name=template.name,
        kind=CouponKind(template.kind),
        quantity=quantity,
        expires_at=drop.expires_at,
        amount_off_cents=template.amount_off_cents,
        percent=template.percent,
        max_discount_cents=template.max_discount_cents,
        threshold_cents=template.threshold_cents,
        product_id=template.product_id,
    )
    ctx.events.emit(
        make_event(
            payload,
            shop_id=principal.shop_id,
            room_id=room_id,
            show_id=drop.show_id,
            actor=f"staff:{principal.staff_id}",
        )
    )
    return drop


async def get_coupon_drops(
    db: Database, principal: Principal, page: PageParams, *, room_id: int
) -> list[CouponDropRow]:
    check_permission(principal, Permission.SHOWS_READ)
    async with db.read() as session:
        await _check_room(session, principal.shop_id, room_id)
        stmt = select(CouponDropRow).where(
            CouponDropRow.shop_id == principal.shop_id,
            CouponDropRow.room_id == room_id,
            CouponDropRow.id > page.after_id,
        )
        return list(await session.scalars(stmt.order_by(CouponDropRow.id).limit(page.limit + 1)))


@dataclass(frozen=True, slots=True)
class OpenCouponDrop:
    """A drop a viewer can still claim from, as the room shows it."""

    drop_id: int
    template_id: int
    name: str
    terms: CouponTerms
    product_id: int | None  # only this product; None: the whole shop
    quantity: int
    claimed: int
    left: int  # what the next claims can still get: the drop's rest, bounded by the template's
    expires_at: datetime


async def get_open_coupon_drops(db: Database, *, shop_id: int, room_id: int) -> list[OpenCouponDrop]:
    """The room's drops still open (in their window, coupons left, template enabled), oldest first.
    No principal: what the room shows."""
    now = utcnow()
    stmt = (
        select(CouponDropRow, CouponTemplateRow)
        .join(CouponTemplateRow, CouponTemplateRow.id == CouponDropRow.template_id)
        .where(
            CouponDropRow.shop_id == shop_id,
            CouponDropRow.room_id == room_id,
            CouponDropRow.expires_at > now,
            CouponDropRow.claimed < CouponDropRow.quantity,
            CouponTemplateRow.disabled_at.is_(None),
            CouponTemplateRow.quantity_issued < CouponTemplateRow.total_quantity,
        )
        .order_by(CouponDropRow.id)
    )
    async with db.read() as session:
        rows = (await session.execute(stmt)).all()
    return [
        OpenCouponDrop(
            drop_id=drop.id,
            template_id=template.id,
            name=template.name,
            terms=terms_of(template),
            product_id=template.product_id,
            quantity=drop.quantity,
            claimed=drop.claimed,
            left=min(drop.quantity - drop.claimed, template.total_quantity - template.quantity_issued),
            expires_at=drop.expires_at,
        )
        for drop, template in rows
    ]


async def get_coupon_drop(db: Database, principal: Principal, drop_id: int) -> CouponDropRow:
    check_permission(principal, Permission.SHOWS_READ)
    async with db.read() as session:
        row = await session.get(CouponDropRow, drop_id)
    if row is None or row.shop_id != principal.shop_id:
        raise CouponNotFound(f"coupon drop {drop_id} not found")
    return row
