"""ShowAggregate: one show's live metrics on this node, updated incrementally from the event stream.

Pure and synchronous: :meth:`ShowAggregate.apply` folds a batch of events into pending deltas (sums,
members of distinct sets) and :meth:`ShowAggregate.drain` hands them over for the flush to Counters,
where every node's deltas add up to the global figures.

The hot path does as little per event as Python allows: one loop places each event in its minute (by
comparing its time with the current minute's bounds) and appends it to its kind's group; each group is
then folded in bulk every ``_CHUNK`` events and when the minute changes (counts are lengths, sums
and members are read with ``operator`` getters, distinct members are appended and deduped against the
seen set once per drain, in C: :func:`~.live_state.take_new`). Exposures and clicks append each
actor to its product's pending members in C too (:class:`~.live_state.ProductMembers`), and a
product's exposure and click counts are taken at the drain as the length of those members: one per
event, repeats and events without an actor included. Only entries and leaves (which pair up) and the
rare kinds run Python per event; a leave's sums (sessions closed, entries at the start) are folded
after its group's loop. Explain changes in order are appended to the known segments (no re-sort).
Events' fields and ``data`` dicts are read directly (no payload validation).

Which events count (METRICS.md: a show counts the events between its start and its end, with
``GRACE_MS`` of tolerance):

- An entry opens a session; a leave closes it. A leave whose session began before the show (the
  viewer was in the room when it went live) counts as an entry at the start plus the leave, so those
  viewers are in UV/PV once they leave. A leave after the end still closes its session (the viewer was
  there at the end), but is not a leave of any minute.
- Watch time is each session's overlap with the show, each viewer's total capped at the show length.
  Sessions still open add ``open * t - open_ms`` at read time (see :mod:`.live_keys`).
- A session shorter than ``QUICK_EXIT_MS`` is a quick exit; sessions count when they end.
- Minutes are calendar minutes, index 0 the one the show started in; events in the grace before the
  start or after the end count in the first or last minute.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Any

from liveloop.analytics.live_keys import NO_PRODUCT
from liveloop.analytics.live_pending import PendingShow
from liveloop.analytics.live_state import (
    ENTERED,
    GRACE_MS,
    GROUPS,
    LEFT,
    M_COMMENTS,
    M_FOLLOWS,
    M_GMV,
    M_IN,
    M_LIKES,
    M_ORDERS,
    M_OUT,
    M_PAID,
    M_SHARES,
    M_VOTES,
    P_CARTS,
    P_GMV,
    P_ORDERS,
    P_PAID,
    PAIRING_MS,
    QUICK_EXIT_MS,
    RARE,
    T_CARTS,
    T_CLICKS,
    T_COMMENTS,
    T_COUPONS,
    T_EXPOSURES,
    T_FOLLOWS,
    T_GMV,
    T_LIKES,
    T_OPEN,
    T_OPEN_MS,
    T_ORDERS,
    T_PAID,
    T_PV,
    T_QUESTIONS,
    T_QUICK,
    T_REFUNDS,
    T_SESSIONS,
    T_SHARES,
    T_VOTES,
    T_WATCH,
    Minute,
    ProductMembers,
    Seen,
    Source,
    epoch_ms,
)
from liveloop.core.events import Event

__all__ = ["ShowAggregate"]

#: An event's fields: pydantic keeps a model's field values in its ``__dict__``, and a dict read is
#: several times cheaper than an attribute read (``BaseModel`` defines ``__getattr__``, which keeps
#: CPython off its fast attribute path), so the hot path reads each event's ``__dict__`` once.
Fields = dict[str, Any]

_ACTOR = itemgetter("actor")
_DATA = itemgetter("data")
_COUNT = itemgetter("count")
_PRODUCT_ID = itemgetter("product_id")
#: apply() folds its groups every this many events, while the events are still in the CPU's cache (the
#: fold reads them again); measured with ``liveloop bench live-metrics``.
_CHUNK = 1000


def _drop(_: Fields) -> None:
    """The adder of the kinds apply() does not count."""


class _Adders(dict[str, Callable[[Fields], None]]):
    """Event kind -> the ``append`` of its group (:data:`~.live_state.GROUPS`); other kinds -> a no-op,
    without being added (so ``in`` still tells the counted kinds): one subscript per event."""

    __slots__ = ()

    def __missing__(self, kind: str) -> Callable[[Fields], None]:
        return _drop


class ShowAggregate(PendingShow):
    """One live show's pending deltas on this node, fed by :meth:`apply`. Not thread-safe."""

    # -- the hot path ------------------------------------------------------------------------------

    def apply(self, events: Iterable[Event]) -> None:
        """Fold ``events`` (of this show, in order) into the pending deltas."""
        groups: list[list[Fields]] = [[] for _ in range(RARE + 1)]
        add = _Adders({kind: groups[group].append for kind, group in GROUPS.items()})
        lo, hi, cur, whole = self._lo, self._hi, self._cur, self._whole
        seq = events if isinstance(events, list) else list(events)
        for begin in range(0, len(seq), _CHUNK):
            for e in seq[begin : begin + _CHUNK]:
                f: Fields = e.__dict__  # see Fields
                at = f["at"]
                if lo <= at < hi:
                    add[f["type"]](f)
                    continue
                kind = f["type"]
                if kind not in add:
                    continue
                self._fold(groups, cur, whole)  # the events of the minute so far go first
                found = self._locate(at)
                if found is None:
                    if kind == LEFT:  # a session that ended after the show may have overlapped it
                        self._sessions([f], None, None)
                    continue
                lo, hi, cur, whole = found
                add[kind](f)
            self._fold(groups, cur, whole)  # while the chunk's events are still in the CPU cache
        self._lo, self._hi, self._cur, self._whole = lo, hi, cur, whole
        self.touched = True  # cheaper than tracking whether any event counted: a drain of nothing is cheap

    def _fold(self, groups: list[list[Fields]], minute: Minute, whole: int | None) -> None:
        """Fold one minute's groups (see :data:`~.live_state.GROUPS`) and empty them. ``whole``: the
        minute's start (ms after the show's) when it is a whole calendar minute inside the show."""
        likes, comments, exposures, clicks, shares, votes, follows, questions, sessions, rare = groups
        t, ms, sets = self._t, minute.sums, self._sets
        interacting = sets["interacting"].new  # likers, commenters, sharers join it at the drain
        if likes:
            n = sum(map(_COUNT, map(_DATA, likes)))
            t[T_LIKES] += n
            ms[M_LIKES] += n
            sets["liking"].new += map(_ACTOR, likes)
            likes.clear()
        if comments:
            t[T_COMMENTS] += len(comments)
            ms[M_COMMENTS] += len(comments)
            sets["commenting"].new += map(_ACTOR, comments)
            comments.clear()
        if exposures:
            t[T_EXPOSURES] += len(exposures)
            self._product_signals(exposures, self._exposed, sets["exposure"], minute.exposure)
            exposures.clear()
        if clicks:
            t[T_CLICKS] += len(clicks)
            self._product_signals(clicks, self._clicked, sets["click"], minute.click)
            clicks.clear()
        if shares:
            t[T_SHARES] += len(shares)
            ms[M_SHARES] += len(shares)
            sets["sharing"].new += map(_ACTOR, shares)
            shares.clear()
        for group, total, field in ((votes, T_VOTES, M_VOTES), (follows, T_FOLLOWS, M_FOLLOWS)):
            if group:
                t[total] += len(group)
                ms[field] += len(group)
                interacting.extend(map(_ACTOR, group))
                group.clear()
        if questions:
            t[T_QUESTIONS] += len(questions)
            interacting.extend(map(_ACTOR, questions))
            questions.clear()
        if sessions:
            self._sessions(sessions, minute, whole)
            sessions.clear()
        if rare:
            for e in rare:
                self._rare(e, minute)
            rare.clear()

    def _product_signals(
        self, events: list[Fields], members: ProductMembers, show: Seen, minute: Seen
    ) -> None:
        """Exposures or clicks: the members of the product (whose count is how many it gained, taken
        at the drain), the show and the minute."""
        actors = list(map(_ACTOR, events))
        show.new += actors
        minute.new += actors
        # Each actor to its product's members, in C (the lists are looked up before any is appended to).
        lists = list(map(members.__getitem__, map(_PRODUCT_ID, map(_DATA, events))))
        any(map(list.append, lists, actors))

    def _sessions(self, events: list[Fields], minute: Minute | None, whole: int | None) -> None:
        """Entries and leaves of one minute (None: leaves after the show's end), in order. See the
        module docstring for how a leave closes its session. An entry does only what must be done in
        order (opening its session); its counts and members are folded after the loop, and so are the
        leaves' sums."""
        start, end = self._start, self._end_rel
        opened, watched = self._open, self._watched
        rels: list[int] = []  # the entries' times
        by_source: defaultdict[str | None, list[str | None]] = defaultdict(list)  # their viewers
        early: list[str] = []  # leaves of viewers in the room when the show started
        open_ms = watch = outs = quick = 0  # of the leaves
        for e in events:
            at = e["at"]
            # In a whole minute, an event's offset is its second and microsecond (no epoch arithmetic).
            rel = epoch_ms(at) - start if whole is None else whole + at.second * 1000 + at.microsecond // 1000
            if e["type"] == ENTERED:
                if whole is None:
                    rel = self._clamp(rel)
                actor = e["actor"]
                opened[actor] = rel  # an event without an actor: a None key, never paired
                rels.append(rel)
                by_source[e["data"].get("source")].append(actor)
                continue
            data = e["data"]
            lasted = round(data["watch_seconds"] * 1000)
            began = rel - lasted
            if rel < -GRACE_MS or (end is not None and began >= end):
                continue  # the session ended before the show or began after it: not this show's
            viewer: str = e["actor"] or data.get("viewer_id")  # no cast(): a call per leave
            clamped = began if began > 0 else 0  # began < end here
            entry = opened.pop(viewer, None)
            if entry is not None and -PAIRING_MS <= entry - clamped <= PAIRING_MS:
                open_ms += entry
            elif began >= -GRACE_MS:  # entered on another node (or the entry here was an older
                open_ms += clamped  # session's, which left through another node)
            else:  # in the room when the show started: an entry at the start
                early.append(viewer)
            seen = (rel if end is None or rel < end else end) - clamped
            if seen > 0:  # capped so that the viewer's total stays within the show so far
                before = watched.get(viewer, 0)
                room = (rel if end is None else end) - before
                if seen > room:
                    seen = room if room > 0 else 0
                watched[viewer] = before + seen
                watch += seen
            outs += 1
            if lasted < QUICK_EXIT_MS:
                quick += 1
        t, uv = self._t, self._sets["uv"].new
        ins, pv = len(rels), len(early)
        if ins:
            self._entries += rels  # in place (see PendingShow._attribute)
            for name, actors in by_source.items():
                source = self._source(name)
                source.entries += len(actors)
                source.viewers.new += actors
                uv += actors
        if pv:
            self._minute(0).sums[M_IN] += pv
            uv += early
        t[T_PV] += pv + ins
        t[T_OPEN] += ins - (outs - pv)  # a leave closes an open session unless it entered at the start
        t[T_OPEN_MS] += sum(rels) - open_ms
        t[T_WATCH] += watch
        t[T_SESSIONS] += outs
        t[T_QUICK] += quick
        if minute is not None:
            minute.sums[M_IN] += ins
            minute.sums[M_OUT] += outs

    def _source(self, name: str | None) -> Source:
        """The entry source ``name`` (none or empty: ``other``)."""
        name = name or "other"
        source = self._sources.get(name)
        if source is None:
            source = self._sources[name] = Source()
        return source

    def _rare(self, e: Fields, cur: Minute) -> None:
        """Orders, refunds, coupons, carts, explain changes, show lifecycle: few, so event by event."""
        t, data, kind = self._t, e["data"], e["type"]
        if kind == "order.created" or kind == "order.paid":
            product = self._product(data["product_id"])
            buyer: str = data.get("buyer") or e["actor"]
            if kind == "order.created":
                t[T_ORDERS] += 1
                cur.sums[M_ORDERS] += 1
                product.sums[P_ORDERS] += 1
                self._mark(buyer, "order")
                product.order.new.append(buyer)
            else:
                amount = data["amount_cents"]
                t[T_PAID] += 1
                t[T_GMV] += amount
                cur.sums[M_PAID] += 1
                cur.sums[M_GMV] += amount
                product.sums[P_PAID] += 1
                product.sums[P_GMV] += amount
                self._mark(buyer, "paid")
                product.paid.new.append(buyer)
        elif kind == "order.refunded":
            t[T_REFUNDS] += data["amount_cents"]
        elif kind == "coupon.redeemed":
            t[T_COUPONS] += data["discount_cents"]
        elif kind == "cart.added":
            t[T_CARTS] += 1
            self._product(data["product_id"]).sums[P_CARTS] += data.get("quantity", 1)
        elif kind == "showcase.explaining":
            at = epoch_ms(e["at"])
            product_id = data.get("product_id")
            value = NO_PRODUCT if product_id is None else int(product_id)
            self._explain_new[str(at)] = value
            self._learn_segment(at, value)
        else:  # show.started, show.ended, show.cancelled
            self.lifecycle_seen = True
