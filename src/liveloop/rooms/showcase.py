"""A show's showcase: its product bag (the line-up as viewers see it) and the product the host is
explaining now (讲解中).

Explaining is show control (``SHOWS_CONTROL``: owner, operator, host) and only while the show is live.
Every change is one explain segment closing and (unless the host stops) another opening, so the
review can tell which product was on air when; ending the show closes the open segment too
(:func:`liveloop.rooms.service.do_transition_show`). Re-pinning the product already explained
changes nothing and emits nothing.

Changes lock the show first (:func:`~liveloop.rooms.service.lock_show`), so concurrent changes of
one show apply one after the other, each segment starting where the one before ended; the database
also refuses a second open segment per show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liveloop.commerce import ProductInfo, get_product_infos
from liveloop.core.db import Database, utcnow
from liveloop.core.events import Event, make_event
from liveloop.rooms.errors import InvalidLineup, NotInLineup, ShowNotFound, ShowNotLive
from liveloop.rooms.events import ShowcaseExplaining
from liveloop.rooms.lineup import read_items
from liveloop.rooms.model import ShowState
from liveloop.rooms.service import lock_show, show_in_shop
from liveloop.rooms.storage import ExplainSegmentRow, LineupRow, ShowRow, end_explaining
from liveloop.shops import Permission, Principal, Viewer, check_permission, guest_viewer


@dataclass(frozen=True, slots=True)
class ShowcaseItem:
    position: int
    product_id: int
    name: str
    price_cents: int
    list_price_cents: int | None
    image_url: str | None
    explaining: bool


@dataclass(frozen=True, slots=True)
class Showcase:
    show_id: int
    room_id: int
    state: ShowState
    explaining_product_id: int | None
    explaining_since: datetime | None
    items: list[ShowcaseItem]


@dataclass(frozen=True, slots=True)
class Explaining:
    """The product on air in a live show, as the room shows it."""

    show_id: int
    product_id: int
    name: str
    price_cents: int
    image_url: str | None
    since: datetime


@dataclass(frozen=True, slots=True)
class ExplainSegment:
    """One stretch of the show during which ``product_id`` was explained (``ended_at`` null: still is)."""

    product_id: int
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class ExplainingChange:
    """What :func:`do_set_explaining` did; ``changed`` is False when it was already so."""

    show_id: int
    room_id: int
    shop_id: int
    product: ProductInfo | None
    previous_product_id: int | None
    changed: bool
    since: datetime | None

    @property
    def product_id(self) -> int | None:
        return self.product.id if self.product else None


async def _show_for(session: AsyncSession, shop_id: int, show_id: int) -> ShowRow:
    show = await session.get(ShowRow, show_id)
    if show is None or show.shop_id != shop_id:
        raise ShowNotFound(f"show {show_id} not found")
    return show


async def get_showcase(db: Database, reader: Principal | Viewer, show_id: int) -> Showcase:
    """The show's line-up in order, archived products left out, and what is explained now.

    Staff need ``SHOWS_READ``; viewers and guests read the shows of their own shop. A show of
    another shop is ``ShowNotFound`` either way.
    """
    if isinstance(reader, Principal):
        check_permission(reader, Permission.SHOWS_READ)
    async with db.read() as session:
        show = await _show_for(session, reader.shop_id, show_id)
        lineup = await read_items(session, shop_id=show.shop_id, show_id=show.id)
    items = [
        ShowcaseItem(
            position=position,
            product_id=item.product.id,
            name=item.product.title,
            price_cents=item.product.price_cents,
            list_price_cents=item.product.list_price_cents,
            image_url=item.product.image_url,
            explaining=item.product.id == show.explaining_product_id,
        )
        for position, item in enumerate(i for i in lineup if not i.product.archived)
    ]
    return Showcase(
        show_id=show.id,
        room_id=show.room_id,
        state=ShowState(show.state),
        explaining_product_id=show.explaining_product_id,
        explaining_since=show.explaining_since,
        items=items,
    )


async def get_guest(db: Database, show_id: int, device_id: str) -> Viewer:
    """The guest known by ``device_id`` in the shop of ``show_id`` (ShowNotFound if no such show)."""
    async with db.read() as session:
        shop_id = await session.scalar(select(ShowRow.shop_id).where(ShowRow.id == show_id))
    if shop_id is None:
        raise ShowNotFound(f"show {show_id} not found")
    return guest_viewer(shop_id, device_id)


async def get_explaining(session: AsyncSession, show_id: int) -> Explaining | None:
    """What ``show_id`` explains now, with the product's display fields; None if nothing."""
    show = await session.get(ShowRow, show_id)
    if show is None or show.explaining_product_id is None or show.explaining_since is None:
        return None
    found = await get_product_infos(session, shop_id=show.shop_id, product_ids=[show.explaining_product_id])
    product = found.get(show.explaining_product_id)
    if product is None:
        return None
    return Explaining(
        show_id=show.id,
        product_id=product.id,
        name=product.title,
        price_cents=product.price_cents,
        image_url=product.image_url,
        since=show.explaining_since,
    )


