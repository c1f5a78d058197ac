"""AlertEngine: every few seconds, evaluate the alert rules on every live show and tell the shop.

One engine per process. Each tick it lists the live shows, takes the lease of each of their shops
(one node evaluates a shop, see ``alert_state``), reads each show's metrics snapshot, records it in
the show's history, evaluates the rules, and for each alert that newly fires: stores it
(``show_alerts``), emits ``alert.fired`` and adds it to the shop's digest. A shop gets at most one
digest per ``digest_period_seconds`` (a Counters key with that ttl, shared by every node): the first
alert goes out at once, the ones fired during the following period wait and go out together. Sends
run in the :class:`DigestOutbox`'s tasks, never on the tick.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from datetime import timedelta
from types import TracebackType
from typing import Any, Protocol, Self

import structlog

from liveloop.analytics.alert_baseline import CtrBaselineSource
from liveloop.analytics.alert_digest import DigestOutbox, digest_message
from liveloop.analytics.alert_events import AlertFired
from liveloop.analytics.alert_history import ShowHistory, parse_time
from liveloop.analytics.alert_model import Rule, Thresholds
from liveloop.analytics.alert_settings import (
    NewAlert,
    do_store_alerts,
    get_recent_alerts,
    get_room_thresholds,
)
from liveloop.analytics.alert_state import FiredAlerts, ShopLease
from liveloop.analytics.alerts import evaluate
from liveloop.core.counters import Counters
from liveloop.core.db import Database
from liveloop.core.events import EventBus, make_event
from liveloop.core.notify import Notifier
from liveloop.rooms import LiveShow, get_live_shows
from liveloop.shops import get_enabled_notify_targets

__all__ = ["AlertEngine", "MetricsSource"]

log = structlog.get_logger(__name__)

#: Alerts a shop's digest holds at most while it waits for its minute (the newest are kept).
MAX_PENDING = 200
RECENT_LIMIT = 50


class MetricsSource(Protocol):
    """The live metrics (``analytics.live``): one show's snapshot in the METRICS schema."""

    async def snapshot(self, shop_id: int, show_id: int) -> Mapping[str, Any]: ...


