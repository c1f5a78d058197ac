"""Pure rules of comments, reactions and moderation (no I/O)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from liveloop.interactions.contracts import FilterMode, ModerationSettings, ShareChannel
from liveloop.interactions.errors import (
    CommentEmpty,
    CommentInvalid,
    CommentTooLong,
    InvalidLikes,
    InvalidOffset,
    InvalidSetting,
    InvalidShareChannel,
    InvalidViewerId,
    InvalidWord,
)
from liveloop.interactions.wordfilter import fold_word

DEFAULT_MAX_LENGTH = 100
DEFAULT_RATE_PER_SECOND = 1.0
DEFAULT_BURST = 3
DEFAULT_FILTER_MODE = FilterMode.MASK

#: Bounds of what a shop may configure.
MAX_LENGTH_LIMIT = 500
MAX_RATE_PER_SECOND = 50.0
MIN_RATE_PER_SECOND = 0.01
MAX_BURST = 100
MAX_SLOW_MODE_SECONDS = 3600
MAX_MUTE_SECONDS = 7 * 24 * 3600
MAX_REASON_LENGTH = 200

#: Sensitive words: characters per word, words per request, words per shop.
MAX_WORD_LENGTH = 50
MAX_WORDS_PER_REQUEST = 1000
MAX_WORDS_PER_SHOP = 10_000
MAX_FOLDED_WORD_LENGTH = 200  # the column's size; NFKC can expand a character (㍿ -> 株式会社)

#: Taps one like frame may carry (clients batch them).
MAX_LIKES_PER_FRAME = 500
MAX_OFFSET = 2**53

DEFAULT_SETTINGS = ModerationSettings(
    filter_mode=DEFAULT_FILTER_MODE,
    max_comment_length=DEFAULT_MAX_LENGTH,
    comment_rate_per_second=DEFAULT_RATE_PER_SECOND,
    comment_burst=DEFAULT_BURST,
)

# Bidirectional embedding/override/isolate controls (format characters, not Cc) reorder how the room
# renders everyone's text, so they are refused with the control characters.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_VIEWER_ID_MAX = 64


@dataclass(frozen=True, slots=True)
class CommentPolicy:
    """The rules one room's comments follow: the shop's settings plus the room's slow mode."""

    max_length: int = DEFAULT_MAX_LENGTH
    slow_mode_seconds: int = 0
    rate_per_second: float = DEFAULT_RATE_PER_SECOND
    burst: int = DEFAULT_BURST
    filter_mode: FilterMode = DEFAULT_FILTER_MODE

    @classmethod
    def for_room(cls, settings: ModerationSettings, *, slow_mode_seconds: int) -> CommentPolicy:
        return cls(
            max_length=settings.max_comment_length,
            slow_mode_seconds=slow_mode_seconds,
            rate_per_second=settings.comment_rate_per_second,
            burst=settings.comment_burst,
            filter_mode=settings.filter_mode,
        )


class BucketKind(StrEnum):
    SLOW_MODE = "slow"
    USER_RATE = "rate"


@dataclass(frozen=True, slots=True)
class Bucket:
    """A token bucket a comment takes one token from."""

    kind: BucketKind
    rate_per_second: float
    burst: int


def comment_buckets(policy: CommentPolicy) -> tuple[Bucket, ...]:
    """The buckets a comment must pass, cheapest decision first.

    Slow mode is a bucket of one token refilled every N seconds. When it is at least as strict as the
    per-user rate (1/N <= rate, and its burst of 1 <= the user's), the user bucket could never refuse
    what slow mode allows, so it is skipped: a comment costs one counter operation either way.
    """
    user = Bucket(BucketKind.USER_RATE, policy.rate_per_second, policy.burst)
    if policy.slow_mode_seconds <= 0:
        return (user,)
    slow_rate = 1.0 / policy.slow_mode_seconds
    slow = Bucket(BucketKind.SLOW_MODE, slow_rate, 1)
    return (slow,) if slow_rate <= policy.rate_per_second else (slow, user)


