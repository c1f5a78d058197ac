"""Use cases of the catalog: products a shop sells in its shows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from liveloop.commerce.contracts import ProductInfo
from liveloop.commerce.errors import InvalidPrice, ProductNotFound, SkuTaken
from liveloop.commerce.storage import ProductRow
from liveloop.core.db import Database
from liveloop.core.pagination import PageParams
from liveloop.shops import Permission, Principal, check_permission


@dataclass(frozen=True, slots=True)
class ProductFilter:
    category: str | None = None
    query: str | None = None
    include_archived: bool = False


def check_prices(price_cents: int, list_price_cents: int | None) -> None:
    if list_price_cents is not None and list_price_cents < price_cents:
        raise InvalidPrice("list price must not be below the selling price")


async def _product_in_shop(session: AsyncSession, principal: Principal, product_id: int) -> ProductRow:
    row = await session.get(ProductRow, product_id)
    if row is None or row.shop_id != principal.shop_id:
        raise ProductNotFound(f"product {product_id} not found")
    return row


async def do_create_product(db: Database, principal: Principal, **fields: Any) -> ProductRow:
    check_permission(principal, Permission.CATALOG_WRITE)
    check_prices(fields["price_cents"], fields.get("list_price_cents"))
    try:
        async with db.transaction() as session:
            row = ProductRow(shop_id=principal.shop_id, **fields)
            session.add(row)
    except IntegrityError:
        raise SkuTaken(f"SKU {fields['sku']!r} is already used in this shop") from None
    return row


async def get_products(
    db: Database, principal: Principal, page: PageParams, where: ProductFilter
) -> list[ProductRow]:
    check_permission(principal, Permission.CATALOG_READ)
    stmt = select(ProductRow).where(ProductRow.shop_id == principal.shop_id, ProductRow.id > page.after_id)
    if where.category is not None:
        stmt = stmt.where(ProductRow.category == where.category)
    if where.query:
        stmt = stmt.where(ProductRow.title.contains(where.query, autoescape=True))
    if not where.include_archived:
        stmt = stmt.where(ProductRow.archived.is_(False))
    async with db.read() as session:
        return list(await session.scalars(stmt.order_by(ProductRow.id).limit(page.limit + 1)))


async def get_product(db: Database, principal: Principal, product_id: int) -> ProductRow:
    check_permission(principal, Permission.CATALOG_READ)
    async with db.read() as session:
        return await _product_in_shop(session, principal, product_id)


async def do_update_product(
    db: Database, principal: Principal, product_id: int, **changes: Any
) -> ProductRow:
    check_permission(principal, Permission.CATALOG_WRITE)
    try:
        async with db.transaction() as session:
            row = await _product_in_shop(session, principal, product_id)
            for name, value in changes.items():
                setattr(row, name, value)
            check_prices(row.price_cents, row.list_price_cents)
    except IntegrityError:
        raise SkuTaken(f"SKU {changes.get('sku')!r} is already used in this shop") from None
    return row


async def do_archive_product(db: Database, principal: Principal, product_id: int) -> None:
    """Products are archived, not deleted: past orders and reviews still point at them."""
    check_permission(principal, Permission.CATALOG_WRITE)
    async with db.transaction() as session:
        row = await _product_in_shop(session, principal, product_id)
        row.archived = True


def to_info(row: ProductRow) -> ProductInfo:
    return ProductInfo(
        id=row.id,
        shop_id=row.shop_id,
        sku=row.sku,
        title=row.title,
        price_cents=row.price_cents,
        list_price_cents=row.list_price_cents,
        stock=row.stock,
        image_url=row.image_url,
        archived=row.archived,
    )


async def get_product_infos(
    session: AsyncSession, *, shop_id: int, product_ids: Iterable[int]
) -> dict[int, ProductInfo]:
    """The shop's products among ``product_ids`` (others' are silently absent)."""
    ids = list(product_ids)
    if not ids:
        return {}
    rows = await session.scalars(
        select(ProductRow).where(ProductRow.shop_id == shop_id, ProductRow.id.in_(ids))
    )
    return {row.id: to_info(row) for row in rows}
