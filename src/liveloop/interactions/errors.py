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


# -- live tools: polls and Q&A -------------------------------------------------------------------


class SignInRequired(Forbidden):
    """Voting, asking and upvoting need a signed-in viewer: not a guest, not a staff socket."""

    code = "interactions.sign_in_required"


class PollNotFound(NotFound):
    code = "interactions.poll_not_found"


class InvalidPoll(InvalidInput):
    """The question, the options (2-6, each optionally a product of the shop) or the duration."""

    code = "interactions.invalid_poll"


class PollNotOpen(Conflict):
    """The poll is still a draft: it takes no votes and cannot be closed yet."""

    code = "interactions.poll_not_open"


class PollAlreadyOpen(Conflict):
    code = "interactions.poll_already_open"


class PollAlreadyClosed(Conflict):
    """The poll has closed (or its time is up): no more votes, and it cannot open again."""

    code = "interactions.poll_closed"


class NoLiveShow(Conflict):
    """A "next product" poll reorders a show's line-up, so it opens only while a show is live."""

    code = "interactions.no_live_show"


class InvalidOption(InvalidInput):
    code = "interactions.invalid_option"


class AlreadyVoted(Conflict):
    code = "interactions.already_voted"


class QuestionRejected(LiveloopError):
    """Base of every refusal of a viewer's question; never raised itself."""


class QuestionEmpty(QuestionRejected, InvalidInput):
    code = "interactions.question_empty"


class QuestionTooLong(QuestionRejected, InvalidInput):
    code = "interactions.question_too_long"


class QuestionInvalid(QuestionRejected, InvalidInput):
    """Control characters or other text a question may not carry."""

    code = "interactions.question_invalid"


class QuestionBlocked(QuestionRejected, InvalidInput):
    """The question contains a word of the shop's sensitive-word list and the shop blocks them."""

    code = "interactions.question_blocked"


class QuestionRateLimited(QuestionRejected, RateLimited):
    code = "interactions.question_rate_limited"

    def __init__(self, message: str, *, retry_after_seconds: float) -> None:
        self.retry_after_seconds = round(retry_after_seconds, 3)
        super().__init__(message, details={"retry_after_seconds": self.retry_after_seconds})


class QuestionNotFound(NotFound):
    code = "interactions.question_not_found"


class QuestionNotOpen(Conflict):
    """The question was answered or dismissed: no more upvotes, answers, pins or dismissals."""

    code = "interactions.question_not_open"


class OwnQuestion(Conflict):
    code = "interactions.own_question"


class AlreadyUpvoted(Conflict):
    code = "interactions.already_upvoted"


class InvalidAnswer(InvalidInput):
    code = "interactions.invalid_answer"


# -- live tools: red packets and lotteries -------------------------------------------------------


class InvalidRedPacket(InvalidInput):
    """The number of shares, the total, the duration or the countdown is out of bounds."""

    code = "interactions.invalid_red_packet"


class RedPacketTooSmall(InvalidInput):
    """Every share is at least 1 cent, so the total must be at least the number of shares."""

    code = "interactions.red_packet_too_small"


class RedPacketNotFound(NotFound):
    code = "interactions.red_packet_not_found"


class RedPacketNotOpen(Conflict):
    """The packet's countdown has not finished: it cannot be grabbed yet."""

    code = "interactions.red_packet_not_open"


class RedPacketEmpty(Conflict):
    code = "interactions.red_packet_empty"


class RedPacketExpired(Conflict):
    code = "interactions.red_packet_expired"


class AlreadyGrabbed(Conflict):
    code = "interactions.already_grabbed"


class GrabFailed(Conflict):
    """No share could be handed out (the counters disagreed with SQL; logged). Nothing was taken."""

    code = "interactions.grab_failed"


class LotteryNotFound(NotFound):
    code = "interactions.lottery_not_found"


class InvalidLottery(InvalidInput):
    """The prize, the number of winners, the window or the cancel reason is out of bounds."""

    code = "interactions.invalid_lottery"


class InvalidLotteryRule(InvalidInput):
    code = "interactions.invalid_lottery_rule"


class PurchaseConditionForbidden(InvalidInput):
    """A lottery may never require a purchase, an order or a payment (illegal in many markets)."""

    code = "interactions.purchase_condition_forbidden"


class LotteryRuleUnsupported(InvalidInput):
    """A rule this version cannot check yet (``member_tier``)."""

    code = "interactions.lottery_rule_unsupported"


class LotteryAlreadyOpen(Conflict):
    """The room already runs a lottery that is not drawn or cancelled."""

    code = "interactions.lottery_already_open"


class LotteryClosed(Conflict):
    """The lottery takes no more entries (its window is over, or it was drawn or cancelled)."""

    code = "interactions.lottery_closed"


class LotteryFinished(Conflict):
    """The lottery was drawn or cancelled already."""

    code = "interactions.lottery_finished"


class LotteryNotDrawn(Conflict):
    code = "interactions.lottery_not_drawn"


class KeywordEntryOnly(Conflict):
    """A keyword lottery is entered by commenting its keyword in the room, not through the API."""

    code = "interactions.keyword_entry_only"


class AlreadyEntered(Conflict):
    code = "interactions.already_entered"


class DrawUnavailable(Conflict):
    """This server has no source of presence and watch time to draw with (the app wires one)."""

    code = "interactions.draw_unavailable"
