"""Tables of the commerce domain: products, flash sales, orders, payments, coupons.

``quantity_allocated`` (products and flash sales) is the number of units held by orders in the
``created`` or ``paid`` state. It changes only in the same transaction as those orders' states, by a
conditional UPDATE that is the truth's own guard against overselling (see ``commerce.orders``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    column,
    select,
    table,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from liveloop.core.db import Base, BigId, UtcDateTime, utcnow


class ProductRow(Base):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("shop_id", "sku", name="uq_products_shop_sku"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    price_cents: Mapped[int] = mapped_column(Integer)
    list_price_cents: Mapped[int | None] = mapped_column(Integer, default=None)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    quantity_allocated: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    category: Mapped[str] = mapped_column(String(64), default="", index=True)
    image_url: Mapped[str | None] = mapped_column(String(500), default=None)
    selling_points: Mapped[list[str]] = mapped_column(JSON, default=list)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class FlashSaleRow(Base):
    __tablename__ = "flash_sales"
    __table_args__ = (
        # The database itself refuses an oversold sale, whatever the code above it does.
        CheckConstraint("quantity_allocated >= 0 AND quantity_allocated <= stock", name="allocation"),
        Index("ix_flash_sales_shop_state", "shop_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    show_id: Mapped[int | None] = mapped_column(
        ForeignKey("shows.id", ondelete="SET NULL"), default=None, index=True
    )
    price_cents: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer)
    per_user_limit: Mapped[int] = mapped_column(Integer)
    quantity_allocated: Mapped[int] = mapped_column(Integer, default=0)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(16), default="scheduled")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("shop_id", "buyer_id", "idempotency_key", name="uq_orders_idempotency"),
        CheckConstraint("quantity >= 1 AND amount_cents >= 0", name="amounts"),
        Index("ix_orders_shop_state", "shop_id", "state"),
        Index("ix_orders_sale_buyer", "flash_sale_id", "buyer_id"),
        Index("ix_orders_state_reserved_until", "state", "reserved_until"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    show_id: Mapped[int | None] = mapped_column(
        ForeignKey("shows.id", ondelete="SET NULL"), default=None, index=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    flash_sale_id: Mapped[int | None] = mapped_column(
        ForeignKey("flash_sales.id", ondelete="CASCADE"), default=None
    )
    buyer_id: Mapped[str] = mapped_column(String(80))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(Integer)
    coupon_code: Mapped[str | None] = mapped_column(String(64), default=None)  # unused: coupons have ids
    # What a coupon took off: amount_cents is what the buyer pays, amount_cents + discount_cents the
    # price. No foreign key: the coupon row points back here (``coupons.used_order_id``), and a cycle
    # of foreign keys between two tables would need deferred constraints on every backend.
    discount_cents: Mapped[int] = mapped_column(Integer, default=0)
    coupon_id: Mapped[int | None] = mapped_column(BigId, default=None)
    state: Mapped[str] = mapped_column(String(16), default="created")
    cancel_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    reserved_until: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    expired_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    refunded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class PaymentRow(Base):
    """One attempt to collect an order's amount through a provider, and what the provider said."""

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("provider", "provider_ref", name="uq_payments_provider_ref"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_ref: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    amount_cents: Mapped[int] = mapped_column(Integer)
    raw_notification: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class PaymentSecretRow(Base):
    """The shop's key for signed payment notifications; the previous one stays valid after a rotation."""

    __tablename__ = "payment_secrets"

    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(64))
    previous_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    rotated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CouponTemplateRow(Base):
    """What a coupon gives (kind and amounts), to whom (product scope), when, and how many in all."""

    __tablename__ = "coupon_templates"
    __table_args__ = (
        # The database itself refuses one coupon more than the template's total quantity.
        CheckConstraint("quantity_issued >= 0 AND quantity_issued <= total_quantity", name="issued"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(16))
    amount_off_cents: Mapped[int | None] = mapped_column(Integer, default=None)
    percent: Mapped[int | None] = mapped_column(Integer, default=None)
    max_discount_cents: Mapped[int | None] = mapped_column(Integer, default=None)
    threshold_cents: Mapped[int | None] = mapped_column(Integer, default=None)
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), default=None
    )
    valid_from: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    valid_days: Mapped[int | None] = mapped_column(Integer, default=None)
    per_user_limit: Mapped[int] = mapped_column(Integer)
    total_quantity: Mapped[int] = mapped_column(Integer)
    quantity_issued: Mapped[int] = mapped_column(Integer, default=0)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class CouponDropRow(Base):
    """A template's coupons offered to a room: the first ``quantity`` claimers within the window."""

    __tablename__ = "coupon_drops"
    __table_args__ = (CheckConstraint("claimed >= 0 AND claimed <= quantity", name="claimed"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    template_id: Mapped[int] = mapped_column(
        ForeignKey("coupon_templates.id", ondelete="CASCADE"), index=True
    )
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    show_id: Mapped[int | None] = mapped_column(
        ForeignKey("shows.id", ondelete="SET NULL"), default=None, index=True
    )
    quantity: Mapped[int] = mapped_column(Integer)
    claimed: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CouponRow(Base):
    """A claimed coupon. ``used_order_id`` is the order holding it (released if that order is
    cancelled or expires); ``redeemed_at`` is set when that order is paid, and ``discount_cents``
    is then the coupon's cost."""

    __tablename__ = "coupons"
    __table_args__ = (
        # One coupon per viewer per drop, whatever the template's per-user limit.
        UniqueConstraint("drop_id", "owner_id", name="uq_coupons_drop_owner"),
        CheckConstraint("discount_cents >= 0", name="discount"),
        Index("ix_coupons_template_owner", "template_id", "owner_id"),
        Index("ix_coupons_shop_owner", "shop_id", "owner_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_templates.id", ondelete="CASCADE"))
    drop_id: Mapped[int | None] = mapped_column(
        ForeignKey("coupon_drops.id", ondelete="SET NULL"), default=None
    )
    owner_id: Mapped[str] = mapped_column(String(80))  # the viewer id, "u:<user>"
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="SET NULL"), default=None)
    show_id: Mapped[int | None] = mapped_column(
        ForeignKey("shows.id", ondelete="SET NULL"), default=None, index=True
    )
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime)
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime)
    used_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), default=None, index=True
    )
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    discount_cents: Mapped[int] = mapped_column(Integer, default=0)
    redeemed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


