"""Wiring of the live-room runtime into the app's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from liveloop.core.container import Container
from liveloop.interactions import InteractionsContext
from liveloop.realtime.bridge import RoomBridge
from liveloop.realtime.gateway import RealtimeRuntime
from liveloop.realtime.node import RealtimeNode
from liveloop.realtime.sync import RoomSync


@asynccontextmanager
async def realtime_runtime(
    container: Container, interactions: InteractionsContext
) -> AsyncIterator[RealtimeRuntime]:
    node = RealtimeNode(broker=container.broker, counters=container.counters, events=container.events)
    await node.start()
    container.events.subscribe(RoomBridge(node))
    sync = RoomSync(node)
    sync.start()
    try:
        yield RealtimeRuntime(container=container, node=node, interactions=interactions)
    finally:
        await sync.stop()
        await node.close()
