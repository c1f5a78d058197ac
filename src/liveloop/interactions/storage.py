"""Tables of the interactions domain and the queries that load a shop's or a room's moderation state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    delete,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from liveloop.core.db import Base, BigId, UtcDateTime, utcnow
from liveloop.interactions.contracts import ModerationSettings


class SensitiveWordRow(Base):
    """One word of a shop's list, stored in matching (folded) form."""

    __tablename__ = "sensitive_words"
    __table_args__ = (UniqueConstraint("shop_id", "word", name="uq_sensitive_words_shop_word"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    word: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ModerationSettingsRow(Base):
    """A shop's comment rules; no row means the defaults of ``model.DEFAULT_SETTINGS``."""

    __tablename__ = "moderation_settings"

    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    filter_mode: Mapped[str] = mapped_column(String(8))
    max_comment_length: Mapped[int] = mapped_column(Integer)
    comment_rate_per_second: Mapped[float] = mapped_column(Float)
    comment_burst: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class RoomModerationRow(Base):
    """A room's slow mode and pinned message; no row means slow mode off, nothing pinned."""

    __tablename__ = "room_moderation"

    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    slow_mode_seconds: Mapped[int] = mapped_column(Integer, default=0)
    pinned_offset: Mapped[int | None] = mapped_column(BigInteger, default=None)
    pinned_text: Mapped[str | None] = mapped_column(String(2000), default=None)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class RoomBanRow(Base):
    """A viewer banned from a room until unbanned (the row is deleted then)."""

    __tablename__ = "room_bans"
    __table_args__ = (UniqueConstraint("room_id", "viewer_id", name="uq_room_bans_room_viewer"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    viewer_id: Mapped[str] = mapped_column(String(80))
    banned_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RoomMuteRow(Base):
    """A viewer muted in a room until ``until``; muting again replaces the row."""

    __tablename__ = "room_mutes"
    __table_args__ = (UniqueConstraint("room_id", "viewer_id", name="uq_room_mutes_room_viewer"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    viewer_id: Mapped[str] = mapped_column(String(80))
    until: Mapped[datetime] = mapped_column(UtcDateTime)
    muted_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


# The rooms domain owns this table; interactions only reads which shop a room belongs to (its public
# surface does not export a lookup yet), through a lightweight table clause rather than its model.
async def shop_words(session: AsyncSession, shop_id: int) -> list[str]:
    rows = await session.scalars(select(SensitiveWordRow.word).where(SensitiveWordRow.shop_id == shop_id))
    return list(rows)


async def count_words(session: AsyncSession, shop_id: int) -> int:
    stmt = select(func.count()).select_from(SensitiveWordRow).where(SensitiveWordRow.shop_id == shop_id)
    return int(await session.scalar(stmt) or 0)


def _insert(session: AsyncSession, entity: type[Base]) -> postgresql.Insert | sqlite.Insert:
    """The dialect's INSERT, which knows ``ON CONFLICT``."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(entity)
    return sqlite.insert(entity)


async def insert_words(session: AsyncSession, shop_id: int, words: Sequence[str]) -> list[str]:
    """Insert the words the shop does not list yet; return those that were new.

    A concurrent insert of the same word is skipped by ``ON CONFLICT DO NOTHING`` (both dialects).
    """
    existing = set(
        await session.scalars(
            select(SensitiveWordRow.word).where(
                SensitiveWordRow.shop_id == shop_id, SensitiveWordRow.word.in_(words)
            )
        )
    )
    new = [w for w in words if w not in existing]
    if new:
        now = utcnow()
        stmt = _insert(session, SensitiveWordRow).on_conflict_do_nothing(index_elements=["shop_id", "word"])
        await session.execute(stmt, [{"shop_id": shop_id, "word": w, "created_at": now} for w in new])
    return new


async def delete_words(session: AsyncSession, shop_id: int, words: Sequence[str]) -> list[str]:
    stmt = (
        delete(SensitiveWordRow)
        .where(SensitiveWordRow.shop_id == shop_id, SensitiveWordRow.word.in_(words))
        .returning(SensitiveWordRow.word)
    )
    return list(await session.scalars(stmt))


async def room_bans(session: AsyncSession, room_id: int) -> list[str]:
    return list(await session.scalars(select(RoomBanRow.viewer_id).where(RoomBanRow.room_id == room_id)))


async def active_mutes(session: AsyncSession, room_id: int, now: datetime) -> list[tuple[str, datetime]]:
    rows = await session.execute(
        select(RoomMuteRow.viewer_id, RoomMuteRow.until).where(
            RoomMuteRow.room_id == room_id, RoomMuteRow.until > now
        )
    )
    return [(viewer_id, until) for viewer_id, until in rows]


async def ensure_settings(session: AsyncSession, shop_id: int, defaults: ModerationSettings) -> None:
    """Create the shop's settings row with ``defaults`` unless it exists (safe under concurrency)."""
    values = {
        "shop_id": shop_id,
        "filter_mode": defaults.filter_mode.value,
        "max_comment_length": defaults.max_comment_length,
        "comment_rate_per_second": defaults.comment_rate_per_second,
        "comment_burst": defaults.comment_burst,
        "updated_at": utcnow(),
    }
    stmt = _insert(session, ModerationSettingsRow).values(**values)
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["shop_id"]))


async def ensure_room_moderation(session: AsyncSession, *, shop_id: int, room_id: int) -> None:
    """Create the room's moderation row (slow mode off, nothing pinned) unless it exists."""
    values = {"room_id": room_id, "shop_id": shop_id, "slow_mode_seconds": 0, "updated_at": utcnow()}
    stmt = _insert(session, RoomModerationRow).values(**values)
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["room_id"]))


async def upsert_mute(
    session: AsyncSession, *, shop_id: int, room_id: int, viewer_id: str, until: datetime, staff_id: int
) -> None:
    """Mute ``viewer_id`` until ``until``, replacing an earlier mute (longer or shorter)."""
    values = {"until": until, "muted_by": staff_id, "created_at": utcnow()}
    stmt = _insert(session, RoomMuteRow).values(
        shop_id=shop_id, room_id=room_id, viewer_id=viewer_id, **values
    )
    await session.execute(stmt.on_conflict_do_update(index_elements=["room_id", "viewer_id"], set_=values))
