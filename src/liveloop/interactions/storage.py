"""Tables of the interactions domain and the queries that load a shop's or a room's moderation state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
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


# -- live tools: polls and Q&A -------------------------------------------------------------------


class PollRow(Base):
    """A poll in a room: draft -> open -> closed. ``options`` holds ``[{"text", "product_id"}]``;
    ``result`` the final counts, written from ``poll_votes`` when it closes."""

    __tablename__ = "polls"
    __table_args__ = (
        Index("ix_polls_room_state", "room_id", "state"),
        Index("ix_polls_state_closes_at", "state", "closes_at"),  # finding the polls due to close
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    show_id: Mapped[int | None] = mapped_column(ForeignKey("shows.id", ondelete="SET NULL"), default=None)
    question: Mapped[str] = mapped_column(String(200))
    options: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    kind: Mapped[str] = mapped_column(String(16), default="normal")
    state: Mapped[str] = mapped_column(String(16), default="draft")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    closes_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class PollVoteRow(Base):
    """One viewer's vote: the truth the final result is counted from (one per viewer per poll)."""

    __tablename__ = "poll_votes"
    __table_args__ = (UniqueConstraint("poll_id", "viewer_id", name="uq_poll_votes_poll_viewer"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    viewer_id: Mapped[str] = mapped_column(String(80))
    option: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class QuestionRow(Base):
    """A viewer's question: open -> answered | dismissed; ``votes`` counts ``question_votes``."""

    __tablename__ = "questions"
    __table_args__ = (Index("ix_questions_room_state", "room_id", "state"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    show_id: Mapped[int | None] = mapped_column(ForeignKey("shows.id", ondelete="SET NULL"), default=None)
    viewer_id: Mapped[str] = mapped_column(String(80))
    nickname: Mapped[str] = mapped_column(String(100), default="")
    text: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="open")
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    votes: Mapped[int] = mapped_column(Integer, default=0)
    answer: Mapped[str | None] = mapped_column(String(1000), default=None)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class QuestionVoteRow(Base):
    """One viewer's upvote of a question (once per viewer)."""

    __tablename__ = "question_votes"
    __table_args__ = (UniqueConstraint("question_id", "viewer_id", name="uq_question_votes_question_viewer"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    viewer_id: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


# -- live tools: red packets and lotteries -------------------------------------------------------


class RedPacketRow(Base):
    """A red packet (红包) sent to a room: open -> finished (every share grabbed) | expired (the
    unclaimed shares returned)."""

    __tablename__ = "red_packets"
    __table_args__ = (Index("ix_red_packets_state_expires_at", "state", "expires_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    show_id: Mapped[int | None] = mapped_column(ForeignKey("shows.id", ondelete="SET NULL"), default=None)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="open")
    opens_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RedPacketShareRow(Base):
    """One share, cut and stored in random order when the packet is sent. ``index`` is the order the
    shares are handed out in (``count - 1`` down to 0); a grab sets ``viewer_id``, expiry ``returned_at``.
    A viewer holds at most one share of a packet."""

    __tablename__ = "red_packet_shares"
    __table_args__ = (UniqueConstraint("packet_id", "viewer_id", name="uq_red_packet_shares_packet_viewer"),)

    packet_id: Mapped[int] = mapped_column(
        ForeignKey("red_packets.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    viewer_id: Mapped[str | None] = mapped_column(String(80), default=None)
    nickname: Mapped[str | None] = mapped_column(String(100), default=None)
    grabbed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    returned_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class LotteryRow(Base):
    """A comment lottery (福袋): open -> closed (no more entries) -> drawn, or cancelled.

    ``secret_seed`` is drawn at open and never shown; ``seed_hash`` is its published commitment, and the
    draw (or a cancel) copies it to ``seed``. ``eligible`` (sorted viewer ids) and ``winners``
    (``[{"viewer_id", "nickname"}]``, in rank order) are written by the draw.
    """

    __tablename__ = "lotteries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    show_id: Mapped[int | None] = mapped_column(ForeignKey("shows.id", ondelete="SET NULL"), default=None)
    prize: Mapped[str] = mapped_column(String(100))
    winners_count: Mapped[int] = mapped_column(Integer)
    keyword: Mapped[str | None] = mapped_column(String(40), default=None)
    require_follow: Mapped[bool] = mapped_column(Boolean, default=False)
    min_watch_minutes: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default="open")
    opens_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closes_at: Mapped[datetime] = mapped_column(UtcDateTime)
    seed_hash: Mapped[str] = mapped_column(String(64))
    secret_seed: Mapped[str] = mapped_column(String(64))
    seed: Mapped[str | None] = mapped_column(String(64), default=None)
    eligible: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    winners: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)
    entries_count: Mapped[int] = mapped_column(Integer, default=0)
    drawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


# At most one lottery open or closed (not yet drawn or cancelled) per room, enforced by the database.
Index(
    "uq_lotteries_one_active_per_room",
    LotteryRow.room_id,
    unique=True,
    sqlite_where=LotteryRow.state.in_(["open", "closed"]),
    postgresql_where=LotteryRow.state.in_(["open", "closed"]),
)


class LotteryEntryRow(Base):
    """A viewer's entry in a lottery (once per viewer)."""

    __tablename__ = "lottery_entries"
    __table_args__ = (UniqueConstraint("lottery_id", "viewer_id", name="uq_lottery_entries_lottery_viewer"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lottery_id: Mapped[int] = mapped_column(ForeignKey("lotteries.id", ondelete="CASCADE"))
    viewer_id: Mapped[str] = mapped_column(String(80))
    nickname: Mapped[str] = mapped_column(String(100), default="")
    entered_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RoomFollowRow(Base):
    """A signed-in viewer who follows a room (what a lottery's ``follow`` rule checks)."""

    __tablename__ = "room_follows"

    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    viewer_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    followed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
