"""A show's recent metrics snapshots, kept by the alert engine to see what changed over a window.

The metrics snapshot's minute buckets hold room-level figures only, and its products and funnel
totals are cumulative since the show started. So the engine records, at every evaluation, the
cumulative counts it needs and reads a trailing window as the difference between now and the
newest sample at least that old.

Approximation (documented): a difference of cumulative *distinct* counts is the number of viewers
first exposed (first clicking, first paying) inside the window. A viewer exposed before the window
who clicks inside it adds a click but no exposure, so a window CTR can read a little high; with
Redis the distinct counts are HyperLogLog estimates (about 0.8% error each). The window covers
between ``window`` and ``window + one evaluation interval``; its real span is reported in the
alert's figures. When the show started inside the window, the base is the show's start (all zero),
which is exact. When the engine has watched the show for less than the window (it just started, or
took over from another node), the window is unknown and the rules that need it wait.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from liveloop.analytics.alert_model import FunnelWindow, ProductWindow

__all__ = ["Sample", "ShowHistory", "parse_time"]


def parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


@dataclass(frozen=True, slots=True)
class Sample:
    at: datetime
    click_uv: int
    paid_uv: int
    #: product id -> (exposure UV, click UV), cumulative since the show started
    products: Mapping[int, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, snapshot: Mapping[str, Any]) -> Sample:
        at = parse_time(snapshot.get("as_of"))
        if at is None:
            raise ValueError("a metrics snapshot needs as_of")
        totals = snapshot.get("totals") or {}
        products = {
            int(p["product_id"]): (_int(p.get("exposure_uv")), _int(p.get("click_uv")))
            for p in snapshot.get("products") or ()
            if isinstance(p.get("product_id"), int)
        }
        return cls(
            at=at,
            click_uv=_int(totals.get("click_uv")),
            paid_uv=_int(totals.get("paid_uv")),
            products=products,
        )


class ShowHistory:
    """The samples of one show, oldest first, pruned to what the longest window needs."""

    def __init__(self, *, started_at: datetime | None) -> None:
        self.started_at = started_at
        self._samples: deque[Sample] = deque()

    def __len__(self) -> int:
        return len(self._samples)

    def record(self, snapshot: Mapping[str, Any], *, keep: timedelta) -> Sample:
        """Add the snapshot's sample; drop samples no window of length ``keep`` can start from."""
        sample = Sample.of(snapshot)
        started = parse_time(snapshot.get("started_at"))
        if started is not None:
            self.started_at = started
        if self._samples and sample.at <= self._samples[-1].at:
            # The same (or an older) snapshot again: the newest view of that instant wins.
            self._samples.pop()
        self._samples.append(sample)
        cutoff = sample.at - keep
        # Keep the newest sample at or before the cutoff: it is the base of the longest window.
        while len(self._samples) >= 2 and self._samples[1].at <= cutoff:
            self._samples.popleft()
        return sample

    def _base(self, now: datetime, window: timedelta) -> Sample | None:
        start = now - window
        base: Sample | None = None
        for sample in self._samples:
            if sample.at > start:
                break
            base = sample
        if base is None and self.started_at is not None and self.started_at >= start:
            return Sample(at=self.started_at, click_uv=0, paid_uv=0)
        return base

    def product_window(self, product_id: int, window: timedelta) -> ProductWindow | None:
        """What ``product_id`` gained over the trailing ``window``; None when the history is shorter."""
        if not self._samples:
            return None
        last = self._samples[-1]
        base = self._base(last.at, window)
        if base is None:
            return None
        exposed_now, clicked_now = last.products.get(product_id, (0, 0))
        exposed_then, clicked_then = base.products.get(product_id, (0, 0))
        return ProductWindow(
            product_id=product_id,
            minutes=(last.at - base.at).total_seconds() / 60,
            exposures=max(0, exposed_now - exposed_then),
            clicks=max(0, clicked_now - clicked_then),
        )

    def funnel_window(self, window: timedelta) -> FunnelWindow | None:
        """Click UV and paid UV gained over the trailing ``window``; None when the history is shorter."""
        if not self._samples:
            return None
        last = self._samples[-1]
        base = self._base(last.at, window)
        if base is None:
            return None
        return FunnelWindow(
            minutes=(last.at - base.at).total_seconds() / 60,
            clicks=max(0, last.click_uv - base.click_uv),
            paid=max(0, last.paid_uv - base.paid_uv),
        )
