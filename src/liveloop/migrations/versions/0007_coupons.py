"""coupons: templates, drops into rooms, claimed coupons; orders.coupon_id

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 01:10:00.000000

``orders`` only gains a plain column (no foreign key: ``coupons.used_order_id`` points the other
way), so SQLite adds and drops it in place. Batch mode's copy-and-move would drop the old ``orders``
table, and with foreign keys on that cascades into its payments.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import liveloop.core.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UtcDateTime = liveloop.core.db.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "coupon_templates",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("shop_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_off_cents", sa.Integer(), nullable=True),
        sa.Column("percent", sa.Integer(), nullable=True),
        sa.Column("max_discount_cents", sa.Integer(), nullable=True),
        sa.Column("threshold_cents", sa.Integer(), nullable=True),
        sa.Column("product_id", BigId, nullable=True),
        sa.Column("valid_from", UtcDateTime, nullable=True),
        sa.Column("valid_until", UtcDateTime, nullable=True),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        sa.Column("per_user_limit", sa.Integer(), nullable=False),
        sa.Column("total_quantity", sa.Integer(), nullable=False),
        sa.Column("quantity_issued", sa.Integer(), nullable=False),
        sa.Column("disabled_at", UtcDateTime, nullable=True),
        sa.Column("created_by", BigId, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.CheckConstraint(
            "quantity_issued >= 0 AND quantity_issued <= total_quantity",
            name=op.f("ck_coupon_templates_issued"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staff.id"],
            name=op.f("fk_coupon_templates_created_by_staff"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_coupon_templates_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_coupon_templates_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_templates")),
    )
    with op.batch_alter_table("coupon_templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coupon_templates_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "coupon_drops",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("shop_id", BigId, nullable=False),
        sa.Column("template_id", BigId, nullable=False),
        sa.Column("room_id", BigId, nullable=False),
        sa.Column("show_id", BigId, nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("claimed", sa.Integer(), nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("created_by", BigId, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.CheckConstraint("claimed >= 0 AND claimed <= quantity", name=op.f("ck_coupon_drops_claimed")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["staff.id"], name=op.f("fk_coupon_drops_created_by_staff"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_coupon_drops_room_id_rooms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_coupon_drops_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["show_id"], ["shows.id"], name=op.f("fk_coupon_drops_show_id_shows"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["coupon_templates.id"],
            name=op.f("fk_coupon_drops_template_id_coupon_templates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_drops")),
    )
    with op.batch_alter_table("coupon_drops", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coupon_drops_room_id"), ["room_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_coupon_drops_show_id"), ["show_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_coupon_drops_template_id"), ["template_id"], unique=False)

    op.create_table(
        "coupons",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("shop_id", BigId, nullable=False),
        sa.Column("template_id", BigId, nullable=False),
        sa.Column("drop_id", BigId, nullable=True),
        sa.Column("owner_id", sa.String(length=80), nullable=False),
        sa.Column("room_id", BigId, nullable=True),
        sa.Column("show_id", BigId, nullable=True),
        sa.Column("claimed_at", UtcDateTime, nullable=False),
        sa.Column("valid_from", UtcDateTime, nullable=False),
        sa.Column("valid_until", UtcDateTime, nullable=False),
        sa.Column("used_order_id", BigId, nullable=True),
        sa.Column("used_at", UtcDateTime, nullable=True),
        sa.Column("discount_cents", sa.Integer(), nullable=False),
        sa.Column("redeemed_at", UtcDateTime, nullable=True),
        sa.CheckConstraint("discount_cents >= 0", name=op.f("ck_coupons_discount")),
        sa.ForeignKeyConstraint(
            ["drop_id"],
            ["coupon_drops.id"],
            name=op.f("fk_coupons_drop_id_coupon_drops"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_coupons_room_id_rooms"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_coupons_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["show_id"], ["shows.id"], name=op.f("fk_coupons_show_id_shows"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["coupon_templates.id"],
            name=op.f("fk_coupons_template_id_coupon_templates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["used_order_id"],
            ["orders.id"],
            name=op.f("fk_coupons_used_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("drop_id", "owner_id", name="uq_coupons_drop_owner"),
    )
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.create_index("ix_coupons_shop_owner", ["shop_id", "owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_coupons_show_id"), ["show_id"], unique=False)
        batch_op.create_index("ix_coupons_template_owner", ["template_id", "owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_coupons_used_order_id"), ["used_order_id"], unique=False)

    op.add_column("orders", sa.Column("coupon_id", BigId, nullable=True))


def downgrade() -> None:
    # A plain column: SQLite (3.35+) drops it in place, without rebuilding ``orders``.
    op.drop_column("orders", "coupon_id")

    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coupons_used_order_id"))
        batch_op.drop_index("ix_coupons_template_owner")
        batch_op.drop_index(batch_op.f("ix_coupons_show_id"))
        batch_op.drop_index("ix_coupons_shop_owner")
    op.drop_table("coupons")

    with op.batch_alter_table("coupon_drops", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coupon_drops_template_id"))
        batch_op.drop_index(batch_op.f("ix_coupon_drops_show_id"))
        batch_op.drop_index(batch_op.f("ix_coupon_drops_room_id"))
    op.drop_table("coupon_drops")

    with op.batch_alter_table("coupon_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coupon_templates_shop_id"))
    op.drop_table("coupon_templates")
