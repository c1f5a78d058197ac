"""Tables of the commerce domain: products, flash sales, orders, payments.

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
    # Coupons land later: the code and what it took off amount_cents.
    coupon_code: Mapped[str | None] = mapped_column(String(64), default=None)
    discount_cents: Mapped[int] = mapped_column(Integer, default=0)
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


#: The rooms domain's shows, as far as commerce needs them: which shop a show belongs to. Commerce sits
#: below rooms in the layers, so it reads these two columns instead of importing ``liveloop.rooms``.
_SHOWS = table("shows", column("id"), column("shop_id"))


async def show_shop_id(session: AsyncSession, show_id: int) -> int | None:
    """The shop owning show ``show_id``, or None when there is no such show."""
    shop_id = await session.scalar(select(_SHOWS.c.shop_id).where(_SHOWS.c.id == show_id))
    return None if shop_id is None else int(shop_id)
