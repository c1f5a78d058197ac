"""cohost: seat requests, room co-host settings, shop RTC provider settings

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 22:57:12.998652
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import liveloop.core.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = "state IN ('requested', 'approved')"


def upgrade() -> None:
    op.create_table(
        "rtc_configs",
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("livekit_url", sa.String(length=500), nullable=True),
        sa.Column("livekit_api_key", sa.String(length=200), nullable=True),
        sa.Column("livekit_api_secret", sa.String(length=200), nullable=True),
        sa.Column("agora_app_id", sa.String(length=32), nullable=True),
        sa.Column("agora_app_certificate", sa.String(length=64), nullable=True),
        sa.Column("updated_at", liveloop.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_rtc_configs_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", name=op.f("pk_rtc_configs")),
    )
    op.create_table(
        "room_cohost",
        sa.Column("room_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("max_seats", sa.Integer(), nullable=False),
        sa.Column("updated_at", liveloop.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_room_cohost_room_id_rooms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_room_cohost_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("room_id", name=op.f("pk_room_cohost")),
    )
    with op.batch_alter_table("room_cohost", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_room_cohost_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "seat_requests",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("room_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("show_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("viewer_id", sa.String(length=80), nullable=False),
        sa.Column("nickname", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", liveloop.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("approved_at", liveloop.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", liveloop.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["staff.id"], name=op.f("fk_seat_requests_decided_by_staff"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_seat_requests_room_id_rooms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_seat_requests_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["show_id"], ["shows.id"], name=op.f("fk_seat_requests_show_id_shows"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seat_requests")),
    )
    with op.batch_alter_table("seat_requests", schema=None) as batch_op:
        batch_op.create_index("ix_seat_requests_room_state", ["room_id", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_seat_requests_shop_id"), ["shop_id"], unique=False)
        batch_op.create_index(
            "uq_seat_requests_one_open_per_viewer",
            ["room_id", "viewer_id"],
            unique=True,
            sqlite_where=sa.text(_OPEN),
            postgresql_where=sa.text(_OPEN),
        )


def downgrade() -> None:
    with op.batch_alter_table("seat_requests", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_seat_requests_one_open_per_viewer",
            sqlite_where=sa.text(_OPEN),
            postgresql_where=sa.text(_OPEN),
        )
        batch_op.drop_index(batch_op.f("ix_seat_requests_shop_id"))
        batch_op.drop_index("ix_seat_requests_room_state")

    op.drop_table("seat_requests")
    with op.batch_alter_table("room_cohost", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_room_cohost_shop_id"))

    op.drop_table("room_cohost")
    op.drop_table("rtc_configs")