#: The rooms domain's rooms and shows, as far as commerce needs them. Commerce sits below rooms in
#: the layers, so it reads these columns instead of importing ``liveloop.rooms``.
_SHOWS = table("shows", column("id"), column("shop_id"), column("room_id"), column("state"))
_ROOMS = table("rooms", column("id"), column("shop_id"))


async def show_shop_id(session: AsyncSession, show_id: int) -> int | None:
    """The shop owning show ``show_id``, or None when there is no such show."""
    shop_id = await session.scalar(select(_SHOWS.c.shop_id).where(_SHOWS.c.id == show_id))
    return None if shop_id is None else int(shop_id)


async def show_room_id(session: AsyncSession, show_id: int) -> int | None:
    """The room show ``show_id`` is in, or None when there is no such show."""
    room_id = await session.scalar(select(_SHOWS.c.room_id).where(_SHOWS.c.id == show_id))
    return None if room_id is None else int(room_id)


async def room_shop_id(session: AsyncSession, room_id: int) -> int | None:
    """The shop owning room ``room_id``, or None when there is no such room."""
    shop_id = await session.scalar(select(_ROOMS.c.shop_id).where(_ROOMS.c.id == room_id))
    return None if shop_id is None else int(shop_id)


async def live_show_id(session: AsyncSession, room_id: int) -> int | None:
    """The show on air in room ``room_id`` (at most one, by the rooms domain's unique index)."""
    show_id = await session.scalar(
        select(_SHOWS.c.id).where(_SHOWS.c.room_id == room_id, _SHOWS.c.state == "live").limit(1)
    )
    return None if show_id is None else int(show_id)
