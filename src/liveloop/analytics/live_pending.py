"""What a show's aggregate holds between flushes, where its window is, and handing it over.

:class:`PendingShow` is the state half of :class:`~liveloop.analytics.live_aggregate.ShowAggregate`:
the show's window and minutes, the pending sums and new distinct members, the explain segments it
knows, and :meth:`PendingShow.drain`, which turns all that into a :class:`ShowDelta` for the flush.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from datetime import UTC, datetime

from liveloop.analytics.live_delta import ShowDelta
from liveloop.analytics.live_keys import DISTINCT, MINUTE_FIELDS, NO_PRODUCT, PRODUCT_FIELDS, TOTAL_FIELDS
from liveloop.analytics.live_state import (
    ATTRIBUTION_DELAY_MS,
    GRACE_MS,
    MINUTE_MS,
    P_CLICKS,
    P_EXPOSURES,
    P_XPV,
    Minute,
    Product,
    ProductMembers,
    Products,
    Seen,
    Source,
    at_ms,
    epoch_ms,
    take_new,
    take_sums,
)

__all__ = ["PendingShow"]

_EMPTY_RANGE = datetime(1970, 1, 1, tzinfo=UTC)
#: Sets whose members are all interacting viewers. apply() does not add their members to
#: ``interacting``; the drain adds those it sees for the first time: a member seen before is in
#: ``interacting`` already (it was added the drain it was first seen).
_INTERACTIONS = ("commenting", "liking", "sharing")


class PendingShow:
    """One show's state on this node between flushes. Use from one thread; not thread-safe."""

    def __init__(self, show_id: int, *, started_at: datetime, ended_at: datetime | None = None) -> None:
        self.show_id = show_id
        self._t = [0] * len(TOTAL_FIELDS)
        self._minutes: dict[int, Minute] = {}
        self._products = Products()
        self._exposed = ProductMembers(self._products, "exposure")
        self._clicked = ProductMembers(self._products, "click")
        self._sources: dict[str, Source] = {}
        self._sets = {name: Seen() for name in DISTINCT}  # show-level distinct sets
        self._open: dict[str, int] = {}  # viewer -> entry (ms after start) of sessions entered here
        self._watched: dict[str, int] = {}  # viewer -> watch ms counted here (for the cap)
        self._entries: list[int] = []  # entry times (ms after start) not yet attributed to a product
        self._segments: dict[int, int] = {}  # explain segment start (epoch ms) -> product or NO_PRODUCT
        self._seg_starts: list[int] = []
        self._seg_products: list[int] = []
        self._explain_new: dict[str, int] = {}
        self._lo = self._hi = _EMPTY_RANGE
        self._cur = Minute()
        self._whole: int | None = None
        #: Events were applied (or work is pending) since the last drain.
        self.touched = False
        #: A show.started/ended/cancelled event was seen: the caller should re-read the window.
        self.lifecycle_seen = False
        self.set_window(started_at=started_at, ended_at=ended_at)

    # -- the show's window -----------------------------------------------------------------------

    def set_window(self, *, started_at: datetime, ended_at: datetime | None) -> None:
        self.started_at, self.ended_at = started_at, ended_at
        self._start = epoch_ms(started_at)
        self._end_rel = None if ended_at is None else max(epoch_ms(ended_at) - self._start, 0)
        self._base_minute = self._start // MINUTE_MS
        self._lo = self._hi = _EMPTY_RANGE  # the next event places itself again

    def minute_index(self, at: datetime) -> int:
        """The minute (0 = the show's start minute) ``at`` falls in, clamped into the show."""
        return self._index(self._clamp(epoch_ms(at) - self._start))

    def _clamp(self, rel: int) -> int:
        if rel < 0:
            return 0
        end = self._end_rel
        return rel if end is None or rel <= end else end

    def _index(self, rel: int) -> int:
        return (self._start + rel) // MINUTE_MS - self._base_minute

    def _minute(self, index: int) -> Minute:
        minute = self._minutes.get(index)
        if minute is None:
            minute = self._minutes[index] = Minute()
        return minute

    def _locate(self, at: datetime) -> tuple[datetime, datetime, Minute, int | None] | None:
        """The minute of an event at ``at``: the bounds of the times that fall in it, the minute, and
        the start of the minute (ms after the show's start) when it is a whole calendar minute inside
        the show (then an event's offset is its second and microsecond within the minute). None when
        ``at`` is outside the show and its grace."""
        rel = epoch_ms(at) - self._start
        end = self._end_rel
        if rel < -GRACE_MS or (end is not None and rel > end + GRACE_MS):
            return None
        index = self._index(self._clamp(rel))
        lo = (self._base_minute + index) * MINUTE_MS
        hi = lo + MINUTE_MS
        whole: int | None = lo - self._start
        if index == 0:
            lo, whole = self._start - GRACE_MS, None
        if end is not None and index == self._index(end):
            hi, whole = self._start + end + GRACE_MS + 1, None
        return at_ms(lo), at_ms(hi), self._minute(index), whole

    def _product(self, product_id: int) -> Product:
        return self._products[product_id]

    def _mark(self, viewer: str | None, name: str) -> None:
        self._sets[name].new.append(viewer)

    # -- explain segments ---------------------------------------------------------------------------

    def merge_segments(self, segments: Mapping[int, int]) -> None:
        """Learn explain segments (start epoch ms -> product id or ``NO_PRODUCT``), e.g. other nodes'."""
        known = self._segments
        if all(known.get(start) == value for start, value in segments.items()):
            return
        known.update(segments)
        self._seg_starts = sorted(known)
        self._seg_products = [known[start] for start in self._seg_starts]

    def _learn_segment(self, start: int, value: int) -> None:
        """:meth:`merge_segments` of one segment; a segment after every known one (the usual case: the
        host's explain changes come in order) is appended rather than re-sorting them all."""
        known, starts = self._segments, self._seg_starts
        if start in known or (starts and start <= starts[-1]):
            self.merge_segments({start: value})
            return
        known[start] = value
        starts.append(start)
        self._seg_products.append(value)

    def explained_at(self, at: int) -> int | None:
        """The product explained at ``at`` (epoch ms), if any."""
        i = bisect_right(self._seg_starts, at) - 1
        if i < 0 or self._seg_products[i] == NO_PRODUCT:
            return None
        return self._seg_products[i]

    def open_sessions(self) -> dict[str, datetime]:
        """The viewers whose entry this node folded and whose leave it has not, with the entry's time
        (clamped into the show)."""
        start = self._start
        return {viewer: at_ms(start + rel) for viewer, rel in self._open.items() if viewer is not None}

    # -- handing over -------------------------------------------------------------------------------

    def drain(self, now: datetime, *, final: bool = False) -> ShowDelta:
        """Take the pending deltas (and reset them). Entries younger than the attribution delay stay
        pending unless ``final``."""
        self._attribute(epoch_ms(now), final=final)
        delta = ShowDelta()
        sums, distinct = delta.sums, delta.distinct
        take_sums(sums, "", TOTAL_FIELDS, self._t)
        sets = self._sets
        for name in DISTINCT:
            if name != "interacting":
                fresh = take_new(distinct, name, sets[name])
                if name in _INTERACTIONS:
                    sets["interacting"].new += fresh
        take_new(distinct, "interacting", sets["interacting"])
        for name, source in self._sources.items():
            if source.entries:
                sums[f"src:{name}"] = source.entries
                source.entries = 0
            take_new(distinct, f"src:{name}", source.viewers)
        for index, minute in self._minutes.items():
            take_sums(sums, f"m{index}:", MINUTE_FIELDS, minute.sums)
            take_new(distinct, f"m{index}:exposure", minute.exposure)
            take_new(distinct, f"m{index}:click", minute.click)
        for product_id, product in self._products.items():
            # apply() appends a member per exposure and click (see ShowAggregate._product_signals).
            product.sums[P_EXPOSURES] += len(product.exposure.new)
            product.sums[P_CLICKS] += len(product.click.new)
            take_sums(sums, f"p{product_id}:", PRODUCT_FIELDS, product.sums)
            take_new(distinct, f"p{product_id}:exposure", product.exposure)
            take_new(distinct, f"p{product_id}:click", product.click)
            take_new(distinct, f"p{product_id}:order", product.order)
            take_new(distinct, f"p{product_id}:paid", product.paid)
        delta.explain, self._explain_new = self._explain_new, {}
        self._forget_old_minutes(self.minute_index(now))
        self.touched = bool(self._entries)
        return delta

    def _attribute(self, now: int, *, final: bool) -> None:
        """Count entries old enough (or all, when ``final``) for the product explained at the time:
        sorted, the entries of each explain segment are one slice (two bisections, no per-entry work)."""
        entries = self._entries
        if not entries:
            return
        entries.sort()
        ready = len(entries) if final else bisect_right(entries, now - self._start - ATTRIBUTION_DELAY_MS)
        starts, products = self._seg_starts, self._seg_products
        for i, product_id in enumerate(products):
            if product_id == NO_PRODUCT:
                continue
            lo = bisect_left(entries, starts[i] - self._start, 0, ready)
            hi = (
                ready
                if i + 1 == len(starts)
                else bisect_left(entries, starts[i + 1] - self._start, lo, ready)
            )
            if hi > lo:
                self._product(product_id).sums[P_XPV] += hi - lo
        del entries[:ready]  # in place: apply() may hold the list

    def _forget_old_minutes(self, current: int) -> None:
        """Drop the dedup sets of minutes long past (a late event there only re-sends a member)."""
        for index in [i for i in self._minutes if i < current - 1]:
            if self._minutes[index] is not self._cur:
                del self._minutes[index]
