"""HTTP routes of the catalog."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import Field, HttpUrl

from liveloop.commerce import service
from liveloop.commerce.stock import StockCache, StockTarget
from liveloop.core.container import ContainerDep
from liveloop.core.pagination import Page, page_of
from liveloop.core.schemas import ERROR_RESPONSES, OutModel, PatchModel, StrictModel
from liveloop.shops import PageDep, PrincipalDep

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
ProductId = Annotated[int, Path(ge=1, le=2**53)]
Cents = Annotated[int, Field(ge=0, le=10**11, description="Integer cents (分).")]
SellingPoint = Annotated[str, Field(min_length=1, max_length=100)]


class ProductIn(StrictModel):
    sku: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    price_cents: Cents
    list_price_cents: Cents | None = None
    stock: Annotated[int, Field(ge=0, le=10**9)] = 0
    category: Annotated[str, Field(max_length=64)] = ""
    image_url: HttpUrl | None = None
    selling_points: Annotated[list[SellingPoint], Field(max_length=10)] = Field(default_factory=list)


class ProductPatch(PatchModel):
    nullable_fields = frozenset({"list_price_cents", "image_url"})

    sku: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")] | None = None
    title: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    price_cents: Cents | None = None
    list_price_cents: Cents | None = None
    stock: Annotated[int, Field(ge=0, le=10**9)] | None = None
    category: Annotated[str, Field(max_length=64)] | None = None
    image_url: HttpUrl | None = None
    selling_points: Annotated[list[SellingPoint], Field(max_length=10)] | None = None


class ProductOut(OutModel):
    id: int
    sku: str
    title: str
    price_cents: int
    list_price_cents: int | None
    stock: int
    category: str
    image_url: str | None
    selling_points: list[str]
    archived: bool
    created_at: datetime
    updated_at: datetime


def _fields(body: ProductIn | ProductPatch, *, exclude_unset: bool) -> dict[str, object]:
    data = body.model_dump(exclude_unset=exclude_unset)
    if data.get("image_url") is not None:
        data["image_url"] = str(data["image_url"])
    return data


@router.get("/products", response_model=Page[ProductOut], tags=["catalog"])
async def list_products(
    container: ContainerDep,
    principal: PrincipalDep,
    page: PageDep,
    category: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=100, description="Substring of the title.")] = None,
    include_archived: bool = False,
) -> Page[ProductOut]:
    where = service.ProductFilter(category=category, query=q, include_archived=include_archived)
    rows = await service.get_products(container.db, principal, page, where)
    return page_of(ProductOut, rows, page)


@router.post("/products", response_model=ProductOut, status_code=status.HTTP_201_CREATED, tags=["catalog"])
async def create_product(container: ContainerDep, principal: PrincipalDep, body: ProductIn) -> ProductOut:
    row = await service.do_create_product(container.db, principal, **_fields(body, exclude_unset=False))
    return ProductOut.model_validate(row)


@router.get("/products/{product_id}", response_model=ProductOut, tags=["catalog"])
async def read_product(container: ContainerDep, principal: PrincipalDep, product_id: ProductId) -> ProductOut:
    return ProductOut.model_validate(await service.get_product(container.db, principal, product_id))


@router.patch("/products/{product_id}", response_model=ProductOut, tags=["catalog"])
async def update_product(
    container: ContainerDep, principal: PrincipalDep, product_id: ProductId, body: ProductPatch
) -> ProductOut:
    changes = _fields(body, exclude_unset=True)
    row = await service.do_update_product(container.db, principal, product_id, **changes)
    if "stock" in changes:  # live stock reloads from the new figure on the next order
        await StockCache(container.db, container.counters).invalidate(StockTarget(product_id))
    return ProductOut.model_validate(row)


@router.delete("/products/{product_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["catalog"])
async def archive_product(container: ContainerDep, principal: PrincipalDep, product_id: ProductId) -> None:
    await service.do_archive_product(container.db, principal, product_id)
