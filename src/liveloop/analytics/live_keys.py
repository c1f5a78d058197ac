"""Where a show's live metrics live in Counters: one place, so every node writes and reads the same keys.

Per show ``S`` (prefix ``metrics:show:S``):

- ``:sums`` an integer hash: show totals (``pv``, ``comments``, ...), per minute ``m<i>:<name>``
  (``i`` = calendar minutes since the show's start minute), per product ``p<id>:<name>``, per entry
  source ``src:<source>``; nodes add their deltas with ``hincr_many``. ``pcu`` and ``m<i>:max_ccu``
  are maxima (``hmax_many``) of the global open-session count sampled after each flush.
- ``:explain`` an integer hash of explain segments: field = the segment's start (epoch ms), value =
  the product id, or ``NO_PRODUCT`` when the host stopped explaining.
- ``:d:<name>`` distinct sets (HyperLogLog on Redis): ``uv``, ``commenting``, ... and
  ``p<id>:exposure``, ``m<i>:click``, ``src:<source>`` ...
- ``:rebuild`` how many nodes tried to claim the show's rebuild after a restart (the first wins).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DISTINCT",
    "METRICS_TTL_SECONDS",
    "MINUTE_DISTINCT",
    "MINUTE_FIELDS",
    "NO_PRODUCT",
    "PRODUCT_DISTINCT",
    "PRODUCT_FIELDS",
    "TOTAL_FIELDS",
    "ShowKeys",
]

#: Live metrics are a cache for the show and the days after it; the review reads the event store.
METRICS_TTL_SECONDS = 7 * 86400.0

#: The value of an explain segment during which nothing was explained.
NO_PRODUCT = -1

#: Show totals, in the order of :class:`~liveloop.analytics.live_aggregate.ShowAggregate`'s list.
#: ``open``/``open_ms``: sessions entered and not yet left, and the sum of their entry times (ms after
#: the start), so open sessions' watch time is ``open * t - open_ms`` without a scan.
TOTAL_FIELDS = (
    "pv",
    "open",
    "open_ms",
    "watch_ms",
    "sessions",
    "quick_exits",
    "comments",
    "likes",
    "shares",
    "follows",
    "votes",
    "questions",
    "exposures",
    "clicks",
    "cart_adds",
    "orders",
    "paid_orders",
    "gmv_cents",
    "refund_cents",
    "coupon_cost_cents",
)

MINUTE_FIELDS = (
    "entries",
    "leaves",
    "comments",
    "likes",
    "shares",
    "votes",
    "follows",
    "orders",
    "paid_orders",
    "gmv_cents",
)

PRODUCT_FIELDS = ("exposures", "clicks", "cart_adds", "orders", "paid_orders", "gmv_cents", "explained_pv")

#: Show-level distinct sets.
DISTINCT = (
    "uv",
    "commenting",
    "liking",
    "sharing",
    "interacting",
    "exposure",
    "click",
    "order",
    "paid",
)
PRODUCT_DISTINCT = ("exposure", "click", "order", "paid")
MINUTE_DISTINCT = ("exposure", "click")


@dataclass(frozen=True, slots=True)
class ShowKeys:
    show_id: int

    @property
    def prefix(self) -> str:
        return f"metrics:show:{self.show_id}"

    @property
    def sums(self) -> str:
        return f"{self.prefix}:sums"

    @property
    def explain(self) -> str:
        return f"{self.prefix}:explain"

    def distinct(self, name: str) -> str:
        return f"{self.prefix}:d:{name}"

    @property
    def rebuild(self) -> str:
        """A counter a node increments to claim the show's rebuild from the event store (live_rebuild)."""
        return f"{self.prefix}:rebuild"
