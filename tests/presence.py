"""Viewers in a room, for the tests of what only the room's audience may do (claim a coupon drop, grab
a red packet over HTTP).

A room socket makes its viewer present with one Counters write, on arrival and on every heartbeat
(``RealtimeNode``: ``touch_presence`` on the room's presence key for ``presence_ttl_seconds``); the app's
audience (``RoomAudience``, the lottery draw's) reads it back. :func:`arrive` makes that same write, so
the check under test runs unchanged; tests that need the whole path open a real socket instead.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.testclient import TestClient

from liveloop.core.container import Container
from liveloop.core.counters import Counters
from liveloop.realtime.keys import presence_key
from liveloop.realtime.node import NodeConfig
from liveloop.shops import get_viewer
from tests.conftest import run_in_app

#: How long a heartbeat keeps a viewer present (METRICS.md: 60 s).
PRESENCE_SECONDS = NodeConfig().presence_ttl_seconds


async def arrive(
    counters: Counters, room_id: int, *viewer_ids: str, ttl_seconds: float = PRESENCE_SECONDS
) -> None:
    """A heartbeat of each viewer in the room, as their room socket sends it."""
    for viewer_id in viewer_ids:
        await counters.touch_presence(presence_key(room_id), viewer_id, ttl_seconds=ttl_seconds)


def _token(credential: str | Mapping[str, str]) -> str:
    if isinstance(credential, str):
        return credential
    return credential["Authorization"].removeprefix("Bearer ")


def join(client: TestClient, room_id: int, *credentials: str | Mapping[str, str]) -> None:
    """The holders of these viewer tokens (or ``Authorization`` headers) are in the room now."""

    async def run(container: Container) -> None:
        for credential in credentials:
            viewer = await get_viewer(container.db, _token(credential))
            await arrive(container.counters, room_id, viewer.viewer_id)

    run_in_app(client, run)
