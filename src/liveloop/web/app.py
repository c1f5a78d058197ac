"""The app factory: one FastAPI app per process, its parts opened in the lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry

from liveloop import __version__, bootstrap
from liveloop.analytics.api import router as metrics_router
from liveloop.analytics.api_alerts import router as alerts_router
from liveloop.analytics.api_review import router as review_router
from liveloop.analytics.live_runtime import live_metrics_runtime
from liveloop.commerce import commerce_runtime
from liveloop.commerce.api import router as catalog_router
from liveloop.commerce.api_buy_lane import BuyLane, buy_path
from liveloop.commerce.api_buyer import router as buyer_router
from liveloop.commerce.api_coupons import router as coupons_router
from liveloop.commerce.api_orders import router as orders_router
from liveloop.interactions import InteractionsContext
from liveloop.interactions.api import router as moderation_router
from liveloop.interactions.api_games import router as games_router
from liveloop.interactions.api_live_tools import router as live_tools_router
from liveloop.realtime.api import router as live_router
from liveloop.realtime.audience import RoomAudience
from liveloop.rooms.api import router as rooms_router
from liveloop.rooms.api_cohost import router as cohost_router
from liveloop.rooms.api_showcase import router as showcase_router
from liveloop.settings import Settings
from liveloop.shops import ViewerKeyCache
from liveloop.shops.api import router as shops_router
from liveloop.shops.api_notify import router as notify_router
from liveloop.web.alerts import alerts_runtime
from liveloop.web.asgi import LiveloopApp
from liveloop.web.console import router as console_router
from liveloop.web.console_auth import ConsoleSessionMiddleware
from liveloop.web.console_socket import router as console_socket_router
from liveloop.web.errors import install_error_handlers
from liveloop.web.health import router as health_router
from liveloop.web.housekeeping import live_tools_housekeeping
from liveloop.web.live_tools import router as room_live_tools_router
from liveloop.web.logs import configure_logging
from liveloop.web.middleware import (
    BodyLimitMiddleware,
    HttpMetrics,
    MetricsMiddleware,
)
from liveloop.web.pages import router as pages_router
from liveloop.web.realtime import realtime_runtime
from liveloop.web.review_page import router as review_page_router

DESCRIPTION = """
liveloop runs live-stream e-commerce (直播带货) as one loop: warm-up, live room, data, private domain.

Authenticate with a staff API key: `Authorization: Bearer llk_...`. Every 4xx answers
`{"error": {"code": "...", "message": "..."}}` with a stable `code`.
"""


#: Net allocations between young collections while serving (Python's default: 700).
YOUNG_GC_THRESHOLD = 50_000


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            bootstrap.build_container(settings) as container,
            live_metrics_runtime(container) as live_metrics,  # subscribed before events flow
            commerce_runtime(container) as commerce,  # rebuilds stock counters, runs the order sweeper
        ):
            app.state.container = container
            app.state.live_metrics = live_metrics
            app.state.commerce = commerce
            interactions = InteractionsContext(db=container.db, counters=container.counters)
            app.state.interactions = interactions
            # One viewer-key cache for the HTTP routes and the room sockets.
            app.state.viewer_keys = viewer_keys = ViewerKeyCache(container.db)
            async with (
                realtime_runtime(
                    container, interactions, registry=app.state.registry, viewer_keys=viewer_keys
                ) as runtime,
                live_tools_housekeeping(container, interactions),
                alerts_runtime(app, container),  # app.state.alerts, app.state.notifier
            ):
                app.state.realtime = runtime
                app.state.draw_audience = RoomAudience(container.counters)
                # Everything made at start-up lives as long as the process: keep it out of the
                # collector's full passes (measured: 0.8 s pauses at 5,000 sockets without this).
                gc.collect()
                gc.freeze()
                # A busy room allocates fast: at the default threshold (700) objects that live a
                # few ms (a tick's items, buffered events) reach the oldest generation, and full
                # passes over every socket's objects follow (5-17 % of the server's CPU and a
                # 0.25 s pause each at 800 comments/s to 5,000 viewers; bench/README.md).
                thresholds = gc.get_threshold()
                gc.set_threshold(YOUNG_GC_THRESHOLD, *thresholds[1:])
                try:
                    yield
                finally:
                    gc.set_threshold(*thresholds)
                    gc.unfreeze()

    app = LiveloopApp(  # serves the room sockets itself (web/asgi.py), the rest as FastAPI
        title="liveloop",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        # liveloop's metrics are Prometheus series (web/middleware.py), not OpenTelemetry. Left on,
        # FastAPI asks the global OpenTelemetry providers on every request whether any is set up
        # (measured: ~25 us of CPU per request on a slow core).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    registry = CollectorRegistry()
    app.state.registry = registry
    http_metrics = HttpMetrics(registry)
    app.add_middleware(MetricsMiddleware, metrics=http_metrics)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(ConsoleSessionMiddleware)  # console cookie -> staff key for /api/v1
    install_error_handlers(app)
    # FastAPI tries the routes in order, each tried one costing ~10 us of CPU (twice per level of
    # included routers): the flash sale's buy route, the hottest, is tried first, at the top level.
    app.include_router(buyer_router)
    # Before even that, well-formed buy requests skip the middleware stack, routing and dependency
    # solving: their lane does what those do for them.
    lane_path = buy_path()
    app.front_lanes[lane_path] = BuyLane(
        path=lane_path,
        app=app,
        fallback=app.through_stack,
        observe=http_metrics.observe,
        max_body_bytes=settings.max_body_bytes,
    )
    app.include_router(health_router)
    app.include_router(shops_router)
    app.include_router(catalog_router)
    app.include_router(orders_router)
    app.include_router(coupons_router)
    app.include_router(rooms_router)
    app.include_router(moderation_router)
    app.include_router(live_router)
    app.include_router(pages_router)
    app.include_router(console_router)
    app.include_router(console_socket_router)
    app.include_router(cohost_router)
    app.include_router(showcase_router)
    app.include_router(live_tools_router)
    app.include_router(room_live_tools_router)
    app.include_router(games_router)
    app.include_router(notify_router)
    app.include_router(alerts_router)
    app.include_router(metrics_router)
    app.include_router(review_router)
    app.include_router(review_page_router)
    app.state.rtc_factory = bootstrap.rtc_issuer_factory()
    app.mount("/static", StaticFiles(packages=[("liveloop.web", "static")]), name="static")
    return app
