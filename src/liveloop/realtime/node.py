"""This server node's live rooms: one hub and one broker subscription per room with local viewers.

The node turns what happens on its sockets into stream items (published through the broker with
a global offset), counters (likes, presence) and events, and turns what arrives from the broker
(from any node) into hub items. Counts are refreshed from the shared counters by
:class:`~liveloop.realtime.sync.RoomSync`, so every node shows global figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog

from liveloop.core.broker import Broker, parse_sequenced
from liveloop.core.counters import Counters
from liveloop.core.events import EventBus, make_event
from liveloop.realtime.events import ViewerEntered, ViewerLeft
from liveloop.realtime.hub import HubConfig, RoomHub
from liveloop.realtime.keys import CONTROL_CHANNEL, ScopeKeys, presence_key, room_channel
from liveloop.realtime.peers import OutFrame, Peer
from liveloop.realtime.stream import Lane, StreamItem

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class NodeConfig:
    hub: HubConfig = field(default_factory=HubConfig)
    #: How often counts are pushed to and read from the shared counters.
    sync_seconds: float = 0.25
    #: A viewing session ends after this long without a heartbeat (METRICS.md: 60 s).
    presence_ttl_seconds: float = 60.0
    #: Keep an empty room's hub and subscription this long, so a quick reconnect can resume.
    idle_room_seconds: float = 30.0
    history_capacity: int = 2000
    #: Per-socket flood guard: frames per second, burst, refused frames per minute before 4029.
    frames_per_second: float = 20.0
    frame_burst: float = 40.0
    max_strikes: int = 50


@dataclass(eq=False, slots=True)
class Connection:
    """One socket of one viewer in one room on this node."""

    viewer_id: str
    nickname: str
    peer: Peer
    counted: bool  # staff sockets are not audience: no presence, no metrics
    last_seen: float = field(default_factory=time.monotonic)
    ended_by: str | None = None  # "kicked", "banned", "timeout" when the server closed it


@dataclass(eq=False)
class LocalRoom:
    """A room with (or recently with) sockets on this node."""

    room_id: int
    shop_id: int
    show_id: int | None
    hub: RoomHub
    hub_task: asyncio.Task[None]
    #: viewer -> their sockets here (a tuple: almost always one, and a set would cost 216 bytes)
    connections: dict[str, tuple[Connection, ...]] = field(default_factory=dict)
    sessions: dict[str, float] = field(default_factory=dict)  # viewer -> session start (wall clock)
    like_delta: int = 0
    entered: list[dict[str, Any]] = field(default_factory=list)
    empty_since: float | None = None

    @property
    def keys(self) -> ScopeKeys:
        return ScopeKeys.of(room_id=self.room_id, show_id=self.show_id)


class RealtimeNode:
    """Owns this node's :class:`LocalRoom` objects. Use from one event loop."""

    def __init__(
        self,
        *,
        broker: Broker,
        counters: Counters,
        events: EventBus,
        config: NodeConfig | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.broker = broker
        self.counters = counters
        self.events = events
        self.config = config or NodeConfig()
        self._wall = wall_clock
        self.rooms: dict[int, LocalRoom] = {}
        self._opening: dict[int, asyncio.Lock] = {}

    async def start(self) -> None:
        await self.broker.subscribe(CONTROL_CHANNEL, self._on_control)

    async def close(self) -> None:
        for room_id in list(self.rooms):
            await self._drop_room(room_id)
        with contextlib.suppress(Exception):
            await self.broker.unsubscribe(CONTROL_CHANNEL)

    # -- rooms ------------------------------------------------------------------------------

    async def open_room(self, *, room_id: int, shop_id: int, show_id: int | None) -> LocalRoom:
        """The local room, subscribing to its stream on first use (once per node)."""
        room = self.rooms.get(room_id)
        if room is not None:
            return room
        lock = self._opening.setdefault(room_id, asyncio.Lock())
        async with lock:
            room = self.rooms.get(room_id)
            if room is None:
                room = await self._create_room(room_id=room_id, shop_id=shop_id, show_id=show_id)
        self._opening.pop(room_id, None)
        return room

    async def _create_room(self, *, room_id: int, shop_id: int, show_id: int | None) -> LocalRoom:
        channel = room_channel(room_id)
        position = await self.broker.stream_position(channel)
        hub = self._new_hub(room_id, position.epoch, position.offset)
        room = LocalRoom(
            room_id=room_id,
            shop_id=shop_id,
            show_id=show_id,
            hub=hub,
            hub_task=asyncio.create_task(hub.run()),
        )
        self.rooms[room_id] = room
        await self.broker.subscribe(channel, self._on_room_message)
        return room

    def _new_hub(self, room_id: int, epoch: str, offset: int) -> RoomHub:
        hub = RoomHub(
            room_id, epoch=epoch, config=self.config.hub, history_capacity=self.config.history_capacity
        )
        hub.history.advance(offset)
        return hub

    async def _drop_room(self, room_id: int) -> None:
        room = self.rooms.pop(room_id, None)
        if room is None:
            return
        room.hub.stop()
        room.hub_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await room.hub_task
        with contextlib.suppress(Exception):
            await self.broker.unsubscribe(room_channel(room_id))

    async def drop_idle_rooms(self) -> None:
        now = time.monotonic()
        for room_id, room in list(self.rooms.items()):
            if room.empty_since is not None and now - room.empty_since > self.config.idle_room_seconds:
                await self._drop_room(room_id)

    # -- viewers ----------------------------------------------------------------------------

    async def join(
        self,
        room: LocalRoom,
        conn: Connection,
        *,
        guest: bool,
        source: str,
        epoch: str | None,
        offset: int | None,
    ) -> bool:
        """Attach the socket (writing its snapshot or resume frame); True when it resumed."""
        room.empty_since = None
        room.connections[conn.viewer_id] = (*room.connections.get(conn.viewer_id, ()), conn)
        resumed = room.hub.attach(conn.peer, epoch=epoch, offset=offset)
        if conn.counted:
            await self._arrive(room, conn, guest=guest, source=source)
        return resumed

    async def _arrive(self, room: LocalRoom, conn: Connection, *, guest: bool, source: str) -> None:
        ttl = self.config.presence_ttl_seconds
        new_session = await self.counters.touch_presence(
            presence_key(room.room_id), conn.viewer_id, ttl_seconds=ttl
        )
        room.sessions.setdefault(conn.viewer_id, self._wall())
        if not new_session:
            return  # a reconnect within the presence window continues the same session
        keys = room.keys
        await self.counters.set(
            keys.viewer_session_start(conn.viewer_id),
            int(room.sessions[conn.viewer_id] * 1000),
            ttl_seconds=2 * 86400,
        )
        await self.counters.incr(keys.pv)
        await self.counters.add_distinct(keys.uv, conn.viewer_id)
        room.entered.append({"viewer_id": conn.viewer_id, "nickname": conn.nickname})
        payload = ViewerEntered(viewer_id=conn.viewer_id, nickname=conn.nickname, guest=guest, source=source)
        self.events.emit(self._event(room, payload, actor=conn.viewer_id))

    async def leave(self, room: LocalRoom, conn: Connection, *, reason: str = "closed") -> None:
        room.hub.detach(conn.peer)
        conns = room.connections.get(conn.viewer_id, ())
        if conn in conns:
            rest = tuple(other for other in conns if other is not conn)
            if rest:
                room.connections[conn.viewer_id] = rest
            else:
                del room.connections[conn.viewer_id]
                if conn.counted:
                    await self._depart(room, conn.viewer_id, reason=reason, remove=True)
        if not room.connections:
            room.empty_since = time.monotonic()

    async def _depart(self, room: LocalRoom, viewer_id: str, *, reason: str, remove: bool) -> None:
        if remove:
            await self.counters.remove_presence(presence_key(room.room_id), viewer_id)
        local = room.sessions.pop(viewer_id, None)
        keys = room.keys
        # The session's start in Counters says a session is open: a node that sweeps a viewer it
        # never held counts the watch time from it, and its absence says the session was ended
        # already (swept here or on another node), so a late close does not end it a second time.
        since_ms = await self.counters.get(keys.viewer_session_start(viewer_id))
        if not since_ms:
            return
        seconds = max(0.0, self._wall() - (local if local is not None else since_ms / 1000))
        await self.counters.delete(keys.viewer_session_start(viewer_id))
        if seconds:
            await self.counters.incr(keys.watch_seconds, round(seconds))
            await self.counters.incr(
                keys.viewer_watch_seconds(viewer_id), round(seconds), ttl_seconds=2 * 86400
            )
        payload = ViewerLeft(viewer_id=viewer_id, reason=reason, watch_seconds=round(seconds, 3))
        self.events.emit(self._event(room, payload, actor=viewer_id))

    async def heartbeat(self, room: LocalRoom, conn: Connection) -> None:
        conn.last_seen = time.monotonic()
        if conn.counted:
            ttl = self.config.presence_ttl_seconds
            await self.counters.touch_presence(presence_key(room.room_id), conn.viewer_id, ttl_seconds=ttl)

    async def sweep_presence(self, room: LocalRoom) -> None:
        """End the sessions of viewers whose heartbeats stopped (on any node); each ends once."""
        for viewer_id in await self.counters.sweep_presence(presence_key(room.room_id)):
            await self._depart(room, viewer_id, reason="timeout", remove=False)

    # -- stream -----------------------------------------------------------------------------

    async def publish_to(self, room_id: int, lane: Lane, data: dict[str, Any]) -> int:
        """Append an item to the room's global stream (seen by every node); returns its offset."""
        body = orjson.dumps({"lane": lane.value, "data": data})
        position = await self.broker.publish_sequenced(room_channel(room_id), body)
        return position.offset

    def _on_room_message(self, channel: str, message: bytes) -> None:
        room_id = int(channel.rsplit(":", 1)[1])
        room = self.rooms.get(room_id)
        if room is None:
            return
        seq = parse_sequenced(message)
        if seq is None:
            for entered in orjson.loads(message).get("entered", []):
                room.hub.add_transient(entered)
            return
        if seq.epoch != room.hub.epoch:
            self._restart_hub(room, seq.epoch, seq.offset - 1)
        body = orjson.loads(seq.data)
        data: dict[str, Any] = body["data"]
        kind = data.get("type")
        if kind == "pinned":
            room.hub.set_pinned(data.get("message"))
        elif kind == "unpinned":
            room.hub.set_pinned(None)
        elif kind == "show_started":
            room.show_id = data.get("show_id")
        elif kind == "show_ended":
            room.show_id = None
        room.hub.publish(StreamItem(seq.offset, Lane(body["lane"]), data))

    def _restart_hub(self, room: LocalRoom, epoch: str, offset: int) -> None:
        """The stream restarted (new epoch): every socket starts over from a snapshot."""
        old = room.hub
        old.stop()
        room.hub = self._new_hub(room.room_id, epoch, offset)
        room.hub_task = asyncio.create_task(room.hub.run())
        for conns in room.connections.values():
            for conn in conns:
                old.detach(conn.peer)
                room.hub.attach(conn.peer)

    async def flush_entrances(self, room: LocalRoom) -> None:
        if room.entered:
            shown, room.entered = room.entered[-20:], []
            await self.broker.publish(room_channel(room.room_id), orjson.dumps({"entered": shown}))

    # -- control ----------------------------------------------------------------------------

    async def disconnect_viewer(self, *, room_id: int, viewer_id: str, code: int, reason: str) -> None:
        """Close a viewer's sockets in a room on every node."""
        body = {"room_id": room_id, "viewer_id": viewer_id, "code": code, "reason": reason}
        await self.broker.publish(CONTROL_CHANNEL, orjson.dumps(body))

    def _on_control(self, _channel: str, message: bytes) -> None:
        body = orjson.loads(message)
        room = self.rooms.get(body["room_id"])
        if room is None:
            return
        for conn in list(room.connections.get(body["viewer_id"], ())):
            conn.ended_by = body["reason"]
            notice = {"type": "error", "code": f"room.{body['reason']}", "message": body["reason"]}
            conn.peer.write(OutFrame(orjson.dumps(notice)))
            conn.peer.close(body["code"], body["reason"])

    def _event(self, room: LocalRoom, payload: Any, *, actor: str) -> Any:
        return make_event(
            payload, shop_id=room.shop_id, room_id=room.room_id, show_id=room.show_id, actor=actor
        )
