"""HTTP routes of coupons: templates and drops (staff), claims and a buyer's coupons (a viewer token)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, status
from pydantic import AwareDatetime, Field

from liveloop.commerce import coupon_claims, coupons
from liveloop.commerce.api_buyer import BuyerDep, CommerceDep
from liveloop.commerce.coupon_rules import (
    MAX_VALID_DAYS,
    CouponKind,
    CouponState,
    CouponTerms,
    DropState,
    Validity,
    coupon_state,
)
from liveloop.commerce.presence import RoomPresence
from liveloop.commerce.storage import CouponDropRow, CouponTemplateRow
from liveloop.core.container import ContainerDep
from liveloop.core.db import utcnow
from liveloop.core.pagination import Page, paged
from liveloop.core.schemas import ERROR_RESPONSES, OutModel, StrictModel
from liveloop.shops import PageDep, PrincipalDep

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
Id = Annotated[int, Field(ge=1, le=2**53)]
PathId = Annotated[int, Path(ge=1, le=2**53)]
Cents = Annotated[int, Field(ge=1, le=10**11, description="Integer cents (分).")]


async def room_presence(request: Request) -> RoomPresence | None:
    """Who is in a room, as the app wired it for lottery draws (``app.state.draw_audience``; None: not
    wired, and every claim is refused). ``async``: a plain ``def`` would hop to the thread pool."""
    presence: RoomPresence | None = getattr(request.app.state, "draw_audience", None)
    return presence


PresenceDep = Annotated[RoomPresence | None, Depends(room_presence)]


class CouponTemplateIn(StrictModel):
    name: Annotated[str, Field(min_length=1, max_length=60)]
    kind: CouponKind = Field(
        description="`amount_off` (立减 amount_off_cents), `percent_off` (折扣 percent, optional "
        "max_discount_cents) or `threshold` (满减: amount_off_cents off orders of threshold_cents or more)."
    )
    amount_off_cents: Cents | None = None
    percent: Annotated[int, Field(ge=1, le=99)] | None = None
    max_discount_cents: Cents | None = None
    threshold_cents: Cents | None = None
    product_id: Id | None = Field(default=None, description="Only this product; default: the whole shop.")
    valid_from: AwareDatetime | None = Field(default=None, description="With valid_until; default now.")
    valid_until: AwareDatetime | None = None
    valid_days: Annotated[int, Field(ge=1, le=MAX_VALID_DAYS)] | None = Field(
        default=None, description="Instead of a fixed window: valid this many days from each claim."
    )
    per_user_limit: Annotated[int, Field(ge=1, le=100)] = 1
    total_quantity: Annotated[int, Field(ge=1, le=10**7)]


class CouponTemplateOut(OutModel):
    id: int
    name: str
    kind: CouponKind
    amount_off_cents: int | None
    percent: int | None
    max_discount_cents: int | None
    threshold_cents: int | None
    product_id: int | None
    valid_from: datetime | None
    valid_until: datetime | None
    valid_days: int | None
    per_user_limit: int
    total_quantity: int
    quantity_issued: int = Field(description="Coupons claimed so far.")
    remaining: int
    disabled: bool
    disabled_at: datetime | None
    created_at: datetime


class CouponDropIn(StrictModel):
    template_id: Id
    quantity: Annotated[int, Field(ge=1, le=100_000, description="The first `quantity` claimers win.")]
    window_seconds: Annotated[
        int,
        Field(ge=coupons.MIN_WINDOW_SECONDS, le=coupons.MAX_WINDOW_SECONDS, description="Claims close then."),
    ] = 60


class CouponDropOut(OutModel):
    id: int
    template_id: int
    room_id: int
    show_id: int | None = Field(description="The show live in the room at the drop.")
    quantity: int
    claimed: int
    remaining: int
    state: DropState
    expires_at: datetime
    created_at: datetime


class CouponOut(OutModel):
    id: int
    template_id: int
    drop_id: int | None
    name: str
    kind: CouponKind
    amount_off_cents: int | None
    percent: int | None
    max_discount_cents: int | None
    threshold_cents: int | None
    product_id: int | None = Field(description="Only this product; None: the whole shop.")
    valid_from: datetime
    valid_until: datetime
    state: CouponState
    used_order_id: int | None = Field(description="The order holding (or that redeemed) it.")
    discount_cents: int = Field(description="What it took off that order.")
    claimed_at: datetime
    redeemed_at: datetime | None


def template_out(row: CouponTemplateRow) -> CouponTemplateOut:
    return CouponTemplateOut(
        id=row.id,
        name=row.name,
        kind=CouponKind(row.kind),
        amount_off_cents=row.amount_off_cents,
        percent=row.percent,
        max_discount_cents=row.max_discount_cents,
        threshold_cents=row.threshold_cents,
        product_id=row.product_id,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        valid_days=row.valid_days,
        per_user_limit=row.per_user_limit,
        total_quantity=row.total_quantity,
        quantity_issued=row.quantity_issued,
        remaining=max(0, row.total_quantity - row.quantity_issued),
        disabled=row.disabled_at is not None,
        disabled_at=row.disabled_at,
        created_at=row.created_at,
    )


def drop_out(row: CouponDropRow) -> CouponDropOut:
    return CouponDropOut(
        id=row.id,
        template_id=row.template_id,
        room_id=row.room_id,
        show_id=row.show_id,
        quantity=row.quantity,
        claimed=row.claimed,
        remaining=max(0, row.quantity - row.claimed),
        state=coupons.drop_state(row, utcnow()),
        expires_at=row.expires_at,
        created_at=row.created_at,
    )


def coupon_out(owned: coupon_claims.OwnedCoupon) -> CouponOut:
    coupon, template = owned.coupon, owned.template
    state = coupon_state(
        used_order_id=coupon.used_order_id,
        redeemed_at=coupon.redeemed_at,
        valid_until=coupon.valid_until,
        now=utcnow(),
    )
    return CouponOut(
        id=coupon.id,
        template_id=template.id,
        drop_id=coupon.drop_id,
        name=template.name,
        kind=CouponKind(template.kind),
        amount_off_cents=template.amount_off_cents,
        percent=template.percent,
        max_discount_cents=template.max_discount_cents,
        threshold_cents=template.threshold_cents,
        product_id=template.product_id,
        valid_from=coupon.valid_from,
        valid_until=coupon.valid_until,
        state=state,
        used_order_id=coupon.used_order_id,
        discount_cents=coupon.discount_cents,
        claimed_at=coupon.claimed_at,
        redeemed_at=coupon.redeemed_at,
    )


@router.post(
    "/coupon-templates",
    response_model=CouponTemplateOut,
    status_code=status.HTTP_201_CREATED,
    tags=["coupons"],
)
async def create_coupon_template(
    container: ContainerDep, principal: PrincipalDep, body: CouponTemplateIn
) -> CouponTemplateOut:
    """A coupon template (优惠券): what it takes off, for which product, when, and how many."""
    spec = coupons.TemplateSpec(
        name=body.name,
        terms=CouponTerms(
            kind=body.kind,
            amount_off_cents=body.amount_off_cents,
            percent=body.percent,
            max_discount_cents=body.max_discount_cents,
            threshold_cents=body.threshold_cents,
        ),
        validity=Validity(
            valid_from=body.valid_from, valid_until=body.valid_until, valid_days=body.valid_days
        ),
        per_user_limit=body.per_user_limit,
        total_quantity=body.total_quantity,
        product_id=body.product_id,
    )
    return template_out(await coupons.do_create_coupon_template(container.db, principal, spec))


@router.get("/coupon-templates", response_model=Page[CouponTemplateOut], tags=["coupons"])
async def list_coupon_templates(
    container: ContainerDep, principal: PrincipalDep, page: PageDep, include_disabled: bool = True
) -> Page[CouponTemplateOut]:
    rows = await coupons.get_coupon_templates(
        container.db, principal, page, include_disabled=include_disabled
    )
    return paged(rows, page, template_out)


@router.get("/coupon-templates/{template_id}", response_model=CouponTemplateOut, tags=["coupons"])
async def read_coupon_template(
    container: ContainerDep, principal: PrincipalDep, template_id: PathId
) -> CouponTemplateOut:
    return template_out(await coupons.get_coupon_template(container.db, principal, template_id))


@router.post("/coupon-templates/{template_id}/disable", response_model=CouponTemplateOut, tags=["coupons"])
async def disable_coupon_template(
    container: ContainerDep, principal: PrincipalDep, template_id: PathId
) -> CouponTemplateOut:
    """Stop issuing its coupons (open drops close); coupons already claimed stay usable."""
    return template_out(await coupons.do_disable_coupon_template(container.db, principal, template_id))


@router.post(
    "/rooms/{room_id}/coupon-drops",
    response_model=CouponDropOut,
    status_code=status.HTTP_201_CREATED,
    tags=["coupons"],
)
async def drop_coupons(
    commerce: CommerceDep, principal: PrincipalDep, room_id: PathId, body: CouponDropIn
) -> CouponDropOut:
    """Drop coupons into the room (发券): the first `quantity` viewers to claim within the window win."""
    row = await coupons.do_drop_coupons(
        commerce,
        principal,
        room_id=room_id,
        template_id=body.template_id,
        quantity=body.quantity,
        window_seconds=body.window_seconds,
    )
    return drop_out(row)


@router.get("/rooms/{room_id}/coupon-drops", response_model=Page[CouponDropOut], tags=["coupons"])
async def list_coupon_drops(
    container: ContainerDep, principal: PrincipalDep, page: PageDep, room_id: PathId
) -> Page[CouponDropOut]:
    rows = await coupons.get_coupon_drops(container.db, principal, page, room_id=room_id)
    return paged(rows, page, drop_out)


@router.get("/coupon-drops/{drop_id}", response_model=CouponDropOut, tags=["coupons"])
async def read_coupon_drop(
    container: ContainerDep, principal: PrincipalDep, drop_id: PathId
) -> CouponDropOut:
    return drop_out(await coupons.get_coupon_drop(container.db, principal, drop_id))


@router.post(
    "/coupon-drops/{drop_id}/claim",
    response_model=CouponOut,
    status_code=status.HTTP_201_CREATED,
    tags=["buyer"],
)
async def claim_coupon(
    commerce: CommerceDep, buyer: BuyerDep, presence: PresenceDep, drop_id: PathId
) -> CouponOut:
    """Claim one coupon of a drop (抢券), with a viewer token; first come, first served. Only for the
    room's audience: a viewer not connected to the drop's room now is refused (`rooms.not_present`)."""
    claimed = await coupon_claims.do_claim_coupon(commerce, buyer, drop_id, presence=presence)
    return coupon_out(claimed)


@router.get("/buyer/coupons", response_model=Page[CouponOut], tags=["buyer"])
async def list_buyer_coupons(
    container: ContainerDep, buyer: BuyerDep, page: PageDep, state: CouponState | None = None
) -> Page[CouponOut]:
    """The buyer's own coupons, oldest first; `state=available` for those an order may use now."""
    owned = await coupon_claims.get_buyer_coupons(container.db, buyer, page, state=state)
    return paged(owned, page, coupon_out, id_of=lambda o: int(o.coupon.id))
