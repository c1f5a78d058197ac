"""Polls' values and pure rules (no I/O): kinds and states, the checks of a new poll, counter keys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from liveloop.core.events import Event
from liveloop.interactions.errors import (
    InvalidPoll,
    PollAlreadyClosed,
    PollAlreadyOpen,
    PollNotOpen,
    SignInRequired,
)
from liveloop.interactions.model import check_viewer_id

MAX_QUESTION_LENGTH = 200
MAX_OPTION_LENGTH = 50
MIN_OPTIONS, MAX_OPTIONS = 2, 6
MIN_DURATION_SECONDS, MAX_DURATION_SECONDS = 5, 24 * 3600
#: Counters of a poll outlive any show; once closed, the result is in SQL and they go soon after.
KEY_TTL_SECONDS = 3 * 24 * 3600.0
CLOSED_KEY_TTL_SECONDS = 600.0


class PollKind(StrEnum):
    NORMAL = "normal"
    #: Its options are products; closing moves the winner to the front of the show's line-up.
    NEXT_PRODUCT = "next_product"


class PollState(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class PollOption:
    text: str
    product_id: int | None = None


@dataclass(frozen=True, slots=True)
class PollResult:
    """Votes per option; ``winner`` is the most voted option (ties: the lowest index), None without votes."""

    counts: tuple[int, ...]
    total: int
    winner: int | None

    @classmethod
    def of(cls, counts: Sequence[int]) -> PollResult:
        total = sum(counts)
        winner = max(range(len(counts)), key=lambda i: (counts[i], -i)) if total else None
        return cls(counts=tuple(counts), total=total, winner=winner)


@dataclass(frozen=True, slots=True)
class Poll:
    id: int
    shop_id: int
    room_id: int
    show_id: int | None
    question: str
    options: tuple[PollOption, ...]
    kind: PollKind
    state: PollState
    created_at: datetime
    opened_at: datetime | None
    closes_at: datetime | None
    closed_at: datetime | None
    result: PollResult | None


@dataclass(frozen=True, slots=True)
class PollTally:
    """Votes per option: live from Counters while open, the SQL count once closed (``final``)."""

    poll_id: int
    counts: tuple[int, ...]
    total: int
    final: bool = False


@dataclass(frozen=True, slots=True)
class PollChange:
    """A staff action's outcome; the caller emits ``events`` (the transaction has committed)."""

    poll: Poll
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class VoteCast:
    poll_id: int
    viewer_id: str
    option: int
    tally: PollTally
    events: tuple[Event, ...]


# -- rules ----------------------------------------------------------------------------------


def check_signed_in(viewer_id: str) -> str:
    """Voting, asking and upvoting are for signed-in viewers (``u:<user>``), not guests or staff."""
    if not viewer_id.startswith("u:"):
        raise SignInRequired("sign in to take part: guests and staff sockets cannot vote, ask or upvote")
    return check_viewer_id(viewer_id)


def _check_text(text: str, *, what: str, max_length: int) -> str:
    clean = text.strip()
    if not 1 <= len(clean) <= max_length:
        raise InvalidPoll(f"{what} has 1 to {max_length} characters")
    if not clean.isprintable():
        raise InvalidPoll(f"{what} may not contain control characters")
    return clean


def check_poll(question: str, options: Sequence[PollOption], kind: PollKind) -> tuple[str, list[PollOption]]:
    """The question and options as stored: stripped, 2-6 distinct options, products at most once."""
    clean = _check_text(question, what="a poll's question", max_length=MAX_QUESTION_LENGTH)
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        raise InvalidPoll(f"a poll has {MIN_OPTIONS} to {MAX_OPTIONS} options")
    cleaned = [
        PollOption(_check_text(o.text, what="an option", max_length=MAX_OPTION_LENGTH), o.product_id)
        for o in options
    ]
    if len({o.text.casefold() for o in cleaned}) != len(cleaned):
        raise InvalidPoll("two options read the same")
    products = [o.product_id for o in cleaned if o.product_id is not None]
    if len(set(products)) != len(products):
        raise InvalidPoll("a product appears in two options")
    if kind is PollKind.NEXT_PRODUCT and len(products) != len(cleaned):
        raise InvalidPoll("every option of a next-product poll names a product")
    return clean, cleaned


def check_duration(seconds: int | None) -> int | None:
    if seconds is not None and not MIN_DURATION_SECONDS <= seconds <= MAX_DURATION_SECONDS:
        raise InvalidPoll(f"a poll runs {MIN_DURATION_SECONDS} to {MAX_DURATION_SECONDS} seconds")
    return seconds


def voters_key(poll_id: int) -> str:
    return f"interactions:poll:{poll_id}:voters"


def option_key(poll_id: int, option: int) -> str:
    return f"interactions:poll:{poll_id}:opt:{option}"


def check_open(state: str, poll_id: int) -> None:
    """Raise unless the poll takes votes: PollNotOpen (a draft) or PollAlreadyClosed."""
    if state == PollState.DRAFT:
        raise PollNotOpen(f"poll {poll_id} is not open yet")
    if state == PollState.CLOSED:
        raise PollAlreadyClosed(f"poll {poll_id} has closed")


def check_draft(state: str, poll_id: int) -> None:
    """Raise unless the poll may open: PollAlreadyOpen or PollAlreadyClosed (closed is final)."""
    if state == PollState.OPEN:
        raise PollAlreadyOpen(f"poll {poll_id} is already open")
    if state == PollState.CLOSED:
        raise PollAlreadyClosed(f"poll {poll_id} has closed and cannot open again")
