"""Stable error codes of the interactions domain.

Every reason a comment is refused derives from :class:`CommentRejected`, so the gateway catches one
class and answers an error frame with ``code`` (and ``details``, e.g. ``retry_after_seconds``).
"""

from __future__ import annotations

from liveloop.core.errors import Conflict, Forbidden, InvalidInput, LiveloopError, NotFound, RateLimited


class CommentRejected(LiveloopError):
    """Base of every refusal of a viewer's comment; never raised itself."""


class CommentEmpty(CommentRejected, InvalidInput):
    code = "interactions.comment_empty"


class CommentTooLong(CommentRejected, InvalidInput):
    code = "interactions.comment_too_long"


class CommentInvalid(CommentRejected, InvalidInput):
    """Control characters or other text a comment may not carry."""

    code = "interactions.comment_invalid"


class ContainsBlockedWord(CommentRejected, InvalidInput):
    """The comment contains a word of the shop's sensitive-word list and the shop blocks them."""

    code = "interactions.comment_blocked"


class _RetryLater(CommentRejected, RateLimited):
    def __init__(self, message: str, *, retry_after_seconds: float) -> None:
        self.retry_after_seconds = round(retry_after_seconds, 3)
        super().__init__(message, details={"retry_after_seconds": self.retry_after_seconds})


class CommentRateLimited(_RetryLater):
    code = "interactions.rate_limited"


class SlowMode(_RetryLater):
    code = "interactions.slow_mode"


class Muted(CommentRejected, Forbidden):
    code = "interactions.muted"

    def __init__(self, message: str, *, seconds_left: int, until: str) -> None:
        self.seconds_left = seconds_left
        super().__init__(message, details={"seconds_left": seconds_left, "until": until})


class Banned(CommentRejected, Forbidden):
    code = "interactions.banned"


class InvalidViewerId(InvalidInput):
    code = "interactions.invalid_viewer_id"


class InvalidWord(InvalidInput):
    code = "interactions.invalid_word"


class TooManyWords(Conflict):
    code = "interactions.too_many_words"


class InvalidLikes(InvalidInput):
    code = "interactions.invalid_likes"


class InvalidShareChannel(InvalidInput):
    code = "interactions.invalid_share_channel"


class InvalidOffset(InvalidInput):
    code = "interactions.invalid_offset"


class InvalidSetting(InvalidInput):
    code = "interactions.invalid_setting"


class AlreadyBanned(Conflict):
    code = "interactions.already_banned"


class BanNotFound(NotFound):
    code = "interactions.ban_not_found"


class NothingPinned(Conflict):
    code = "interactions.nothing_pinned"
