"""Shop-wide comment rules: the settings every room follows and the sensitive-word list.

Reading them needs ``Permission.MODERATE`` (every staff role); changing them needs
``Permission.ROOMS_WRITE`` (owner, operator), so hosts and moderators see the list but do not edit it.
A change applies to the hot path at once in this process and within ``refresh_seconds`` on others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select

from liveloop.core.pagination import PageParams
from liveloop.interactions import storage
from liveloop.interactions.cache import settings_of
from liveloop.interactions.contracts import FilterMode, ModerationSettings
from liveloop.interactions.errors import TooManyWords
from liveloop.interactions.model import DEFAULT_SETTINGS, MAX_WORDS_PER_SHOP, check_settings, check_words
from liveloop.interactions.service import InteractionsContext
from liveloop.shops import Permission, Principal, check_permission

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class WordsChanged:
    """Words (in matching form) that were added or removed, and how many the shop lists now."""

    words: tuple[str, ...]
    total: int


def _pick(new: T | None, old: T) -> T:
    return old if new is None else new


async def get_moderation_settings(ctx: InteractionsContext, principal: Principal) -> ModerationSettings:
    check_permission(principal, Permission.MODERATE)
    async with ctx.db.read() as session:
        row = await session.get(storage.ModerationSettingsRow, principal.shop_id)
    return DEFAULT_SETTINGS if row is None else settings_of(row)


async def do_update_moderation_settings(
    ctx: InteractionsContext,
    principal: Principal,
    *,
    filter_mode: FilterMode | None = None,
    max_comment_length: int | None = None,
    comment_rate_per_second: float | None = None,
    comment_burst: int | None = None,
) -> ModerationSettings:
    """Change the given settings (None keeps one); they apply to every room of the shop."""
    check_permission(principal, Permission.ROOMS_WRITE)
    async with ctx.db.transaction() as session:
        await storage.ensure_settings(session, principal.shop_id, DEFAULT_SETTINGS)
        row = await session.get_one(storage.ModerationSettingsRow, principal.shop_id, with_for_update=True)
        now = settings_of(row)
        settings = check_settings(
            ModerationSettings(
                filter_mode=_pick(filter_mode, now.filter_mode),
                max_comment_length=_pick(max_comment_length, now.max_comment_length),
                comment_rate_per_second=_pick(comment_rate_per_second, now.comment_rate_per_second),
                comment_burst=_pick(comment_burst, now.comment_burst),
            )
        )
        row.filter_mode = settings.filter_mode.value
        row.max_comment_length = settings.max_comment_length
        row.comment_rate_per_second = settings.comment_rate_per_second
        row.comment_burst = settings.comment_burst
    await ctx.cache.publish(ctx.counters, shop_id=principal.shop_id)
    return settings


async def get_words(
    ctx: InteractionsContext, principal: Principal, page: PageParams
) -> list[storage.SensitiveWordRow]:
    """A page of the shop's words (``page.limit + 1`` rows, by id)."""
    check_permission(principal, Permission.MODERATE)
    async with ctx.db.read() as session:
        rows = await session.scalars(
            select(storage.SensitiveWordRow)
            .where(
                storage.SensitiveWordRow.shop_id == principal.shop_id,
                storage.SensitiveWordRow.id > page.after_id,
            )
            .order_by(storage.SensitiveWordRow.id)
            .limit(page.limit + 1)
        )
        return list(rows)


async def do_add_words(ctx: InteractionsContext, principal: Principal, *, words: list[str]) -> WordsChanged:
    """Add words (stored in matching form, see ``wordfilter``); words already listed are skipped."""
    check_permission(principal, Permission.ROOMS_WRITE)
    folded = check_words(words)
    async with ctx.db.transaction() as session:
        added = await storage.insert_words(session, principal.shop_id, folded)
        total = await storage.count_words(session, principal.shop_id)
        if total > MAX_WORDS_PER_SHOP:
            raise TooManyWords(f"a shop lists at most {MAX_WORDS_PER_SHOP} words", details={"total": total})
    if added:
        await ctx.cache.publish(ctx.counters, shop_id=principal.shop_id)
    return WordsChanged(words=tuple(added), total=total)


async def do_remove_words(
    ctx: InteractionsContext, principal: Principal, *, words: list[str]
) -> WordsChanged:
    """Remove words (matched in folded form: removing ``ＶＸ`` removes ``vx``); unknown words are ignored."""
    check_permission(principal, Permission.ROOMS_WRITE)
    folded = check_words(words)
    async with ctx.db.transaction() as session:
        removed = await storage.delete_words(session, principal.shop_id, folded)
        total = await storage.count_words(session, principal.shop_id)
    if removed:
        await ctx.cache.publish(ctx.counters, shop_id=principal.shop_id)
    return WordsChanged(words=tuple(removed), total=total)
