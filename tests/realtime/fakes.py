"""Fakes for the realtime tests: peers, transports and a clock driven by the test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from liveloop.realtime import OutFrame


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakePeer:
    """Records frames; ``size`` is what ``buffered()`` reports (set by the test, or grown by writes)."""

    def __init__(self, peer_id: str, *, size: int = 0, grows: bool = False) -> None:
        self.peer_id = peer_id
        self.size = size
        self.grows = grows
        self.frames: list[OutFrame] = []
        self.closed: tuple[int, str] | None = None
        self.buffered_calls = 0
        self.on_write: Callable[[], None] | None = None

    def write(self, frame: OutFrame) -> None:
        if self.closed is None:
            self.frames.append(frame)
            if self.grows:
                self.size += len(frame)
            if self.on_write is not None:
                self.on_write()

    def buffered(self) -> int:
        self.buffered_calls += 1
        return self.size

    def close(self, code: int, reason: str) -> None:
        if self.closed is None:
            self.closed = (code, reason)

    def messages(self) -> list[dict[str, Any]]:
        return [orjson.loads(frame.payload) for frame in self.frames]

    def last(self) -> dict[str, Any]:
        body: dict[str, Any] = orjson.loads(self.frames[-1].payload)
        return body


class BrokenPeer(FakePeer):
    """Takes its first frame (the snapshot), then fails on every write."""

    def write(self, frame: OutFrame) -> None:
        if self.frames:
            raise ConnectionResetError("gone")
        super().write(frame)


class FakeTransport:
    """The part of an asyncio transport a TransportPeer uses; buffers everything written."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.chunks.append(data)

    def get_write_buffer_size(self) -> int:
        return sum(len(chunk) for chunk in self.chunks)

    def close(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing
