"""The CTR a product being explained is compared with: the median over the shop's last 30 days.

One (show, product) pair counts when the product was explained in that show (a
``showcase.explaining`` event named it) and shown to at least one viewer; its CTR is the show's
product-click UV / product-exposure UV (METRICS.md). The current show is left out: it is the
fallback when the shop has no history. The query runs on the event store, once per show and then
at most every ``refresh_seconds``, never on the evaluation's hot path twice in a row.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog

from liveloop.analytics.alert_model import CtrBaseline, median
from liveloop.core.eventstore import EventStore

__all__ = ["BASELINE_SQL", "CtrBaselineSource", "EventStoreCtrBaseline"]

log = structlog.get_logger(__name__)

#: $1 shop id, $2 the window's start (text, UTC, ``YYYY-MM-DD HH:MM:SS``; both stores query in UTC),
#: $3 the show left out.
BASELINE_SQL = """
WITH explained AS (
    SELECT DISTINCT show_id, product_id
    FROM events
    WHERE shop_id = $1 AND type = 'showcase.explaining' AND "at" >= CAST(CAST($2 AS TEXT) AS TIMESTAMP)
      AND product_id IS NOT NULL AND show_id IS NOT NULL AND show_id <> $3
)
SELECT e.show_id, e.product_id,
       COUNT(DISTINCT CASE WHEN e.type = 'product.exposed' THEN e.viewer_id END) AS exposed,
       COUNT(DISTINCT CASE WHEN e.type = 'product.clicked' THEN e.viewer_id END) AS clicked
FROM events e
JOIN explained x ON x.show_id = e.show_id AND x.product_id = e.product_id
WHERE e.shop_id = $1 AND e."at" >= CAST(CAST($2 AS TEXT) AS TIMESTAMP)
  AND e.type IN ('product.exposed', 'product.clicked')
GROUP BY e.show_id, e.product_id
"""


class CtrBaselineSource(Protocol):
    async def baseline(self, shop_id: int, show_id: int, *, now: datetime, days: int) -> CtrBaseline | None:
        """The shop's median explained-product CTR over ``days`` before ``now``; None without history."""
        ...


@dataclass(slots=True)
class _Cached:
    value: CtrBaseline | None
    fetched: float


class EventStoreCtrBaseline:
    """:class:`CtrBaselineSource` over the event store, cached per show."""

    def __init__(
        self,
        store: EventStore,
        *,
        refresh_seconds: float = 600.0,
        timeout_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._refresh = refresh_seconds
        self._timeout = timeout_seconds
        self._clock = clock
        self._cache: dict[tuple[int, int], _Cached] = {}

    async def baseline(self, shop_id: int, show_id: int, *, now: datetime, days: int) -> CtrBaseline | None:
        key = (shop_id, show_id)
        cached = self._cache.get(key)
        if cached is not None and self._clock() - cached.fetched < self._refresh:
            return cached.value
        value = cached.value if cached is not None else None
        try:
            value = await asyncio.wait_for(self._query(shop_id, show_id, now=now, days=days), self._timeout)
        except Exception:
            log.exception("ctr baseline query failed", shop_id=shop_id, show_id=show_id)
        self._cache[key] = _Cached(value, self._clock())
        return value

    async def _query(self, shop_id: int, show_id: int, *, now: datetime, days: int) -> CtrBaseline | None:
        since = (now - timedelta(days=days)).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        rows = await self._store.query(BASELINE_SQL, (shop_id, since, show_id))
        ctrs = [int(clicked) / int(exposed) for _show, _product, exposed, clicked in rows if int(exposed) > 0]
        return CtrBaseline(value=median(ctrs), source="shop_30d", products=len(ctrs)) if ctrs else None

    def forget(self, show_ids: set[int]) -> None:
        """Drop the cache of shows no longer live."""
        for key in [k for k in self._cache if k[1] in show_ids]:
            del self._cache[key]
