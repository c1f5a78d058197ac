"""Prometheus view of this node's live rooms, read at scrape time (nothing on the hot path).

Register once the node exists, e.g. in the app's lifespan::

    collector = RealtimeCollector(runtime.node)
    app.state.registry.register(collector)
    ...
    app.state.registry.unregister(collector)  # on shutdown
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from liveloop.realtime.node import RealtimeNode

__all__ = ["COMMENTS_DROPPED", "RealtimeCollector"]

#: Name of the series the fan-out benchmark reads from ``/metrics``.
COMMENTS_DROPPED = "liveloop_realtime_comments_dropped"


class RealtimeCollector(Collector):
    """Gauges over the rooms open on this node: rooms, attached sockets, comments dropped.

    ``liveloop_realtime_comments_dropped`` sums :attr:`RoomHub.dropped_comments` (sampling and the
    pending bound) over the open hubs. It is a gauge, not a counter: it falls when an idle room's
    hub is dropped or a stream restarts with a new epoch.
    """

    def __init__(self, node: RealtimeNode) -> None:
        self.node = node

    def collect(self) -> Iterator[Metric]:
        rooms = list(self.node.rooms.values())
        yield GaugeMetricFamily("liveloop_realtime_rooms", "Live rooms open on this node", value=len(rooms))
        yield GaugeMetricFamily(
            "liveloop_realtime_sockets",
            "Room sockets attached to this node's hubs",
            value=sum(room.hub.peer_count for room in rooms),
        )
        yield GaugeMetricFamily(
            COMMENTS_DROPPED,
            "Comments dropped by sampling (or the pending bound) in the rooms open on this node",
            value=sum(room.hub.dropped_comments for room in rooms),
        )
