"""ShowAggregate: one show's live metrics on this node, updated incrementally from the event stream.

Pure and synchronous: :meth:`ShowAggregate.apply` folds a batch of events into pending deltas (sums,
new members of distinct sets) and :meth:`ShowAggregate.drain` hands them over for the flush to
Counters, where every node's deltas add up to the global figures. The hot path reads the events'
attributes and ``data`` dicts directly (no payload validation), keeps its state in plain lists, sets
and dicts, and places an event in its minute by comparing its time with the current minute's bounds.

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

from collections.abc import Iterable
from typing import cast

from liveloop.analytics.live_keys import NO_PRODUCT
from liveloop.analytics.live_pending import PendingShow
from liveloop.analytics.live_state import (
    B_CLICK,
    B_COMMENTING,
    B_EXPOSURE,
    B_INTERACTING,
    B_LIKING,
    B_ORDER,
    B_PAID,
    B_SHARING,
    B_UV,
    CART,
    CLICKED,
    CODES,
    COMMENT,
    COUPON,
    ENTERED,
    EXPLAINING,
    EXPOSED,
    FOLLOW,
    GRACE_MS,
    LEFT,
    LIFECYCLE,
    LIKE,
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
    ORDER_CREATED,
    P_CARTS,
    P_CLICKS,
    P_EXPOSURES,
    P_GMV,
    P_ORDERS,
    P_PAID,
    PAIRING_MS,
    QUESTION,
    QUICK_EXIT_MS,
    REFUNDED,
    SHARE,
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
    VOTE,
    Minute,
    Product,
    Source,
    epoch_ms,
)
from liveloop.core.events import Event

__all__ = ["ShowAggregate"]

_LIKE_BITS = B_LIKING | B_INTERACTING
_COMMENT_BITS = B_COMMENTING | B_INTERACTING
_SHARE_BITS = B_SHARING | B_INTERACTING


class ShowAggregate(PendingShow):
    """One live show's pending deltas on this node, fed by :meth:`apply`. Not thread-safe."""

    # -- the hot path ------------------------------------------------------------------------------

    def apply(self, events: Iterable[Event]) -> None:
        """Fold ``events`` (of this show, in order) into the pending deltas."""
        codes = CODES
        t = self._t
        lo, hi, cur, whole = self._lo, self._hi, self._cur, self._whole
        ms = cur.sums
        flags, new = self._flags, self._new
        uv_new, inter_new = new["uv"], new["interacting"]
        liking_new, commenting_new, sharing_new = new["liking"], new["commenting"], new["sharing"]
        exposure_new, click_new = new["exposure"], new["click"]
        products, sources, opened, entries = self._products, self._sources, self._open, self._entries
        start = self._start
        for e in events:
            code = codes.get(e.type)
            if code is None:
                continue
            at = e.at
            if not lo <= at < hi:
                found = self._locate(at)
                if found is None:
                    if code == LEFT:  # a session that ended after the show may have overlapped it
                        self._left(e, epoch_ms(at) - start, None)
                    continue
                lo, hi, cur, whole = found
                ms = cur.sums
            a: str = e.actor  # type: ignore[assignment]  # None is dropped at drain
            if code == LIKE:
                n = e.data["count"]
                t[T_LIKES] += n
                ms[M_LIKES] += n
                f = flags.get(a, 0)
                if f & _LIKE_BITS != _LIKE_BITS:
                    flags[a] = f | _LIKE_BITS
                    if not f & B_LIKING:
                        liking_new.append(a)
                    if not f & B_INTERACTING:
                        inter_new.append(a)
            elif code == COMMENT:
                t[T_COMMENTS] += 1
                ms[M_COMMENTS] += 1
                f = flags.get(a, 0)
                if f & _COMMENT_BITS != _COMMENT_BITS:
                    flags[a] = f | _COMMENT_BITS
                    if not f & B_COMMENTING:
                        commenting_new.append(a)
                    if not f & B_INTERACTING:
                        inter_new.append(a)
            elif code == EXPOSED:
                pid = e.data["product_id"]
                product = products.get(pid)
                if product is None:
                    product = products[pid] = Product()
                t[T_EXPOSURES] += 1
                product.sums[P_EXPOSURES] += 1
                f = flags.get(a, 0)
                if not f & B_EXPOSURE:
                    flags[a] = f | B_EXPOSURE
                    exposure_new.append(a)
                s = product.exposure
                if a not in s.seen:
                    s.seen.add(a)
                    s.new.append(a)
                s = cur.exposure
                if a not in s.seen:
                    s.seen.add(a)
                    s.new.append(a)
            elif code == ENTERED:
                if whole is None:
                    rel = self._clamp(epoch_ms(at) - start)
                else:
                    rel = whole + at.second * 1000 + at.microsecond // 1000
                t[T_PV] += 1
                t[T_OPEN] += 1
                t[T_OPEN_MS] += rel
                ms[M_IN] += 1
                f = flags.get(a, 0)
                if not f & B_UV:
                    flags[a] = f | B_UV
                    uv_new.append(a)
                opened[a] = rel
                entries.append(rel)
                name = e.data.get("source") or "other"
                source = sources.get(name)
                if source is None:
                    source = sources[name] = Source()
                source.entries += 1
                s = source.viewers
                if a not in s.seen:
                    s.seen.add(a)
                    s.new.append(a)
            elif code == LEFT:
                if whole is None:
                    rel = epoch_ms(at) - start
                else:
                    rel = whole + at.second * 1000 + at.microsecond // 1000
                self._left(e, rel, cur)
            elif code == CLICKED:
                pid = e.data["product_id"]
                product = products.get(pid)
                if product is None:
                    product = products[pid] = Product()
                t[T_CLICKS] += 1
                product.sums[P_CLICKS] += 1
                f = flags.get(a, 0)
                if not f & B_CLICK:
                    flags[a] = f | B_CLICK
                    click_new.append(a)
                s = product.click
                if a not in s.seen:
                    s.seen.add(a)
                    s.new.append(a)
                s = cur.click
                if a not in s.seen:
                    s.seen.add(a)
                    s.new.append(a)
            elif code <= QUESTION:  # share, vote, follow, question: all interactions
                bits = B_INTERACTING
                if code == SHARE:
                    t[T_SHARES] += 1
                    ms[M_SHARES] += 1
                    bits = _SHARE_BITS
                elif code == VOTE:
                    t[T_VOTES] += 1
                    ms[M_VOTES] += 1
                elif code == FOLLOW:
                    t[T_FOLLOWS] += 1
                    ms[M_FOLLOWS] += 1
                else:
                    t[T_QUESTIONS] += 1
                f = flags.get(a, 0)
                if f & bits != bits:
                    flags[a] = f | bits
                    if bits & B_SHARING and not f & B_SHARING:
                        sharing_new.append(a)
                    if not f & B_INTERACTING:
                        inter_new.append(a)
            else:
                self._rare(code, e, cur)
        self._lo, self._hi, self._cur, self._whole = lo, hi, cur, whole
        self.touched = True  # cheaper than tracking whether any event counted: a drain of nothing is cheap

    def _rare(self, code: int, e: Event, cur: Minute) -> None:
        """Orders, refunds, coupons, carts, explain changes, show lifecycle: few, so off the hot loop."""
        t, data = self._t, e.data
        if code == ORDER_CREATED:
            product = self._product(data["product_id"])
            buyer = cast(str, data.get("buyer") or e.actor)
            t[T_ORDERS] += 1
            cur.sums[M_ORDERS] += 1
            product.sums[P_ORDERS] += 1
            self._mark(buyer, B_ORDER, "order")
            if buyer not in product.order.seen:
                product.order.seen.add(buyer)
                product.order.new.append(buyer)
        elif code > ORDER_CREATED and code < REFUNDED:  # order.paid
            product = self._product(data["product_id"])
            buyer = cast(str, data.get("buyer") or e.actor)
            amount = data["amount_cents"]
            t[T_PAID] += 1
            t[T_GMV] += amount
            cur.sums[M_PAID] += 1
            cur.sums[M_GMV] += amount
            product.sums[P_PAID] += 1
            product.sums[P_GMV] += amount
            self._mark(buyer, B_PAID, "paid")
            if buyer not in product.paid.seen:
                product.paid.seen.add(buyer)
                product.paid.new.append(buyer)
        elif code == REFUNDED:
            t[T_REFUNDS] += data["amount_cents"]
        elif code == COUPON:
            t[T_COUPONS] += data["discount_cents"]
        elif code == CART:
            t[T_CARTS] += 1
            self._product(data["product_id"]).sums[P_CARTS] += data.get("quantity", 1)
        elif code == EXPLAINING:
            at = epoch_ms(e.at)
            product_id = data.get("product_id")
            value = NO_PRODUCT if product_id is None else int(product_id)
            self._explain_new[str(at)] = value
            self.merge_segments({at: value})
        elif code == LIFECYCLE:
            self.lifecycle_seen = True

    def _left(self, e: Event, rel: int, minute: Minute | None) -> bool:
        """Close a session that ended ``rel`` ms after the start (see the module docstring); a leave
        of ``minute`` unless None (after the end). False when the session is not this show's."""
        data = e.data
        lasted = round(data["watch_seconds"] * 1000)
        began = rel - lasted
        end = self._end_rel
        if rel < -GRACE_MS or (end is not None and began >= end):
            return False  # the session ended before the show or began after it
        viewer = cast(str, e.actor or data.get("viewer_id"))
        t = self._t
        entry = self._open.pop(viewer, None)
        if entry is not None and abs(entry - self._clamp(began)) > PAIRING_MS:
            entry = None  # an older session's entry here: that session left through another node
        if entry is None and began >= -GRACE_MS:
            entry = self._clamp(began)  # entered on another node
        if entry is not None:
            t[T_OPEN] -= 1
            t[T_OPEN_MS] -= entry
        else:  # in the room when the show started: an entry at the start
            t[T_PV] += 1
            self._minute(0).sums[M_IN] += 1
            self._mark(viewer, B_UV, "uv")
        upto = rel if end is None or rel < end else end
        watched = upto - (began if began > 0 else 0)
        if watched > 0:
            before = self._watched.get(viewer, 0)
            room = (end if end is not None else rel) - before
            if watched > room:
                watched = room if room > 0 else 0
            self._watched[viewer] = before + watched
            t[T_WATCH] += watched
        t[T_SESSIONS] += 1
        if lasted < QUICK_EXIT_MS:
            t[T_QUICK] += 1
        if minute is not None:
            minute.sums[M_OUT] += 1
        self.touched = True
        return True
