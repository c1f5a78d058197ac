"""The live alert engine and the outbound channels, opened in the app lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from liveloop import bootstrap
from liveloop.analytics.alert_baseline import EventStoreCtrBaseline
from liveloop.analytics.alert_engine import AlertEngine, MetricsSource
from liveloop.core.container import Container


@asynccontextmanager
async def alerts_runtime(app: FastAPI, container: Container) -> AsyncIterator[AlertEngine]:
    """Sets ``app.state.notifier`` and ``app.state.alerts``; the engine evaluates the snapshots of
    ``app.state.live_metrics`` (read when it first ticks, so the live metrics may start later)."""

    def live_metrics() -> MetricsSource | None:
        metrics: MetricsSource | None = getattr(app.state, "live_metrics", None)
        return metrics

    allow_private = container.settings.notify_allow_private_hosts
    async with bootstrap.open_notifier(container.counters, allow_private_hosts=allow_private) as notifier:
        app.state.notifier = notifier
        baseline = EventStoreCtrBaseline(container.event_store) if container.event_store is not None else None
        engine = AlertEngine(
            db=container.db,
            counters=container.counters,
            events=container.events,
            metrics=live_metrics(),
            resolve_metrics=live_metrics,
            notifier=notifier,
            baseline=baseline,
        )
        async with engine:
            app.state.alerts = engine
            yield engine
