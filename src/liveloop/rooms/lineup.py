"""A show's product line-up: the ordered list of products the host will sell."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from liveloop.commerce import ProductInfo, ProductNotFound, get_product_infos
from liveloop.core.db import Database
from liveloop.rooms.errors import InvalidLineup, ShowNotFound
from liveloop.rooms.service import check_open, show_in_shop
from liveloop.rooms.storage import LineupRow, ShowRow
from liveloop.shops import Permission, Principal, check_permission

MAX_LINEUP = 200


@dataclass(frozen=True, slots=True)
class LineupItem:
    position: int
    product: ProductInfo


async def read_items(session: AsyncSession, *, shop_id: int, show_id: int) -> list[LineupItem]:
    """The show's line-up in order (no access check: the caller has found the show in the shop)."""
    rows = list(
        await session.scalars(
            select(LineupRow).where(LineupRow.show_id == show_id).order_by(LineupRow.position)
        )
    )
    products = await get_product_infos(session, shop_id=shop_id, product_ids=[r.product_id for r in rows])
    return [LineupItem(position=i, product=products[r.product_id]) for i, r in enumerate(rows)]


async def _write(session: AsyncSession, *, show_id: int, product_ids: list[int]) -> None:
    await session.execute(delete(LineupRow).where(LineupRow.show_id == show_id))
    await session.flush()
    session.add_all(
        LineupRow(show_id=show_id, product_id=pid, position=i) for i, pid in enumerate(product_ids)
    )


async def _check_products(session: AsyncSession, principal: Principal, product_ids: list[int]) -> None:
    if len(set(product_ids)) != len(product_ids):
        raise InvalidLineup("a product appears twice in the line-up")
    if len(product_ids) > MAX_LINEUP:
        raise InvalidLineup(f"a line-up holds at most {MAX_LINEUP} products")
    found = await get_product_infos(session, shop_id=principal.shop_id, product_ids=product_ids)
    missing = [pid for pid in product_ids if pid not in found]
    if missing:
        raise ProductNotFound(f"product {missing[0]} not found")
    archived = [pid for pid in product_ids if found[pid].archived]
    if archived:
        raise InvalidLineup(f"product {archived[0]} is archived")


async def get_lineup(db: Database, principal: Principal, show_id: int) -> list[LineupItem]:
    check_permission(principal, Permission.SHOWS_READ)
    async with db.read() as session:
        await show_in_shop(session, principal, show_id)
        return await read_items(session, shop_id=principal.shop_id, show_id=show_id)


async def do_set_lineup(
    db: Database, principal: Principal, show_id: int, *, product_ids: list[int]
) -> list[LineupItem]:
    """Replace the whole line-up with ``product_ids`` in that order."""
    check_permission(principal, Permission.SHOWS_WRITE)
    async with db.transaction() as session:
        check_open(await show_in_shop(session, principal, show_id, for_update=True))
        await _check_products(session, principal, product_ids)
        await _write(session, show_id=show_id, product_ids=product_ids)
        await session.flush()
        return await read_items(session, shop_id=principal.shop_id, show_id=show_id)


async def do_add_to_lineup(
    db: Database, principal: Principal, show_id: int, *, product_id: int, position: int | None
) -> list[LineupItem]:
    """Insert one product at ``position`` (default: the end); moving it if already there."""
    check_permission(principal, Permission.SHOWS_WRITE)
    async with db.transaction() as session:
        check_open(await show_in_shop(session, principal, show_id, for_update=True))
        current = [
            item.product.id for item in await read_items(session, shop_id=principal.shop_id, show_id=show_id)
        ]
        ordered = [pid for pid in current if pid != product_id]
        ordered.insert(len(ordered) if position is None else min(position, len(ordered)), product_id)
        await _check_products(session, principal, ordered)
        await _write(session, show_id=show_id, product_ids=ordered)
        await session.flush()
        return await read_items(session, shop_id=principal.shop_id, show_id=show_id)


async def do_remove_from_lineup(db: Database, principal: Principal, show_id: int, *, product_id: int) -> None:
    check_permission(principal, Permission.SHOWS_WRITE)
    async with db.transaction() as session:
        check_open(await show_in_shop(session, principal, show_id, for_update=True))
        current = [
            item.product.id for item in await read_items(session, shop_id=principal.shop_id, show_id=show_id)
        ]
        if product_id not in current:
            raise ProductNotFound(f"product {product_id} is not in this line-up")
        await _write(session, show_id=show_id, product_ids=[pid for pid in current if pid != product_id])


async def do_promote_in_lineup(db: Database, *, shop_id: int, show_id: int, product_id: int) -> list[int]:
    """Move ``product_id`` to the front of the show's line-up (adding it when absent); return the
    line-up's product ids in their new order.

    No principal: the caller has authorised the change (staff closing a "next product" poll, whose
    viewers chose the product). ShowNotFound unless the show is the shop's, ShowClosed once it ended,
    ProductNotFound / InvalidLineup for a product the line-up may not hold.
    """
    async with db.transaction() as session:
        show = await session.get(ShowRow, show_id, with_for_update=True)
        if show is None or show.shop_id != shop_id:
            raise ShowNotFound(f"show {show_id} not found")
        check_open(show)
        current = [item.product.id for item in await read_items(session, shop_id=shop_id, show_id=show_id)]
        ordered = [product_id, *(pid for pid in current if pid != product_id)]
        if product_id not in current:
            found = await get_product_infos(session, shop_id=shop_id, product_ids=[product_id])
            product = found.get(product_id)
            if product is None:
                raise ProductNotFound(f"product {product_id} not found")
            if product.archived:
                raise InvalidLineup(f"product {product_id} is archived")
            if len(ordered) > MAX_LINEUP:
                raise InvalidLineup(f"a line-up holds at most {MAX_LINEUP} products")
        if ordered != current:
            await _write(session, show_id=show_id, product_ids=ordered)
        return ordered
