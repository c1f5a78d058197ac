"""The live room on one node: one frame per tick, written to every socket, slow sockets contained.

A :class:`RoomHub` receives every item of its room that reaches this node (:meth:`RoomHub.publish`,
already offset), coalesced state (:meth:`RoomHub.set_count`, :meth:`RoomHub.set_pinned`) and
entrances (:meth:`RoomHub.add_transient`). Once per tick :meth:`RoomHub.flush` encodes one frame and
writes the same bytes to every attached :class:`~liveloop.realtime.peers.Peer`.

What is dropped, and when (see also :class:`~liveloop.realtime.batch.TickBatch`):

- priority items: never; a peer that falls past the hard limit is closed instead;
- comments: an evenly spread sample is kept when a tick brings more than the rate allows;
- counts: only the latest value per name per tick goes out, and only if it changed;
- entrances: the latest ``max_entered_per_tick`` are shown, the frame says how many more entered;
- a peer above ``soft_limit_bytes`` gets the priority-only variant (priority items, changed counts,
  pin changes; no comments or entrances), or nothing when that is empty; above
  ``hard_limit_bytes`` it is closed with 4008 ``slow_consumer`` and detached. A peer never delays
  the others: writes are synchronous and only ever queue.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import structlog

from liveloop.realtime.batch import Tick, TickBatch
from liveloop.realtime.peers import OutFrame, Peer
from liveloop.realtime.stream import Lane, RoomHistory, StreamItem

__all__ = ["SLOW_CONSUMER_CODE", "SLOW_CONSUMER_REASON", "HubConfig", "RoomHub", "TickStats"]

log = structlog.get_logger(__name__)

SLOW_CONSUMER_CODE = 4008
SLOW_CONSUMER_REASON = "slow_consumer"


@dataclass(frozen=True, slots=True)
class HubConfig:
    tick_seconds: float = 0.1
    #: Comments kept per second; above it a tick keeps an evenly spread sample.
    max_comments_per_second: float = 50
    #: Above this many buffered bytes a peer only gets the priority-only variant.
    soft_limit_bytes: int = 256 * 1024
    #: Above this many buffered bytes a peer is closed with 4008 ``slow_consumer``.
    hard_limit_bytes: int = 1024 * 1024
    max_entered_per_tick: int = 3
    #: Counts (online, likes...) and entrances go out at most this often (or with a tick that goes
    #: out anyway); items go every tick.
    counts_seconds: float = 1.0
    #: Recent comments in a snapshot, for late joiners.
    snapshot_comments: int = 20
    #: Bound of comments waiting for one tick; beyond it they are dropped (and counted) on arrival.
    max_pending_comments: int = 10_000

    def __post_init__(self) -> None:
        if self.tick_seconds <= 0:
            raise ValueError("tick_seconds must be positive")
        if self.counts_seconds < 0:
            raise ValueError("counts_seconds must not be negative")
        if self.max_comments_per_second < 0:
            raise ValueError("max_comments_per_second must not be negative")
        if not 0 <= self.soft_limit_bytes < self.hard_limit_bytes:
            raise ValueError("need 0 <= soft_limit_bytes < hard_limit_bytes")
        if self.max_entered_per_tick < 0 or self.snapshot_comments < 0 or self.max_pending_comments < 1:
            raise ValueError("need max_entered_per_tick, snapshot_comments >= 0, max_pending_comments >= 1")


@dataclass(frozen=True, slots=True)
class TickStats:
    """What one :meth:`RoomHub.flush` did; all zero for a tick with nothing new."""

    items: int = 0  #: items in the full frame (after sampling)
    frames_built: int = 0  #: 0, 1 (full) or 2 (full and priority-only)
    frame_bytes: int = 0  #: payload bytes of the full frame
    priority_frame_bytes: int = 0  #: payload bytes of the priority-only variant, 0 if not built
    peers_written: int = 0
    peers_degraded: int = 0  #: peers above the soft limit (given the priority-only variant, if any)
    peers_closed: int = 0
    dropped_comments: int = 0  #: comments dropped in this tick


def _encode(body: dict[str, Any]) -> OutFrame:
    return OutFrame(orjson.dumps(body))


def _item_dict(item: StreamItem) -> dict[str, Any]:
    return {"offset": item.offset, "lane": item.lane.value, "data": item.data}


class RoomHub:
    """One room on this node. Not thread-safe: use it from its event loop only.

    Ordering: a peer receives items in offset order, each at most once. A peer attached from the
    start, or resumed from its offset without a gap, and not closed, receives every priority item
    exactly once. The epoch is fixed per hub: a new epoch means a new hub.
    """

    def __init__(
        self,
        room_id: int,
        *,
        epoch: str,
        config: HubConfig | None = None,
        history_capacity: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.room_id = room_id
        self.config = cfg = config or HubConfig()
        self._history = RoomHistory(epoch, capacity=history_capacity)
        self._batch = TickBatch(
            self._history,
            max_comments_per_second=cfg.max_comments_per_second,
            tick_seconds=cfg.tick_seconds,
            max_entered=cfg.max_entered_per_tick,
            max_pending_comments=cfg.max_pending_comments,
            clock=clock,
            counts_seconds=cfg.counts_seconds,
        )
        self._peers: dict[str, Peer] = {}
        #: The peers as a tuple for the flush, rebuilt on the first flush after a change (None): a
        #: crowd joining between two ticks costs one copy, not one per join.
        self._peer_list: tuple[Peer, ...] | None = ()
        self._wake = asyncio.Event()
        self._running = False
        self._stopping = False

    @property
    def epoch(self) -> str:
        return self._history.epoch

    @property
    def offset(self) -> int:
        """The stream position of what has been flushed (pending items are not yet counted)."""
        return self._history.last_offset

    @property
    def history(self) -> RoomHistory:
        return self._history

    @property
    def peer_count(self) -> int:
        return len(self._peers)

    @property
    def dropped_comments(self) -> int:
        """Comments dropped by sampling or by the pending bound since the hub started."""
        return self._batch.dropped_comments

    @property
    def stale_items(self) -> int:
        """Items ignored because their offset was at or below the stream position."""
        return self._batch.stale_items

    def attach(self, peer: Peer, *, epoch: str | None = None, offset: int | None = None) -> bool:
        """Add ``peer`` and write its starting point (see :meth:`resume`); True if resumed.

        Raises ValueError if a peer with the same ``peer_id`` is attached.
        """
        if peer.peer_id in self._peers:
            raise ValueError(f"peer {peer.peer_id!r} is already attached")
        self._peers[peer.peer_id] = peer
        self._peer_list = None
        return self.resume(peer, epoch=epoch, offset=offset)

    def detach(self, peer: Peer) -> None:
        """Stop writing to ``peer``; a no-op if it is not (or no longer) attached."""
        if self._peers.get(peer.peer_id) is peer:
            del self._peers[peer.peer_id]
            self._peer_list = None

    def publish(self, item: StreamItem) -> None:
        """Queue ``item`` (positive, globally assigned offset) for the next tick.

        An item at or below the stream position (duplicate, late redelivery) is ignored and counted
        in :attr:`stale_items`; reordering within one tick is repaired.
        """
        if self._batch.add(item):
            self._wake.set()

    def set_count(self, name: str, value: int) -> None:
        """Set a coalesced counter (likes, online, ...); the next tick sends it if it changed."""
        self._batch.set_count(name, value)
        self._wake.set()

    def set_pinned(self, data: dict[str, Any] | None) -> None:
        """Pin a message (None unpins); the next tick carries it, to slow peers too."""
        self._batch.set_pinned(data)
        self._wake.set()

    def add_transient(self, data: dict[str, Any]) -> None:
        """Announce a passing event (an entrance); only the latest few per tick are shown."""
        self._batch.add_transient(data)
        self._wake.set()

    def snapshot(self) -> dict[str, Any]:
        """The room state for a client starting over (JSON-able), as of :attr:`offset`."""
        recent = self._history.recent(self.config.snapshot_comments, lane=Lane.COMMENT)
        return {
            "type": "snapshot",
            "epoch": self._history.epoch,
            "offset": self._history.last_offset,
            "counts": self._batch.counts(),
            "comments": [_item_dict(item) for item in recent],
            "pinned": self._batch.pinned,
        }

    def resume(self, peer: Peer, *, epoch: str | None, offset: int | None) -> bool:
        """Write what ``peer`` missed after ``(epoch, offset)`` as one frame, or else the snapshot.

        Returns True for a resume frame, False for a snapshot. Either way the next tick continues
        right after the position written, so nothing is skipped or repeated.
        """
        missed = None
        if epoch is not None and offset is not None:
            missed = self._history.since(offset, epoch=epoch)
        if missed is None:
            peer.write(_encode(self.snapshot()))
            return False
        body = {
            "type": "resume",
            "epoch": self._history.epoch,
            "offset": self._history.last_offset,
            "items": missed,
            "counts": self._batch.counts(),
            "pinned": self._batch.pinned,
        }
        peer.write(_encode(body))
        return True

    def flush(self) -> TickStats:
        """Close this tick: sample, commit to history, encode once, write to every peer."""
        tick = self._batch.take()
        peers = self._peer_list
        if peers is None:
            peers = self._peer_list = tuple(self._peers.values())
        if tick.empty or not peers:
            return TickStats(items=len(tick.items), dropped_comments=tick.dropped_comments)
        body: dict[str, Any] = {
            "type": "tick",
            "epoch": self._history.epoch,
            "offset": self._history.last_offset,
            "items": tick.items,
            "counts": tick.counts,
        }
        if tick.entered is not None:
            body["entered"] = tick.entered
        if tick.pinned_changed:
            body["pinned"] = tick.pinned
        full = _encode(body)
        soft = self.config.soft_limit_bytes
        hard = self.config.hard_limit_bytes
        partial: OutFrame | None = None
        partial_built = False
        written = degraded = 0
        slow: list[Peer] = []
        broken: list[Peer] = []
        for peer in peers:
            try:
                size = peer.buffered()
                if size <= soft:
                    peer.write(full)
                    written += 1
                elif size > hard:
                    slow.append(peer)
                else:
                    degraded += 1
                    if not partial_built:
                        partial = _priority_frame(body, tick)
                        partial_built = True
                    if partial is not None:
                        peer.write(partial)
                        written += 1
            except Exception:
                log.exception("room peer failed", room_id=self.room_id, peer_id=peer.peer_id)
                broken.append(peer)
        self._drop_peers(slow, SLOW_CONSUMER_CODE, SLOW_CONSUMER_REASON)
        self._drop_peers(broken, 1011, "internal_error")
        return TickStats(
            items=len(tick.items),
            frames_built=1 + (partial is not None),
            frame_bytes=len(full),
            priority_frame_bytes=len(partial) if partial is not None else 0,
            peers_written=written,
            peers_degraded=degraded,
            peers_closed=len(slow) + len(broken),
            dropped_comments=tick.dropped_comments,
        )

    async def run(self) -> None:
        """Flush at most once per tick while something is pending (or held for its cadence); sleep
        while the room is idle.

        Returns within one tick after :meth:`stop`. A failing flush is logged, not raised.
        """
        if self._running:
            raise RuntimeError("this hub is already running")
        self._running, self._stopping = True, False
        loop = asyncio.get_running_loop()
        period = self.config.tick_seconds
        last = loop.time() - period
        try:
            while not self._stopping:
                await self._wake.wait()
                await asyncio.sleep(max(0.0, last + period - loop.time()))
                if self._stopping:
                    break
                self._wake.clear()
                last = loop.time()
                try:
                    self.flush()
                except Exception:
                    log.exception("room flush failed", room_id=self.room_id)
                if self._batch.holding:
                    self._wake.set()  # held counts or entrances: look again next tick
        finally:
            self._running = False

    def stop(self) -> None:
        """Make :meth:`run` return (within one tick)."""
        self._stopping = True
        self._wake.set()

    def _drop_peers(self, peers: list[Peer], code: int, reason: str) -> None:
        for peer in peers:
            self.detach(peer)
            try:
                peer.close(code, reason)
            except Exception:
                log.exception("closing a room peer failed", room_id=self.room_id, peer_id=peer.peer_id)


def _priority_frame(body: dict[str, Any], tick: Tick) -> OutFrame | None:
    """The tick's variant for slow peers; None when it would carry nothing."""
    priority = [item for item in tick.items if item.lane is Lane.PRIORITY]
    if not (priority or tick.counts or tick.pinned_changed):
        return None
    partial = {**body, "items": priority, "partial": True}
    partial.pop("entered", None)
    return _encode(partial)
