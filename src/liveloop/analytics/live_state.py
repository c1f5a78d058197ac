"""The building blocks of :class:`~liveloop.analytics.live_aggregate.ShowAggregate`'s state.

Plain lists indexed by constants and small ``__slots__`` classes: the hot path pays for list indexing,
not for attribute dicts or string keys.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import filterfalse
from operator import methodcaller
from typing import cast

from liveloop.analytics.live_keys import MINUTE_FIELDS, PRODUCT_FIELDS, TOTAL_FIELDS

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

# The groups apply() sorts a minute's events into before folding each group in bulk: the frequent
# kinds get one group each (counts and distinct members need no per-event Python code), entries and
# leaves share one (a leave closes the session an earlier entry opened: order matters), and the rare
# kinds share one, folded event by event in order.
LIKES, COMMENTS, EXPOSURES, CLICKS, SHARES, VOTES, FOLLOWS, QUESTIONS, SESSIONS, RARE = range(10)
ENTERED, LEFT = "viewer.entered", "viewer.left"

GROUPS: dict[str, int] = {
    "like.batched": LIKES,
    "comment.posted": COMMENTS,
    "product.exposed": EXPOSURES,
    "product.clicked": CLICKS,
    "share.made": SHARES,
    "poll.voted": VOTES,
    "follow.made": FOLLOWS,
    "question.asked": QUESTIONS,
    ENTERED: SESSIONS,
    LEFT: SESSIONS,
    "cart.added": RARE,
    "order.created": RARE,
    "order.paid": RARE,
    "order.refunded": RARE,
    "coupon.redeemed": RARE,
    "showcase.explaining": RARE,
    "show.started": RARE,
    "show.ended": RARE,
    "show.cancelled": RARE,
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


def epoch_ms(at: datetime) -> int:
    """Whole milliseconds since the epoch of an aware datetime (exact: no float rounding of the ms)."""
    return int(at.timestamp()) * 1000 + at.microsecond // 1000


def at_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


class Seen:
    """A node-local distinct set: ``new`` collects members as events come (repeats included, so the hot
    path only appends); :func:`take_new` dedupes them against ``seen`` in bulk at the drain."""

    __slots__ = ("new", "seen")

    def __init__(self) -> None:
        self.seen: set[str | None] = set()
        self.new: list[str | None] = []


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


class Products(dict[int, Product]):
    """Product id -> its pending deltas; a product is created the first time it is looked up."""

    __slots__ = ()

    def __missing__(self, product_id: int) -> Product:
        product = self[product_id] = Product()
        return product


class ProductMembers(dict[int, list[str | None]]):
    """Product id -> the pending members (``Seen.new``) of one of its sets, ``exposure`` or ``click``,
    creating the product on first use: apply() appends each exposure's or click's actor to its product
    in C (``list.append`` mapped over the lists the events' products map to)."""

    __slots__ = ("_name", "_products")

    def __init__(self, products: Products, name: str) -> None:
        super().__init__()
        self._products, self._name = products, name

    def __missing__(self, product_id: int) -> list[str | None]:
        members: list[str | None] = getattr(self._products[product_id], self._name).new
        self[product_id] = members
        return members


class Source:
    __slots__ = ("entries", "viewers")

    def __init__(self) -> None:
        self.entries = 0
        self.viewers = Seen()


#: Actor prefixes of staff ("staff:<id>", or "s:<id>" on the room socket): not viewers (METRICS.md).
STAFF_PREFIXES = ("s:", "staff:")
_IS_STAFF = methodcaller("startswith", STAFF_PREFIXES)


def take_new(out: dict[str, list[str]], name: str, members: Seen) -> set[str | None]:
    """Move the members of ``members.new`` not seen before to ``out[name]`` (in no particular order),
    leaving out non-viewers: events without an actor and staff (checked here, on the new members,
    rather than on every event). Returns the members seen for the first time."""
    if not members.new:
        return set()
    fresh = set(members.new).difference(members.seen)  # iterates the batch, not the (large) seen set
    members.new.clear()
    if fresh:
        members.seen.update(fresh)
        fresh.discard(None)
        kept = list(cast(set[str], fresh))
        # Staff are rare: one search of all the members joined finds whether there are any (no false
        # negative: each member follows a newline), rather than a startswith call per member.
        joined = "\n" + "\n".join(kept)
        if any(f"\n{prefix}" in joined for prefix in STAFF_PREFIXES):
            kept = list(filterfalse(_IS_STAFF, kept))
        if kept:
            out[name] = kept
    return fresh


def take_sums(out: dict[str, int], prefix: str, names: tuple[str, ...], values: list[int]) -> None:
    """Move the non-zero ``values`` to ``out[prefix + name]`` and zero them."""
    for i, value in enumerate(values):
        if value:
            out[prefix + names[i]] = value
            values[i] = 0