async def _lineup_product(session: AsyncSession, show: ShowRow, product_id: int) -> ProductInfo:
    listed = await session.scalar(
        select(LineupRow.product_id).where(LineupRow.show_id == show.id, LineupRow.product_id == product_id)
    )
    if listed is None:
        raise NotInLineup(
            f"product {product_id} is not in this show's line-up", details={"product_ids": [product_id]}
        )
    product = (await get_product_infos(session, shop_id=show.shop_id, product_ids=[product_id]))[product_id]
    if product.archived:
        raise InvalidLineup(f"product {product_id} is archived")
    return product


async def do_set_explaining(
    db: Database, principal: Principal, show_id: int, *, product_id: int | None
) -> ExplainingChange:
    """Explain ``product_id`` now (it must be in the live show's line-up), or stop (None).

    ShowNotFound unless the show is the shop's; ShowNotLive unless it is live; NotInLineup for a
    product outside its line-up; InvalidLineup for an archived one. The caller emits
    :func:`explaining_event` once this has committed, when ``changed``.
    """
    check_permission(principal, Permission.SHOWS_CONTROL)
    async with db.transaction() as session:
        show = await lock_show(session, principal, show_id)
        now = utcnow()  # taken under the lock, so segments follow each other in commit order
        if show.state != ShowState.LIVE.value:
            raise ShowNotLive(f"show {show_id} is {show.state}: explain products while it is live")
        product = await _lineup_product(session, show, product_id) if product_id is not None else None
        previous = show.explaining_product_id
        changed = product_id != previous
        if changed:
            await end_explaining(session, show, at=now)
            if product is not None:
                session.add(ExplainSegmentRow(show_id=show.id, product_id=product.id, started_at=now))
                show.explaining_product_id, show.explaining_since = product.id, now
        return ExplainingChange(
            show_id=show.id,
            room_id=show.room_id,
            shop_id=show.shop_id,
            product=product,
            previous_product_id=previous,
            changed=changed,
            since=show.explaining_since,
        )


def explaining_event(change: ExplainingChange, *, actor: str) -> Event:
    product = change.product
    payload = ShowcaseExplaining(
        show_id=change.show_id,
        product_id=change.product_id,
        previous_product_id=change.previous_product_id,
        name=product.title if product else None,
        price_cents=product.price_cents if product else None,
        image_url=product.image_url if product else None,
    )
    return make_event(
        payload, shop_id=change.shop_id, room_id=change.room_id, show_id=change.show_id, actor=actor
    )


async def get_explain_segments(db: Database, principal: Principal, show_id: int) -> list[ExplainSegment]:
    """Every explain segment of the show, oldest first (the open one, if any, last)."""
    check_permission(principal, Permission.SHOWS_READ)
    async with db.read() as session:
        await show_in_shop(session, principal, show_id)
        rows = await session.scalars(
            select(ExplainSegmentRow)
            .where(ExplainSegmentRow.show_id == show_id)
            .order_by(ExplainSegmentRow.started_at, ExplainSegmentRow.id)
        )
        return [ExplainSegment(r.product_id, r.started_at, r.ended_at) for r in rows]