def check_comment_text(text: str, *, max_length: int) -> str:
    """The comment as it will be shown: stripped, 1..``max_length`` characters (code points), with
    no control characters."""
    clean = text.strip()
    if not clean:
        raise CommentEmpty("a comment needs some text")
    if len(clean) > max_length:
        raise CommentTooLong(
            f"a comment may have at most {max_length} characters", details={"max_length": max_length}
        )
    for ch in clean:
        if ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cs"):
            raise CommentInvalid(f"a comment may not contain the control character U+{ord(ch):04X}")
    return clean


def check_viewer_id(viewer_id: str) -> str:
    """``u:<user id>`` (1-64 visible ASCII characters) or ``d:<device id>`` (1-64 printable)."""
    kind, sep, rest = viewer_id.partition(":")
    valid = (
        sep == ":"
        and 1 <= len(rest) <= _VIEWER_ID_MAX
        and (
            (kind == "u" and all("\x21" <= ch <= "\x7e" for ch in rest))
            or (kind == "d" and rest.isprintable())
        )
    )
    if not valid:
        raise InvalidViewerId('viewer_id must read "u:<user id>" or "d:<device id>"')
    return viewer_id


def check_words(words: list[str]) -> list[str]:
    """The words in matching form (see :mod:`liveloop.interactions.wordfilter`), deduplicated in order."""
    if len(words) > MAX_WORDS_PER_REQUEST:
        raise InvalidWord(f"at most {MAX_WORDS_PER_REQUEST} words at once")
    folded: dict[str, None] = {}
    for word in words:
        if not 1 <= len(word.strip()) <= MAX_WORD_LENGTH:
            raise InvalidWord(f"a word has 1 to {MAX_WORD_LENGTH} characters", details={"word": word})
        key = fold_word(word)
        if not key:
            raise InvalidWord(
                "a word needs at least one letter or digit (spaces and punctuation are ignored)",
                details={"word": word},
            )
        if len(key) > MAX_FOLDED_WORD_LENGTH:
            raise InvalidWord("the word is too long once normalised", details={"word": word})
        folded[key] = None
    return list(folded)


def check_settings(settings: ModerationSettings) -> ModerationSettings:
    if not 1 <= settings.max_comment_length <= MAX_LENGTH_LIMIT:
        raise InvalidSetting(f"max_comment_length must be 1..{MAX_LENGTH_LIMIT}")
    if not MIN_RATE_PER_SECOND <= settings.comment_rate_per_second <= MAX_RATE_PER_SECOND:
        raise InvalidSetting(f"comment_rate_per_second must be {MIN_RATE_PER_SECOND}..{MAX_RATE_PER_SECOND}")
    if not 1 <= settings.comment_burst <= MAX_BURST:
        raise InvalidSetting(f"comment_burst must be 1..{MAX_BURST}")
    return settings


def check_slow_mode(seconds: int) -> int:
    if not 0 <= seconds <= MAX_SLOW_MODE_SECONDS:
        raise InvalidSetting(f"slow mode is 0 (off) to {MAX_SLOW_MODE_SECONDS} seconds")
    return seconds


def check_mute_seconds(seconds: int) -> int:
    if not 1 <= seconds <= MAX_MUTE_SECONDS:
        raise InvalidSetting(f"a mute lasts 1 to {MAX_MUTE_SECONDS} seconds")
    return seconds


def check_reason(reason: str) -> str:
    clean = reason.strip()
    if len(clean) > MAX_REASON_LENGTH:
        raise InvalidSetting(f"a reason has at most {MAX_REASON_LENGTH} characters")
    return clean


def check_offset(offset: int) -> int:
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidOffset(f"offset must be 0..{MAX_OFFSET}")
    return offset


def check_likes(count: int) -> int:
    """Taps in one like frame: 1..MAX_LIKES_PER_FRAME."""
    if isinstance(count, bool) or not 1 <= count <= MAX_LIKES_PER_FRAME:
        raise InvalidLikes(f"a like frame carries 1 to {MAX_LIKES_PER_FRAME} taps")
    return count


def check_share_channel(channel: str) -> ShareChannel:
    try:
        return ShareChannel(channel)
    except ValueError:
        allowed = ", ".join(c.value for c in ShareChannel)
        raise InvalidShareChannel(f"share channel must be one of: {allowed}") from None
