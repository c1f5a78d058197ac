"""The process's LiveMetrics in the app's lifespan: subscribed to the bus, rebuilt after a restart."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog

from liveloop.analytics.live import LiveMetrics
from liveloop.analytics.live_rebuild import LiveRebuild
from liveloop.analytics.live_windows import DatabaseWindows
from liveloop.core.container import Container
from liveloop.rooms import get_live_shows

__all__ = ["live_metrics_runtime"]

log = structlog.get_logger(__name__)


@asynccontextmanager
async def live_metrics_runtime(container: Container) -> AsyncIterator[LiveMetrics]:
    """The process's LiveMetrics, subscribed to the bus; closing it writes what is pending.

    With an event store, the shows the Counters lost (memory Counters after a restart) are rebuilt
    from it in the background (:mod:`.live_rebuild`); their live events wait meanwhile.
    """
    metrics = LiveMetrics(windows=DatabaseWindows(container.db), counters=container.counters)
    container.events.subscribe(metrics)
    await metrics.start()
    rebuilding: asyncio.Task[object] | None = None
    try:
        if container.event_store is not None:
            db = container.db

            async def live_shows() -> list[int]:
                return [show.show_id for show in await get_live_shows(db)]

            rebuild = LiveRebuild(
                metrics, container.event_store, live_shows=live_shows, emit=container.events.emit
            )
            try:
                if await rebuild.plan():
                    rebuilding = asyncio.create_task(rebuild.run(), name="live-metrics-rebuild")
            except Exception:
                log.exception("live metrics rebuild could not start")
        yield metrics
    finally:
        if rebuilding is not None and not rebuilding.done():
            rebuilding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await rebuilding
        await metrics.close()
