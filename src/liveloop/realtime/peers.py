"""What the hub writes to: one :class:`Peer` per viewer socket, fed shared :class:`OutFrame` objects.

A hub builds one :class:`OutFrame` per room per tick and hands the same object to every peer. The
frame encodes lazily and at most once, whatever the number of peers: the JSON payload exists from
the start, the RFC 6455 wire bytes and the ``str`` form are made on first use and cached.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

from liveloop.realtime.frames import encode_close_frame, encode_text_frame

__all__ = ["OutFrame", "Peer", "QueuePeer", "TransportLike", "TransportPeer"]


class OutFrame:
    """One text message for many sockets: ``payload`` (UTF-8 JSON) plus cached encodings."""

    __slots__ = ("_text", "_wire", "payload")

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self._wire: bytes | None = None
        self._text: str | None = None

    @property
    def wire(self) -> bytes:
        """The unmasked server text frame, encoded on first use."""
        if self._wire is None:
            self._wire = encode_text_frame(self.payload)
        return self._wire

    @property
    def text(self) -> str:
        """The payload as ``str`` (for frameworks whose send takes text), decoded on first use."""
        if self._text is None:
            self._text = self.payload.decode()
        return self._text

    def __len__(self) -> int:
        return len(self.payload)

    def __repr__(self) -> str:
        return f"OutFrame({len(self.payload)} bytes)"


class Peer(Protocol):
    """One client socket as the hub sees it.

    Contract: ``write`` is synchronous, never awaits and never blocks: it queues the frame or drops
    it silently once the peer is closed. ``buffered`` is the number of bytes written but not yet
    handed to the kernel; the hub reads it once per tick to apply its overflow policy. ``close``
    is idempotent; after it, writes are no-ops.
    """

    @property
    def peer_id(self) -> str: ...

    def write(self, frame: OutFrame) -> None: ...

    def buffered(self) -> int: ...

    def close(self, code: int, reason: str) -> None: ...


class TransportLike(Protocol):
    """The part of :class:`asyncio.WriteTransport` a :class:`TransportPeer` uses."""

    def write(self, data: bytes) -> None: ...

    def get_write_buffer_size(self) -> int: ...

    def close(self) -> None: ...

    def is_closing(self) -> bool: ...


class TransportPeer:
    """Writes wire bytes straight to an asyncio transport whose handshake is already done.

    This is the fast path: per tick one buffer-size read and one ``transport.write`` of bytes
    shared by every socket of the room. Room traffic is sent without per-message compression.
    ``close`` writes a close frame and closes the transport; the transport flushes what is already
    buffered, so the owner should abort it if the client does not finish the close in time.
    """

    __slots__ = ("_transport", "peer_id")

    def __init__(self, peer_id: str, transport: TransportLike) -> None:
        self.peer_id = peer_id
        self._transport = transport

    def write(self, frame: OutFrame) -> None:
        transport = self._transport
        if not transport.is_closing():
            transport.write(frame.wire)

    def buffered(self) -> int:
        return self._transport.get_write_buffer_size()

    def close(self, code: int, reason: str) -> None:
        transport = self._transport
        if not transport.is_closing():
            transport.write(encode_close_frame(code, reason))
            transport.close()


class QueuePeer:
    """A peer for frameworks that only offer ``await send(...)``: a bounded queue and one sender.

    ``write`` appends to a queue of at most ``max_frames`` frames; :meth:`run` (one task per socket)
    sends their payloads in order. Overflow policy: a write to a full queue closes the peer with
    4008 ``slow_consumer`` (the hub's byte limits usually act first). After ``close`` the queue is
    discarded, :meth:`run` stops sending, awaits its ``close`` callback, and returns.
    """

    def __init__(self, peer_id: str, *, max_frames: int = 256) -> None:
        if max_frames < 1:
            raise ValueError("max_frames must be at least 1")
        self.peer_id = peer_id
        self._max_frames = max_frames
        self._queue: deque[OutFrame] = deque()
        self._bytes = 0
        self._ready = asyncio.Event()
        self._open = True
        self.close_code: int | None = None
        self.close_reason = ""

    @property
    def closed(self) -> bool:
        return not self._open

    def write(self, frame: OutFrame) -> None:
        if not self._open:
            return
        if len(self._queue) >= self._max_frames:
            self.close(4008, "slow_consumer")
            return
        self._queue.append(frame)
        self._bytes += len(frame.payload)
        self._ready.set()

    def buffered(self) -> int:
        return self._bytes

    def close(self, code: int, reason: str) -> None:
        if not self._open:
            return
        self._open = False
        self.close_code = code
        self.close_reason = reason
        self._queue.clear()
        self._bytes = 0
        self._ready.set()

    async def run(
        self,
        send: Callable[[bytes], Awaitable[None]],
        *,
        close: Callable[[int, str], Awaitable[None]] | None = None,
    ) -> None:
        """Send queued payloads until the peer is closed; then ``await close(code, reason)``.

        If ``send`` raises (the socket is gone) the peer is marked closed and the error propagates.
        """
        queue = self._queue
        try:
            while self._open:
                while queue:
                    frame = queue.popleft()
                    self._bytes -= len(frame.payload)
                    await send(frame.payload)
                if self._open:
                    self._ready.clear()
                    await self._ready.wait()
        except BaseException:
            self._open = False
            self._queue.clear()
            self._bytes = 0
            raise
        if close is not None and self.close_code is not None:
            await close(self.close_code, self.close_reason)
