"""alerts: per-room alert thresholds, the shops' notify targets, the alerts fired per show

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import liveloop.core.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "room_alert_settings",
        sa.Column("room_id", _ID, nullable=False),
        sa.Column("shop_id", _ID, nullable=False),
        sa.Column("enabled_rules", sa.JSON(), nullable=False),
        sa.Column("ccu_floor", sa.Integer(), nullable=False),
        sa.Column("low_ctr_ratio", sa.Float(), nullable=False),
        sa.Column("min_exposures", sa.Integer(), nullable=False),
        sa.Column("traffic_drop_ratio", sa.Float(), nullable=False),
        sa.Column("traffic_window_min", sa.Integer(), nullable=False),
        sa.Column("stall_ratio", sa.Float(), nullable=False),
        sa.Column("stall_min_clicks", sa.Integer(), nullable=False),
        sa.Column("stall_window_min", sa.Integer(), nullable=False),
        sa.Column("updated_at", liveloop.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_room_alert_settings_room_id_rooms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_room_alert_settings_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("room_id", name=op.f("pk_room_alert_settings")),
    )
    with op.batch_alter_table("room_alert_settings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_room_alert_settings_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "shop_notify_targets",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("shop_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", liveloop.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_shop_notify_targets_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_notify_targets")),
    )
    with op.batch_alter_table("shop_notify_targets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shop_notify_targets_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "show_alerts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("shop_id", _ID, nullable=False),
        sa.Column("show_id", _ID, nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("fired_at", liveloop.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_show_alerts_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["show_id"], ["shows.id"], name=op.f("fk_show_alerts_show_id_shows"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_show_alerts")),
    )
    with op.batch_alter_table("show_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_show_alerts_shop_id"), ["shop_id"], unique=False)
        batch_op.create_index("ix_show_alerts_show_id_fired_at", ["show_id", "fired_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("show_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_show_alerts_show_id_fired_at")
        batch_op.drop_index(batch_op.f("ix_show_alerts_shop_id"))
    op.drop_table("show_alerts")
    with op.batch_alter_table("shop_notify_targets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shop_notify_targets_shop_id"))
    op.drop_table("shop_notify_targets")
    with op.batch_alter_table("room_alert_settings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_room_alert_settings_shop_id"))
    op.drop_table("room_alert_settings")
