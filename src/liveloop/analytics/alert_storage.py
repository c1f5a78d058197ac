"""Tables of live alerts: per-room thresholds, every alert fired (notify targets live in shops)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from liveloop.core.db import Base, BigId, UtcDateTime, utcnow


class RoomAlertSettingsRow(Base):
    """A room's alert thresholds; a room without a row has the defaults of ``Thresholds``."""

    __tablename__ = "room_alert_settings"

    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    enabled_rules: Mapped[list[str]] = mapped_column(JSON)
    ccu_floor: Mapped[int] = mapped_column(Integer)
    low_ctr_ratio: Mapped[float] = mapped_column(Float)
    min_exposures: Mapped[int] = mapped_column(Integer)
    traffic_drop_ratio: Mapped[float] = mapped_column(Float)
    traffic_window_min: Mapped[int] = mapped_column(Integer)
    stall_ratio: Mapped[float] = mapped_column(Float)
    stall_min_clicks: Mapped[int] = mapped_column(Integer)
    stall_window_min: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ShowAlertRow(Base):
    """One alert as it fired: ``payload`` is ``Alert.payload()`` plus the room and show."""

    __tablename__ = "show_alerts"
    __table_args__ = (Index("ix_show_alerts_show_id_fired_at", "show_id", "fired_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(40))
    # No foreign key: an alert is history and outlives its product's row.
    product_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    fired_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
