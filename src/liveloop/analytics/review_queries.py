"""ReviewQueries: the review's SQL run against one show's window in the event store, rows parsed.

One method per statement of :mod:`liveloop.analytics.review_sql`; each returns plain Python values
(``int``/``float``, whatever numeric type the engine answered: PostgreSQL sums are ``Decimal``).
The metric arithmetic on top (ratios, carrying CCU over quiet minutes, deciles) is in
:mod:`liveloop.analytics.review`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from liveloop.analytics import review_sql as q
from liveloop.core.eventstore import EventStore

#: One microsecond: the resolution of ``at`` in both engines (closes half-open segments at the end).
TICK = timedelta(microseconds=1)


def num(value: Any) -> int:
    return int(value or 0)


def real(value: Any) -> float:
    return float(value or 0.0)


@dataclass(frozen=True, slots=True)
class ShowSpan:
    """A show's window for :data:`review_sql.SESSIONS`: events up to ``limit`` are read."""

    show_id: int
    start: datetime
    end: datetime
    limit: datetime


@dataclass(frozen=True, slots=True)
class ViewerBucket:
    """Viewers of one show whose capped watch time is ``minute`` whole minutes, and their sums."""

    show_id: int
    minute: int
    uv: int
    entries: int
    early: int  # entries that were sessions begun before the show (counted in minute 0)
    sessions: int
    quick: int
    open: int
    watch_seconds: float


@dataclass(frozen=True, slots=True)
class CcuMinute:
    index: int
    max_ccu: int
    last_ccu: int
    entries: int
    leaves: int


@dataclass(frozen=True, slots=True)
class Tally:
    """Events of one type (in a minute, or for a product): how many, their cents, their quantity."""

    events: int = 0
    cents: int = 0
    quantity: int = 0
    viewers: int = 0


@dataclass(frozen=True, slots=True)
class Segment:
    """The host explained ``product_id`` (None: nothing) from ``start`` to ``end``."""

    product_id: int | None
    start: datetime
    end: datetime


