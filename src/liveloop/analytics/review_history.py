"""How a show ranks against the shop's earlier shows: percentile ranks of GMV, UV, GPM, avg watch.

Compared shows: the shop's ended shows that went live before this one and had viewers, each measured
with the same session rules and scope as the totals (:data:`review_sql.SESSIONS`). The percentile
rank of a value among n earlier values is ``100 * (below + equal / 2) / n``.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from liveloop.analytics.live_schema import Totals
from liveloop.analytics.review_models import HistoryFigure, HistoryRanking
from liveloop.analytics.review_queries import ReviewQueries, ShowSpan
from liveloop.rooms import ShowWindow


def percentile_rank(value: float | None, others: Sequence[float]) -> float | None:
    if value is None or not others:
        return None
    below = sum(1 for o in others if o < value)
    equal = sum(1 for o in others if o == value)
    return 100.0 * (below + equal / 2) / len(others)


def figure(value: float | None, others: Sequence[float]) -> HistoryFigure:
    return HistoryFigure(
        value=value,
        percentile=percentile_rank(value, others),
        median=statistics.median(others) if others else None,
    )


@dataclass(frozen=True, slots=True)
class PastShow:
    show_id: int
    uv: int
    pv: int
    watch_seconds: float
    gmv_cents: int


@dataclass(frozen=True, slots=True)
class History:
    past: list[PastShow]

    def rank(self, totals: Totals) -> HistoryRanking:
        past = self.past
        return HistoryRanking(
            compared_shows=len(past),
            gmv_cents=figure(totals.gmv_cents, [p.gmv_cents for p in past]),
            uv=figure(totals.uv, [p.uv for p in past]),
            gpm=figure(totals.gpm.value, [p.gmv_cents / p.pv * 1000 for p in past if p.pv]),
            avg_watch_seconds=figure(totals.avg_watch_seconds.value, [p.watch_seconds / p.uv for p in past]),
        )


async def get_history(
    queries: ReviewQueries,
    *,
    show: ShowWindow,
    as_of: datetime,
    quick_seconds: float,
    earlier: Sequence[ShowWindow],
) -> History:
    spans = [
        ShowSpan(w.show_id, w.started_at, w.ended_at, as_of)
        for w in earlier
        if w.show_id != show.show_id
        and w.shop_id == show.shop_id
        and w.started_at is not None
        and w.ended_at is not None
    ]
    buckets = await queries.sessions(spans, quick_seconds=quick_seconds)
    gmv = await queries.shows_gmv(spans)
    shows: dict[int, list[float]] = {}
    for b in buckets:
        uv, pv, watch = shows.setdefault(b.show_id, [0, 0, 0.0])
        shows[b.show_id] = [uv + b.uv, pv + b.entries, watch + b.watch_seconds]
    return History(
        [
            PastShow(show_id, int(uv), int(pv), watch, gmv.get(show_id, 0))
            for show_id, (uv, pv, watch) in sorted(shows.items())
            if uv > 0
        ]
    )
