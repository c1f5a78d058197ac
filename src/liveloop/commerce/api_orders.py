"""HTTP routes of staff: flash sales, orders, refunds and the payment secret."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import AwareDatetime, Field

from liveloop.commerce import flash_sales, lifecycle, order_views
from liveloop.commerce.api_buyer import CommerceDep, OrderDetailOut, OrderOut, detail
from liveloop.commerce.model import OrderState, SaleState
from liveloop.commerce.payments import SIGNATURE_HEADER, do_rotate_payment_secret
from liveloop.commerce.storage import FlashSaleRow
from liveloop.core.container import ContainerDep
from liveloop.core.db import utcnow
from liveloop.core.pagination import Page, page_of, paged
from liveloop.core.schemas import ERROR_RESPONSES, OutModel, StrictModel
from liveloop.shops import PageDep, PrincipalDep

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
Id = Annotated[int, Field(ge=1, le=2**53)]
PathId = Annotated[int, Path(ge=1, le=2**53)]
QueryId = Annotated[int | None, Query(ge=1, le=2**53)]
Week = 7 * 86400


class FlashSaleIn(StrictModel):
    product_id: Id
    show_id: Id | None = None
    price_cents: Annotated[int, Field(ge=0, le=10**11, description="The special price, integer cents.")]
    stock: Annotated[int, Field(ge=1, le=10**7, description="Units for this sale (its own pool).")]
    per_user_limit: Annotated[int, Field(ge=1, le=1000)] = 1
    starts_at: AwareDatetime | None = Field(default=None, description="Default: now.")
    starts_in_seconds: Annotated[int, Field(ge=0, le=Week)] | None = Field(
        default=None, description="A countdown instead of starts_at."
    )
    ends_at: AwareDatetime | None = None
    duration_seconds: Annotated[int, Field(ge=1, le=Week)] | None = Field(
        default=None, description="Instead of ends_at."
    )


class FlashSaleOut(OutModel):
    id: int
    product_id: int
    show_id: int | None
    price_cents: int
    stock: int
    per_user_limit: int
    quantity_allocated: int = Field(description="Units held by created or paid orders.")
    remaining: int
    starts_at: datetime
    ends_at: datetime
    state: SaleState
    starts_in_seconds: int = Field(description="The countdown; 0 once started.")
    created_at: datetime


class PaymentSecretOut(OutModel):
    secret: str = Field(description=f"Shown once. Sign notifications: {SIGNATURE_HEADER}: sha256=<hex>.")
    rotated_at: datetime


def sale_out(row: FlashSaleRow) -> FlashSaleOut:
    now = utcnow()
    return FlashSaleOut(
        id=row.id,
        product_id=row.product_id,
        show_id=row.show_id,
        price_cents=row.price_cents,
        stock=row.stock,
        per_user_limit=row.per_user_limit,
        quantity_allocated=row.quantity_allocated,
        remaining=max(0, row.stock - row.quantity_allocated),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        state=flash_sales.sale_state(row, now),
        starts_in_seconds=max(0, int((row.starts_at - now).total_seconds() + 0.999)),
        created_at=row.created_at,
    )


@router.post(
    "/flash-sales", response_model=FlashSaleOut, status_code=status.HTTP_201_CREATED, tags=["flash sales"]
)
async def create_flash_sale(
    container: ContainerDep, principal: PrincipalDep, body: FlashSaleIn
) -> FlashSaleOut:
    """A flash sale (秒杀): a special price, its own stock, a per-buyer limit, a window (or countdown)."""
    row = await flash_sales.do_create_flash_sale(
        container.db,
        container.counters,
        principal,
        product_id=body.product_id,
        show_id=body.show_id,
        price_cents=body.price_cents,
        stock=body.stock,
        per_user_limit=body.per_user_limit,
        starts_at=body.starts_at,
        starts_in_seconds=body.starts_in_seconds,
        ends_at=body.ends_at,
        duration_seconds=body.duration_seconds,
        events=container.events,
    )
    return sale_out(row)


@router.get("/flash-sales", response_model=Page[FlashSaleOut], tags=["flash sales"])
async def list_flash_sales(
    container: ContainerDep,
    principal: PrincipalDep,
    page: PageDep,
    state: SaleState | None = None,
    show_id: QueryId = None,
    product_id: QueryId = None,
) -> Page[FlashSaleOut]:
    where = flash_sales.SaleFilter(state=state, show_id=show_id, product_id=product_id)
    rows = await flash_sales.get_flash_sales(container.db, principal, page, where)
    return paged(rows, page, sale_out)


@router.get("/flash-sales/{sale_id}", response_model=FlashSaleOut, tags=["flash sales"])
async def read_flash_sale(container: ContainerDep, principal: PrincipalDep, sale_id: PathId) -> FlashSaleOut:
    return sale_out(await flash_sales.get_flash_sale(container.db, principal, sale_id))


@router.post("/flash-sales/{sale_id}/start", response_model=FlashSaleOut, tags=["flash sales"])
async def start_flash_sale(container: ContainerDep, principal: PrincipalDep, sale_id: PathId) -> FlashSaleOut:
    """Open a scheduled sale now, skipping the rest of its countdown."""
    start = flash_sales.SaleAction.START
    row = await flash_sales.do_transition_sale(
        container.db, principal, sale_id, start, events=container.events
    )
    return sale_out(row)


@router.post("/flash-sales/{sale_id}/end", response_model=FlashSaleOut, tags=["flash sales"])
async def end_flash_sale(container: ContainerDep, principal: PrincipalDep, sale_id: PathId) -> FlashSaleOut:
    """Close a scheduled or running sale now; placed orders keep their units."""
    end = flash_sales.SaleAction.END
    row = await flash_sales.do_transition_sale(container.db, principal, sale_id, end, events=container.events)
    return sale_out(row)


@router.get("/orders", response_model=Page[OrderOut], tags=["orders"])
async def list_orders(
    container: ContainerDep,
    principal: PrincipalDep,
    page: PageDep,
    state: OrderState | None = None,
    show_id: QueryId = None,
    flash_sale_id: QueryId = None,
    product_id: QueryId = None,
    buyer_id: Annotated[str | None, Query(max_length=80)] = None,
) -> Page[OrderOut]:
    where = order_views.OrderFilter(
        state=state, show_id=show_id, flash_sale_id=flash_sale_id, product_id=product_id, buyer_id=buyer_id
    )
    rows = await order_views.get_orders(container.db, principal, page, where)
    return page_of(OrderOut, rows, page)


@router.get("/orders/{order_id}", response_model=OrderDetailOut, tags=["orders"])
async def read_order(container: ContainerDep, principal: PrincipalDep, order_id: PathId) -> OrderDetailOut:
    return detail(await order_views.get_order(container.db, principal, order_id))


@router.post("/orders/{order_id}/refund", response_model=OrderOut, tags=["orders"])
async def refund_order(commerce: CommerceDep, principal: PrincipalDep, order_id: PathId) -> OrderOut:
    """Refund a paid order (owner, operator); its units go back on sale."""
    return OrderOut.model_validate(await lifecycle.do_refund_order(commerce, principal, order_id))


@router.post("/payments/secret/rotate", response_model=PaymentSecretOut, tags=["payments"])
async def rotate_payment_secret(container: ContainerDep, principal: PrincipalDep) -> PaymentSecretOut:
    """A new secret for signing payment notifications (owner); the previous one keeps working until the
    next rotation, so the provider can switch without losing a notice."""
    secret = await do_rotate_payment_secret(container.db, principal)
    return PaymentSecretOut(secret=secret, rotated_at=utcnow())
