"""showcase: the product being explained (讲解中) on shows, and every explain segment

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 00:42:04.212619

``shows`` only gains plain columns, so SQLite adds them in place. A foreign key there would need
batch mode's copy-and-move on SQLite, and with foreign keys on, dropping the old ``shows`` table
cascades into every line-up, seat request and segment that points at a show.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import liveloop.core.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "explain_segments",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("show_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("started_at", liveloop.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", liveloop.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_explain_segments_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["show_id"], ["shows.id"], name=op.f("fk_explain_segments_show_id_shows"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_explain_segments")),
    )
    with op.batch_alter_table("explain_segments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_explain_segments_product_id"), ["product_id"], unique=False)
        batch_op.create_index("ix_explain_segments_show_started", ["show_id", "started_at"], unique=False)
        batch_op.create_index(
            "uq_explain_segments_one_open_per_show",
            ["show_id"],
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )

    with op.batch_alter_table("shows", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "explaining_product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("explaining_since", liveloop.core.db.UtcDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    # Plain columns: SQLite (3.35+) drops them in place, without rebuilding ``shows``.
    op.drop_column("shows", "explaining_since")
    op.drop_column("shows", "explaining_product_id")

    with op.batch_alter_table("explain_segments", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_explain_segments_one_open_per_show",
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )
        batch_op.drop_index("ix_explain_segments_show_started")
        batch_op.drop_index(batch_op.f("ix_explain_segments_product_id"))

    op.drop_table("explain_segments")
