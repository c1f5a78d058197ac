"""Wiring of the live-room runtime into the app's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import CollectorRegistry

from liveloop.core.container import Container
from liveloop.interactions import InteractionsContext
from liveloop.realtime.admission import RoomFactsReader
from liveloop.realtime.bridge import RoomBridge
from liveloop.realtime.gateway import RealtimeRuntime
from liveloop.realtime.hub import HubConfig
from liveloop.realtime.metrics import RealtimeCollector
from liveloop.realtime.node import NodeConfig, RealtimeNode
from liveloop.realtime.sync import RoomSync
from liveloop.realtime.tallies import PollTallies
from liveloop.settings import Settings
from liveloop.shops import ViewerKeyCache


def node_config(settings: Settings) -> NodeConfig:
    """The live rooms' configuration from the settings (the rest keeps its defaults)."""
    return NodeConfig(hub=HubConfig(max_comments_per_second=settings.room_max_comments_per_second))


@asynccontextmanager
async def realtime_runtime(
    container: Container,
    interactions: InteractionsContext,
    *,
    registry: CollectorRegistry,
    viewer_keys: ViewerKeyCache,
) -> AsyncIterator[RealtimeRuntime]:
    node = RealtimeNode(
        broker=container.broker,
        counters=container.counters,
        events=container.events,
        config=node_config(container.settings),
    )
    await node.start()
    container.events.subscribe(RoomBridge(node, container.db))
    tallies = PollTallies(node, interactions)
    container.events.subscribe(tallies)
    sync = RoomSync(node)
    sync.start()
    collector = RealtimeCollector(node)
    registry.register(collector)
    try:
        yield RealtimeRuntime(
            container=container,
            node=node,
            interactions=interactions,
            viewer_keys=viewer_keys,
            rooms=RoomFactsReader(container.db),
        )
    finally:
        registry.unregister(collector)
        await sync.stop()
        await tallies.close()
        await node.close()
