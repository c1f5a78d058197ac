"""The shows on air now, in every shop: what background evaluators (live alerts) walk each tick."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from liveloop.core.db import Database
from liveloop.rooms.model import ShowState
from liveloop.rooms.storage import ShowRow


@dataclass(frozen=True, slots=True)
class LiveShow:
    shop_id: int
    room_id: int
    show_id: int
    title: str
    started_at: datetime | None


async def get_live_shows(db: Database) -> list[LiveShow]:
    """Every live show of every shop (system use: no principal, no shop filter), by show id."""
    stmt = (
        select(ShowRow.shop_id, ShowRow.room_id, ShowRow.id, ShowRow.title, ShowRow.started_at)
        .where(ShowRow.state == ShowState.LIVE.value)
        .order_by(ShowRow.id)
    )
    async with db.read() as session:
        rows = (await session.execute(stmt)).all()
    return [LiveShow(shop_id=r[0], room_id=r[1], show_id=r[2], title=r[3], started_at=r[4]) for r in rows]
