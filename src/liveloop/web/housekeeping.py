"""Periodic upkeep of the live tools: expire red packets, close timed polls (safe on every node)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog

from liveloop.core.container import Container
from liveloop.interactions import (
    InteractionsContext,
    do_close_due_polls,
    do_rebuild_lotteries,
    do_rebuild_red_packets,
    do_sweep_red_packets,
)

log = structlog.get_logger(__name__)


async def _sweep_until(
    stop: asyncio.Event, container: Container, ctx: InteractionsContext, interval: float
) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
        if stop.is_set():
            return
        try:
            container.events.emit_many(await do_sweep_red_packets(ctx))
            for change in await do_close_due_polls(ctx):
                container.events.emit_many(change.events)
        except Exception:
            log.exception("live-tool housekeeping failed")


@asynccontextmanager
async def live_tools_housekeeping(
    container: Container, ctx: InteractionsContext, *, interval: float = 1.0
) -> AsyncIterator[None]:
    """Rebuild the tools' counters from SQL, then sweep every ``interval`` seconds until exit."""
    await do_rebuild_red_packets(container.db, container.counters, only_missing=True)
    await do_rebuild_lotteries(container.db, container.counters)
    stop = asyncio.Event()
    task = asyncio.create_task(_sweep_until(stop, container, ctx, interval), name="live-tools-housekeeping")
    try:
        yield
    finally:
        # Let a sweep in progress finish (cancelling it mid-query could leak its connection).
        stop.set()
        await task
