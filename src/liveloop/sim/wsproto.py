"""One viewer socket of the client process: a raw RFC 6455 client (handshake, masked client frames,
a minimal reader of the server's unmasked frames) that counts what it receives."""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import orjson

if TYPE_CHECKING:
    from liveloop.sim.crowd import Crowd

__all__ = ["OP_CLOSE", "OP_PING", "OP_PONG", "OP_TEXT", "RawSocket", "Tally", "Viewer", "client_frame"]

_TICK_PREFIX = b'{"type":"tick"'
_LANE = b'"lane":'
_NO_COUNTS = b'"counts":{}'
_SCAN_ALWAYS, _KEY_HEAD, _KEY_TAIL, _KEY_CACHE = 512, 96, 48, 256
OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x8, 0x9, 0xA
_HEAD_16 = struct.Struct("!BBH")
_HEAD_64 = struct.Struct("!BBQ")


def client_frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    """One final client frame, masked with a random key as RFC 6455 requires of clients."""
    size = len(payload)
    first = 0x80 | opcode
    if size < 126:
        head = bytes((first, 0x80 | size))
    elif size < 65536:
        head = _HEAD_16.pack(first, 0x80 | 126, size)
    else:
        head = _HEAD_64.pack(first, 0x80 | 127, size)
    mask = os.urandom(4)
    key = int.from_bytes((mask * (size // 4 + 1))[:size], "little")
    return head + mask + (int.from_bytes(payload, "little") ^ key).to_bytes(size, "little")


@dataclass
class Tally:
    """Counters shared by every socket of the crowd."""

    frames: int = 0  #: text frames received, all kinds
    tick_frames: int = 0
    logical: int = 0  #: per tick frame: its items, plus 1 when it carries changed counts
    payload_bytes: int = 0
    acks: int = 0
    errors: Counter[str] = field(default_factory=Counter)  #: error frames by code
    closes: Counter[str] = field(default_factory=Counter)  #: server closes / lost sockets by code
    #: probe arrivals: (probe index, comment seq, latency ns)
    arrivals: list[tuple[int, int, int]] = field(default_factory=list)
    likes_seen: int = 0  #: the latest ``counts.likes`` a probe saw
    sent_at: dict[str, int] = field(default_factory=dict)  #: comment ref -> send time (ns)
    ack_ns: list[int] = field(default_factory=list)  #: comment send -> its ack, on the sender

    #: logical messages per distinct tick frame (see :meth:`logical_in_tick`)
    tick_logical: dict[tuple[bytes, int, bytes], int] = field(default_factory=dict)

    def snapshot(self) -> tuple[int, int, int, int]:
        return self.frames, self.tick_frames, self.logical, self.payload_bytes

    def logical_in_tick(self, data: bytes, start: int, end: int) -> int:
        """The logical messages of the tick frame ``data[start:end]``: its items (``"lane":``), plus
        one when its counts are not ``{}``.

        Every viewer of the room receives the same bytes for a tick, so a long payload is scanned
        once per distinct frame, not once per viewer. Long frames are told apart by their head
        (type, epoch, offset), length and tail: a tick with items has an offset no other tick has,
        and the priority-only variant of the same tick ends differently (``"partial":true``).
        Short frames (item-less ticks: counts, entrances) are scanned every time.
        """
        if end - start <= _SCAN_ALWAYS:
            return data.count(_LANE, start, end) + (data.find(_NO_COUNTS, start, end) < 0)
        key = (data[start : start + _KEY_HEAD], end - start, data[end - _KEY_TAIL : end])
        logical = self.tick_logical.get(key)
        if logical is None:
            logical = data.count(_LANE, start, end) + (data.find(_NO_COUNTS, start, end) < 0)
            if len(self.tick_logical) >= _KEY_CACHE:
                self.tick_logical.clear()
            self.tick_logical[key] = logical
        return logical


class RawSocket(asyncio.Protocol):
    """A client socket: the RFC 6455 handshake on ``path``, then every server frame split out and
    handed to :meth:`on_frame`. Subclasses say what a frame, a refused handshake and a lost
    socket mean."""

    def __init__(self, path: str, host: str, port: int) -> None:
        #: Done once the socket is in the room (a subclass says when); failed if it never gets there.
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.path = path
        self.host_header = f"{host}:{port}"
        self.transport: asyncio.Transport | None = None
        self.handshake = b""
        self.open = False
        self.closed = False
        self.pending = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host_header}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.transport.write(request.encode())

    def data_received(self, data: bytes) -> None:
        if not self.open:
            self.handshake += data
            end = self.handshake.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.handshake.startswith(b"HTTP/1.1 101"):
                self.fail(f"handshake refused: {self.handshake[:80]!r}")
                return
            self.open = True
            data, self.handshake = self.handshake[end + 4 :], b""
            if not data:
                return
        if self.pending:
            data = self.pending + data
        pos, size = 0, len(data)
        while size - pos >= 2:
            length = data[pos + 1] & 0x7F
            start = pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length = (data[pos + 2] << 8) | data[pos + 3]
                start = pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(data[pos + 2 : pos + 10], "big")
                start = pos + 10
            end = start + length
            if end > size:
                break
            self.on_frame(data[pos] & 0x0F, data, start, end)
            pos = end
        self.pending = data[pos:] if pos < size else b""

    def on_frame(self, opcode: int, data: bytes, start: int, end: int) -> None:
        """One server frame: its payload is ``data[start:end]``."""
        raise NotImplementedError

    def fail(self, why: str) -> None:
        """The socket will not be (or stay) in the room: ``ready`` fails, the socket closes."""
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(why))
        if self.transport is not None:
            self.transport.close()

    def send_raw(self, frame: bytes) -> None:
        if self.transport is not None and not self.closed and not self.transport.is_closing():
            self.transport.write(frame)

    def send_json(self, body: dict[str, Any]) -> None:
        self.send_raw(client_frame(orjson.dumps(body)))


class Viewer(RawSocket):
    """One socket. Counts what it receives; a probe also decodes ticks and times bench comments."""

    def __init__(self, crowd: Crowd, index: int, path: str, *, probe: bool) -> None:
        super().__init__(path, crowd.plan.host, crowd.plan.port)
        self.crowd = crowd
        self.tally = crowd.tally
        self.index = index
        self.probe = probe
        self.frames = 0

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed:
            self.closed = True
            self.tally.closes["lost"] += 1
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"socket {self.index} lost: {exc}"))

    # -- frames -----------------------------------------------------------------------------

    def on_frame(self, opcode: int, data: bytes, start: int, end: int) -> None:
        if opcode == OP_TEXT:
            tally = self.tally
            tally.frames += 1
            tally.payload_bytes += end - start
            self.frames += 1
            if data.startswith(_TICK_PREFIX, start):
                tally.tick_frames += 1
                tally.logical += tally.logical_in_tick(data, start, end)
                if self.probe:
                    self._probe_tick(data[start:end])
            else:
                self._control(orjson.loads(data[start:end]))
        elif opcode == OP_PING:
            self.send_raw(client_frame(data[start:end], OP_PONG))
        elif opcode == OP_CLOSE:
            code = int.from_bytes(data[start : start + 2], "big") if end - start >= 2 else 1005
            if not self.closed:
                self.closed = True
                self.tally.closes[str(code)] += 1
            if self.transport is not None:
                self.transport.close()
            if not self.ready.done():
                self.ready.set_exception(ConnectionError(f"socket {self.index} closed with {code}"))

    def _probe_tick(self, payload: bytes) -> None:
        now = time.monotonic_ns()
        body = orjson.loads(payload)
        for item in body["items"]:
            text = item["data"].get("text")
            if isinstance(text, str) and text.startswith("bench "):
                _, seq, sent = text.split(" ", 2)
                self.tally.arrivals.append((self.index, int(seq), now - int(sent)))
        likes = body["counts"].get("likes")
        if likes is not None and likes > self.tally.likes_seen:
            self.tally.likes_seen = likes

    def _control(self, body: dict[str, Any]) -> None:
        kind = body.get("type")
        if kind in ("snapshot", "resume"):
            if not self.ready.done():
                self.ready.set_result(None)
        elif kind == "ack":
            tally = self.tally
            tally.acks += 1
            sent = tally.sent_at.get(str(body.get("ref")))
            if sent is not None:
                tally.ack_ns.append(time.monotonic_ns() - sent)
        elif kind == "error":
            self.tally.errors[str(body.get("code"))] += 1
