"""Tables of the rooms domain: rooms, shows, line-ups."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from liveloop.core.db import Base, BigId, UtcDateTime, utcnow


class RoomRow(Base):
    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ShowRow(Base):
    __tablename__ = "shows"
    __table_args__ = (
        # At most one live show per room, enforced by the database itself.
        Index(
            "uq_shows_one_live_per_room",
            "room_id",
            unique=True,
            sqlite_where=text("state = 'live'"),
            postgresql_where=text("state = 'live'"),
        ),
        Index("ix_shows_shop_state", "shop_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    planned_start: Mapped[datetime] = mapped_column(UtcDateTime)
    planned_end: Mapped[datetime] = mapped_column(UtcDateTime)
    playback_url: Mapped[str | None] = mapped_column(String(500), default=None)
    state: Mapped[str] = mapped_column(String(16), default="scheduled")
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The product the host is explaining now (讲解中), and since when; see ExplainSegmentRow. No
    # foreign key here: adding one to this existing table on SQLite means a copy-and-move rebuild,
    # and dropping the old table would cascade into every line-up and segment (products are only
    # ever archived, and the open segment below does reference the product).
    explaining_product_id: Mapped[int | None] = mapped_column(BigId, default=None)
    explaining_since: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class LineupRow(Base):
    __tablename__ = "show_lineup"

    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class RoomCohostRow(Base):
    """A room's co-host settings; a room without a row has the defaults."""

    __tablename__ = "room_cohost"

    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    max_seats: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SeatRequestRow(Base):
    __tablename__ = "seat_requests"
    __table_args__ = (
        # One open (requested or seated) request per viewer per room, enforced by the database itself.
        Index(
            "uq_seat_requests_one_open_per_viewer",
            "room_id",
            "viewer_id",
            unique=True,
            sqlite_where=text("state IN ('requested', 'approved')"),
            postgresql_where=text("state IN ('requested', 'approved')"),
        ),
        Index("ix_seat_requests_room_state", "room_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    show_id: Mapped[int | None] = mapped_column(ForeignKey("shows.id", ondelete="SET NULL"), default=None)
    viewer_id: Mapped[str] = mapped_column(String(80))
    nickname: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16), default="requested")
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class RtcConfigRow(Base):
    """A shop's RTC provider and credentials; secrets are write-only through the API."""

    __tablename__ = "rtc_configs"

    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    livekit_url: Mapped[str | None] = mapped_column(String(500), default=None)
    livekit_api_key: Mapped[str | None] = mapped_column(String(200), default=None)
    livekit_api_secret: Mapped[str | None] = mapped_column(String(200), default=None)
    agora_app_id: Mapped[str | None] = mapped_column(String(32), default=None)
    agora_app_certificate: Mapped[str | None] = mapped_column(String(64), default=None)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ExplainSegmentRow(Base):
    """One stretch of a show during which the host explained one product (for product GPM).

    A show has at most one open segment (``ended_at`` null), enforced by the database itself.
    """

    __tablename__ = "explain_segments"
    __table_args__ = (
        Index(
            "uq_explain_segments_one_open_per_show",
            "show_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index("ix_explain_segments_show_started", "show_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


async def end_explaining(session: AsyncSession, show: ShowRow, *, at: datetime) -> int | None:
    """Close ``show``'s open explain segment at ``at`` and clear its explaining product.

    Returns the product that was being explained (None if none). The caller holds the show's row lock.
    """
    previous = show.explaining_product_id
    await session.execute(
        update(ExplainSegmentRow)
        .where(ExplainSegmentRow.show_id == show.id, ExplainSegmentRow.ended_at.is_(None))
        .values(ended_at=at)
    )
    show.explaining_product_id = None
    show.explaining_since = None
    return previous
