"""Tables of the rooms domain: rooms, shows, line-ups."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
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