class ReviewQueries:
    """The review's statements for one show: its events from ``start - grace`` to ``end + grace``.

    Callers may run the statements concurrently; at most :attr:`PARALLEL` run at a time (the DuckDB
    store has three reader threads, the PostgreSQL store a pool of six connections).
    """

    PARALLEL = 4

    def __init__(
        self, store: EventStore, *, show_id: int, start: datetime, end: datetime, grace: timedelta
    ) -> None:
        self.store = store
        self.dialect = q.DIALECTS[store.dialect]
        self.show_id = show_id
        self.start = start
        self.end = end
        self.grace = grace
        self.start_minute = start.replace(second=0, microsecond=0)
        self._slots = asyncio.Semaphore(self.PARALLEL)

    async def _run(self, template: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        async with self._slots:
            return await self.store.query(self.dialect.sql(template), params)

    async def rows(self, template: str, *extra: Any) -> list[tuple[Any, ...]]:
        """A *window* statement: ``$1..$3`` are the show and its widened window, then ``extra``."""
        d = self.dialect
        lo, hi = d.at(self.start - self.grace), d.at(self.end + self.grace)
        return await self._run(template, (self.show_id, lo, hi, *extra))

    @property
    def last_index(self) -> int:
        return max(0, math.floor((self.end - self.start_minute).total_seconds() / 60))

    def index_of(self, minute: datetime) -> int:
        """The show minute (0 = the start minute) of a truncated minute the engine returned."""
        index = math.floor((_aware(minute) - self.start_minute).total_seconds() / 60)
        return min(max(index, 0), self.last_index)

    def _minute_params(self) -> tuple[datetime, datetime]:
        d = self.dialect
        return d.at(self.start), d.at(self.end)

    async def sessions(self, spans: Sequence[ShowSpan], *, quick_seconds: float) -> list[ViewerBucket]:
        if not spans:
            return []
        d = self.dialect
        rows = await self._run(
            q.VIEWERS,
            (
                [s.show_id for s in spans],
                [d.at(s.start) for s in spans],
                [d.at(s.end) for s in spans],
                [d.at(s.limit) for s in spans],
                self.grace.total_seconds(),
                float(quick_seconds),
            ),
        )
        return [
            ViewerBucket(num(s), num(m), num(u), num(e), num(a), num(n), num(k), num(o), real(w))
            for s, m, u, e, a, n, k, o, w in rows
        ]

    async def shows_gmv(self, spans: Sequence[ShowSpan]) -> dict[int, int]:
        if not spans:
            return {}
        d = self.dialect
        params = (
            [s.show_id for s in spans],
            [d.at(s.start) for s in spans],
            [d.at(s.end) for s in spans],
            [d.at(s.limit) for s in spans],
            self.grace.total_seconds(),
        )
        return {num(s): num(g) for s, g in await self._run(q.SHOWS_GMV, params)}

    async def ccu(self) -> list[CcuMinute]:
        rows = await self.rows(q.CCU, *self._minute_params(), self.grace.total_seconds())
        out, level = [], 0
        for m, top, change, entered, left in rows:
            level += num(change)
            out.append(CcuMinute(self.index_of(m), num(top), level, num(entered), num(left)))
        return out

    async def sources(self) -> dict[str, int]:
        return {str(source): num(uv) for source, uv in await self.rows(q.SOURCES)}

    async def minute_counts(self) -> dict[int, dict[str, Tally]]:
        out: dict[int, dict[str, Tally]] = {}
        for m, kind, n, cents, quantity in await self.rows(q.MINUTE_COUNTS, *self._minute_params()):
            out.setdefault(self.index_of(m), {})[str(kind)] = Tally(num(n), num(cents), num(quantity))
        return out

    async def product_sales(self) -> dict[int, Tally]:
        return {num(p): Tally(num(n), num(cents)) for p, n, cents in await self.rows(q.PRODUCT_SALES)}

    async def type_viewers(self) -> dict[str, int]:
        (row,) = await self.rows(q.TYPE_VIEWERS)
        return dict(zip((*q.VIEWER_TYPES, "interacting"), map(num, row), strict=True))

    async def product_viewers(self) -> tuple[dict[int, dict[str, int]], dict[int, dict[str, int]]]:
        """Per minute: distinct viewers exposed and clicking; per product: distinct viewers of each
        of :data:`review_sql.PRODUCT_TYPES`."""
        by_minute: dict[int, dict[str, int]] = {}
        by_product: dict[int, dict[str, int]] = {}
        for minute_row, m, pid, *counts in await self.rows(q.PRODUCT_VIEWERS, *self._minute_params()):
            if num(minute_row):
                exposed, clicked = counts[:2]
                by_minute[self.index_of(m)] = {
                    "product.exposed": num(exposed),
                    "product.clicked": num(clicked),
                }
            else:
                by_product[num(pid)] = dict(zip(q.PRODUCT_TYPES, map(num, counts), strict=True))
        return by_minute, by_product

    async def segments(self) -> list[Segment]:
        """The explain segments in time order, clipped to the show; the last runs to the end."""
        marks = [
            (max(_aware(at), self.start), None if p is None else int(p))
            for at, p in await self.rows(q.EXPLAINING)
        ]
        if not marks:
            return []
        ends = [at for at, _ in marks[1:]] + [self.end]
        return [
            Segment(p, at, min(end, self.end)) for (at, p), end in zip(marks, ends, strict=True) if end > at
        ]

    async def explained_pv(self, segments: Sequence[Segment]) -> dict[int, int]:
        """Entries while each product was explained (segments are half-open; the last is closed)."""
        explained = [s for s in segments if s.product_id is not None]
        if not explained:
            return {}
        d = self.dialect
        ends = [s.end + TICK if s.end >= self.end else s.end for s in explained]
        rows = await self.rows(
            q.EXPLAINED_PV,
            d.at(self.start),
            [s.product_id for s in explained],
            [d.at(s.start) for s in explained],
            [d.at(e) for e in ends],
        )
        return {num(pid): num(n) for pid, n in rows}

    async def audience(self, *, shop_id: int) -> dict[bool, tuple[int, int, int]]:
        """returning? -> (uv, paid uv, GMV cents)."""
        rows = await self.rows(q.AUDIENCE, shop_id, self.dialect.at(self.start))
        return {bool(ret): (num(uv), num(paid), num(gmv)) for ret, uv, paid, gmv in rows}

    async def after_show(self, *, hours: int) -> tuple[int, int]:
        d = self.dialect
        since = self.end + self.grace
        rows = await self._run(
            q.AFTER_SHOW, (self.show_id, d.at(since), d.at(since + timedelta(hours=hours)))
        )
        count, gmv = rows[0]
        return num(count), num(gmv)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