class AlertEngine:
    def __init__(
        self,
        *,
        db: Database,
        counters: Counters,
        events: EventBus,
        metrics: MetricsSource | None,
        notifier: Notifier,
        resolve_metrics: Callable[[], MetricsSource | None] | None = None,
        baseline: CtrBaselineSource | None = None,
        interval_seconds: float = 10.0,
        digest_period_seconds: float = 60.0,
        lease_seconds: float | None = None,
        node_token: int | None = None,
    ) -> None:
        self._db = db
        self._counters = counters
        self._events = events
        #: What snapshots come from; while None, ``resolve_metrics`` is asked each tick (the live
        #: metrics may be started after the engine) and ticks do nothing.
        self.metrics = metrics
        self._resolve_metrics = resolve_metrics
        self._baseline = baseline
        self._interval = interval_seconds
        self._digest_period = digest_period_seconds
        self._lease = ShopLease(
            counters, ttl_seconds=lease_seconds or max(3 * interval_seconds, 30.0), token=node_token
        )
        self._fired = FiredAlerts(counters)
        self.outbox = DigestOutbox(notifier)
        self._histories: dict[int, ShowHistory] = {}
        self._pending: dict[int, list[dict[str, Any]]] = {}
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        #: show evaluations done by this engine (a show evaluated on two nodes in one tick shows here)
        self.evaluations = 0

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name="alert-engine")

    async def close(self) -> None:
        """Stop ticking (a tick in progress finishes), send what is queued, give up the leases."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.outbox.close()
        with contextlib.suppress(Exception):
            await self._lease.release_all()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("alert tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self._interval)

    # -- reads -----------------------------------------------------------------------------------

    async def recent(self, shop_id: int, show_id: int) -> list[dict[str, Any]]:
        """The show's latest alerts, newest first, as stored (what the console shows)."""
        return await get_recent_alerts(self._db, shop_id, show_id, limit=RECENT_LIMIT)

    # -- one tick --------------------------------------------------------------------------------

    async def tick(self) -> list[dict[str, Any]]:
        """Evaluate every live show of the shops this node holds; return the alerts fired now."""
        if self.metrics is None and self._resolve_metrics is not None:
            self.metrics = self._resolve_metrics()
        metrics = self.metrics
        if metrics is None:
            return []
        shows = await get_live_shows(self._db)
        await self._forget_ended({s.show_id for s in shows})
        by_shop: dict[int, list[LiveShow]] = {}
        for show in shows:
            by_shop.setdefault(show.shop_id, []).append(show)
        held = [shop_id for shop_id in by_shop if await self._lease.hold(shop_id)]
        for shop_id in set(by_shop) - set(held):  # another node evaluates these: its history, not ours
            for show in by_shop[shop_id]:
                self._histories.pop(show.show_id, None)
        rooms = {show.room_id for shop_id in held for show in by_shop[shop_id]}
        thresholds = await get_room_thresholds(self._db, rooms)
        fired: list[dict[str, Any]] = []
        for shop_id in held:
            new: list[NewAlert] = []
            for show in by_shop[shop_id]:
                new += await self._evaluate(metrics, show, thresholds.get(show.room_id, Thresholds()))
            stored = await do_store_alerts(self._db, new)
            for alert in stored:
                self._emit(alert)
            if stored:
                pending = self._pending.setdefault(shop_id, [])
                pending.extend(stored)
                del pending[:-MAX_PENDING]
            fired += stored
        await self._flush_digests()
        return fired

    async def _evaluate(
        self, metrics: MetricsSource, show: LiveShow, thresholds: Thresholds
    ) -> list[NewAlert]:
        try:
            snapshot = await metrics.snapshot(show.shop_id, show.show_id)
            if snapshot.get("status", "live") != "live":
                return []
            history = self._histories.get(show.show_id)
            if history is None:
                history = self._histories[show.show_id] = ShowHistory(started_at=show.started_at)
            history.record(snapshot, keep=timedelta(minutes=thresholds.longest_window_min))
            at = parse_time(snapshot.get("as_of"))
            assert at is not None  # record() checked it
            shop_baseline = None
            if (
                self._baseline is not None
                and Rule.LOW_CTR_EXPLAINING in thresholds.enabled_rules
                and isinstance(snapshot.get("explaining_product_id"), int)
            ):
                shop_baseline = await self._baseline.baseline(
                    show.shop_id, show.show_id, now=at, days=thresholds.baseline_days
                )
            verdicts = evaluate(
                snapshot, history=history, thresholds=thresholds, shop_baseline=shop_baseline, at=at
            )
            self.evaluations += 1
            new: list[NewAlert] = []
            for verdict in verdicts:
                if await self._fired.apply(show.show_id, verdict) and verdict.alert is not None:
                    new.append(NewAlert(show.shop_id, show.room_id, show.show_id, show.title, verdict.alert))
            return new
        except Exception:
            log.exception("alert evaluation failed", shop_id=show.shop_id, show_id=show.show_id)
            return []

    def _emit(self, alert: Mapping[str, Any]) -> None:
        payload = AlertFired(
            alert_id=alert["id"],
            rule=alert["rule"],
            severity=alert["severity"],
            product_id=alert["product_id"],
            message_zh=alert["message_zh"],
            message_en=alert["message_en"],
            suggestion_zh=alert["suggestion_zh"],
            suggestion_en=alert["suggestion_en"],
            figures=alert["figures"],
        )
        self._events.emit(
            make_event(
                payload,
                shop_id=alert["shop_id"],
                room_id=alert["room_id"],
                show_id=alert["show_id"],
                at=parse_time(alert["at"]),
            )
        )

    async def _forget_ended(self, live: set[int]) -> None:
        ended = set(self._histories) - live
        for show_id in ended:
            del self._histories[show_id]
            try:
                await self._fired.forget(show_id)
            except Exception:
                log.exception("could not drop an ended show's alert keys", show_id=show_id)
        forget = getattr(self._baseline, "forget", None)
        if ended and forget is not None:
            forget(ended)

    async def _flush_digests(self) -> None:
        for shop_id in [s for s, alerts in self._pending.items() if alerts]:
            key = f"alerts:digest:{shop_id}"
            try:
                if await self._counters.get(key):
                    continue  # a digest went out less than a period ago (from any node): keep batching
                targets = await get_enabled_notify_targets(self._db, shop_id)
                if not targets:
                    self._pending.pop(shop_id, None)  # nobody to tell; the alerts are stored and shown
                    continue
                if await self._counters.incr(key, 1, ttl_seconds=self._digest_period) != 1:
                    continue
            except Exception:
                log.exception("alert digest check failed", shop_id=shop_id)
                continue
            batch = self._pending.pop(shop_id)
            self.outbox.submit(shop_id, targets, digest_message(shop_id, batch))
