"""The building blocks of :class:`~liveloop.analytics.live_aggregate.ShowAggregate`'s state.

Plain lists indexed by constants, small ``__slots__`` classes and int codes: the hot path pays for
list indexing and int compares, not for attribute dicts or string keys.
"""

from __future__ import annotations

from datetime import UTC, datetime

from liveloop.analytics.live_keys import DISTINCT, MINUTE_FIELDS, PRODUCT_FIELDS, TOTAL_FIELDS

MINUTE_MS = 60_000
#: Tolerance around the show's start and end, for node clocks and for the moment nodes learn the
#: show changed.
GRACE_MS = 2_000
#: Sessions shorter than this are quick exits; at least this long, effective views (METRICS.md).
QUICK_EXIT_MS = 10_000
#: A leave closes the session this node saw enter when the entry is within this of the leave's own
#: start (``at - watch_seconds``); otherwise that entry was an older session's, closed elsewhere.
PAIRING_MS = 1_000
#: Entries are attributed to the product explained at that moment this long after they happen, so
#: the explain change (flushed by whichever node made it) has reached Counters first.
ATTRIBUTION_DELAY_MS = 3_000

# Event codes, the frequent first (the hot loop tests them in this order); share..question must stay
# contiguous (one range test sends them to one branch).
(
    LIKE,
    COMMENT,
    EXPOSED,
    ENTERED,
    LEFT,
    CLICKED,
    SHARE,
    VOTE,
    FOLLOW,
    QUESTION,
    CART,
    ORDER_CREATED,
    ORDER_PAID,
    REFUNDED,
    COUPON,
    EXPLAINING,
    LIFECYCLE,
) = range(17)

CODES: dict[str, int] = {
    "like.batched": LIKE,
    "comment.posted": COMMENT,
    "product.exposed": EXPOSED,
    "viewer.entered": ENTERED,
    "viewer.left": LEFT,
    "product.clicked": CLICKED,
    "share.made": SHARE,
    "poll.voted": VOTE,
    "follow.made": FOLLOW,
    "question.asked": QUESTION,
    "cart.added": CART,
    "order.created": ORDER_CREATED,
    "order.paid": ORDER_PAID,
    "order.refunded": REFUNDED,
    "coupon.redeemed": COUPON,
    "showcase.explaining": EXPLAINING,
    "show.started": LIFECYCLE,
    "show.ended": LIFECYCLE,
    "show.cancelled": LIFECYCLE,
}

_T = {name: i for i, name in enumerate(TOTAL_FIELDS)}
T_PV, T_OPEN, T_OPEN_MS, T_WATCH, T_SESSIONS, T_QUICK = (
    _T[n] for n in ("pv", "open", "open_ms", "watch_ms", "sessions", "quick_exits")
)
T_COMMENTS, T_LIKES, T_SHARES, T_FOLLOWS, T_VOTES, T_QUESTIONS = (
    _T[n] for n in ("comments", "likes", "shares", "follows", "votes", "questions")
)
T_EXPOSURES, T_CLICKS, T_CARTS, T_ORDERS, T_PAID, T_GMV, T_REFUNDS, T_COUPONS = (
    _T[n]
    for n in (
        "exposures",
        "clicks",
        "cart_adds",
        "orders",
        "paid_orders",
        "gmv_cents",
        "refund_cents",
        "coupon_cost_cents",
    )
)
M_IN, M_OUT, M_COMMENTS, M_LIKES, M_SHARES, M_VOTES, M_FOLLOWS, M_ORDERS, M_PAID, M_GMV = range(
    len(MINUTE_FIELDS)
)
P_EXPOSURES, P_CLICKS, P_CARTS, P_ORDERS, P_PAID, P_GMV, P_XPV = range(len(PRODUCT_FIELDS))
assert MINUTE_FIELDS[M_GMV] == "gmv_cents"
assert PRODUCT_FIELDS[P_XPV] == "explained_pv"

# Show-level distinct sets as bits of one int per viewer: a repeat (the common case) costs one dict
# read and one mask test, however many sets the event touches.
B_UV, B_COMMENTING, B_LIKING, B_SHARING, B_INTERACTING, B_EXPOSURE, B_CLICK, B_ORDER, B_PAID = (
    1 << i for i in range(len(DISTINCT))
)
BITS: dict[str, int] = {name: 1 << i for i, name in enumerate(DISTINCT)}


def epoch_ms(at: datetime) -> int:
    """Whole milliseconds since the epoch of an aware datetime (exact: no float rounding of the ms)."""
    return int(at.timestamp()) * 1000 + at.microsecond // 1000


def at_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


class Seen:
    """A node-local distinct set and its members not yet flushed (re-adding a member is harmless)."""

    __slots__ = ("new", "seen")

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.new: list[str] = []


class Minute:
    __slots__ = ("click", "exposure", "sums")

    def __init__(self) -> None:
        self.sums = [0] * len(MINUTE_FIELDS)
        self.exposure = Seen()
        self.click = Seen()


class Product:
    __slots__ = ("click", "exposure", "order", "paid", "sums")

    def __init__(self) -> None:
        self.sums = [0] * len(PRODUCT_FIELDS)
        self.exposure = Seen()
        self.click = Seen()
        self.order = Seen()
        self.paid = Seen()


class Source:
    __slots__ = ("entries", "viewers")

    def __init__(self) -> None:
        self.entries = 0
        self.viewers = Seen()


#: Actor prefixes of staff ("staff:<id>", or "s:<id>" on the room socket): not viewers (METRICS.md).
STAFF_PREFIXES = ("s:", "staff:")


def take_new(out: dict[str, list[str]], name: str, members: list[str]) -> None:
    """Move ``members`` to ``out[name]`` and clear them, leaving out non-viewers: events without an
    actor and staff (checked here, once per new member, rather than on every event)."""
    if members:
        kept = [m for m in members if m is not None and not m.startswith(STAFF_PREFIXES)]
        members.clear()
        if kept:
            out[name] = kept


def take_sums(out: dict[str, int], prefix: str, names: tuple[str, ...], values: list[int]) -> None:
    """Move the non-zero ``values`` to ``out[prefix + name]`` and zero them."""
    for i, value in enumerate(values):
        if value:
            out[prefix + names[i]] = value
            values[i] = 0
