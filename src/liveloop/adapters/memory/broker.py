"""In-process Broker: several brokers (nodes) share one MemoryBus, the stand-in for Redis."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from liveloop.core.broker import (
    SEQUENCE_TTL_SECONDS,
    Broker,
    Handler,
    StreamPosition,
    check_plain,
    encode_sequenced,
)

__all__ = ["MemoryBroker", "MemoryBus"]

logger = logging.getLogger(__name__)


class _Subscription:
    __slots__ = ("handler",)

    def __init__(self, handler: Handler) -> None:
        self.handler = handler


@dataclass(slots=True)
class _Sequence:
    epoch: str
    offset: int
    expires_at: float


class MemoryBus:
    """The shared channel table and sequences of the MemoryBroker instances of one process and loop.

    A channel's sequence expires ``sequence_ttl_seconds`` (on ``clock``) after it was created or
    last published to, like the Redis keys; a new bus has no sequences, so it starts new epochs.
    Everything runs without awaiting, so assigning an offset and routing the message is atomic.
    """

    def __init__(
        self,
        *,
        sequence_ttl_seconds: float = SEQUENCE_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not sequence_ttl_seconds > 0:
            raise ValueError("sequence_ttl_seconds must be positive")
        self._subscribers: dict[str, dict[MemoryBroker, None]] = {}
        self._sequence_ttl = sequence_ttl_seconds
        self._clock = clock
        # Ordered by expiry (the ttl is fixed and every refresh moves the entry to the end), so
        # expired sequences are dropped from the front in amortised O(1).
        self._sequences: OrderedDict[str, _Sequence] = OrderedDict()

    def attach(self, channel: str, broker: MemoryBroker) -> None:
        self._subscribers.setdefault(channel, {})[broker] = None

    def detach(self, channel: str, broker: MemoryBroker) -> None:
        brokers = self._subscribers.get(channel)
        if brokers is not None:
            brokers.pop(broker, None)
            if not brokers:
                del self._subscribers[channel]

    def route(self, channel: str, data: bytes) -> None:
        for broker in tuple(self._subscribers.get(channel, ())):
            broker.enqueue(channel, data)

    def _sequence(self, channel: str) -> tuple[_Sequence, float]:
        now = self._clock()
        while self._sequences:
            oldest = next(iter(self._sequences.values()))
            if oldest.expires_at > now:
                break
            self._sequences.popitem(last=False)
        sequence = self._sequences.get(channel)
        if sequence is None:
            sequence = _Sequence(secrets.token_hex(8), 0, now + self._sequence_ttl)
            self._sequences[channel] = sequence
        return sequence, now

    def route_sequenced(self, channel: str, data: bytes) -> StreamPosition:
        """Assign the channel's next offset and route the framed message (one atomic step)."""
        sequence, now = self._sequence(channel)
        sequence.offset += 1
        sequence.expires_at = now + self._sequence_ttl
        self._sequences.move_to_end(channel)
        self.route(channel, encode_sequenced(sequence.epoch, sequence.offset, data))
        return StreamPosition(sequence.epoch, sequence.offset)

    def position(self, channel: str) -> StreamPosition:
        """The channel's epoch and last offset, creating the sequence (offset 0) when there is none."""
        sequence, _ = self._sequence(channel)
        return StreamPosition(sequence.epoch, sequence.offset)

    def drop_sequence(self, channel: str) -> None:
        """Forget the channel's sequence, like Redis losing its key (for tests and simulations)."""
        self._sequences.pop(channel, None)


class MemoryBroker(Broker):
    """One node on a MemoryBus.

    Payloads are copied like the wire would and delivered in later loop iterations, never inside
    ``publish``; sequenced messages take the same path, so the bus's offset order is delivery order.
    Overflow policy, drop-newest: when ``max_pending`` deliveries are already queued for this node, a
    new message is dropped for it (a hole in a sequence) and counted in ``dropped``.
    """

    def __init__(self, bus: MemoryBus, *, max_pending: int = 100_000) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self._bus = bus
        self._max_pending = max_pending
        self._subscriptions: dict[str, _Subscription] = {}
        self._pending = 0
        self._started = False
        self._closed = False
        self.dropped = 0

    def _check_running(self) -> None:
        if not self._started or self._closed:
            raise RuntimeError("broker is not running: call start() first, and not after close()")

    async def start(self) -> None:
        if self._closed:
            raise RuntimeError("a closed broker cannot be restarted")
        self._started = True

    async def close(self) -> None:
        for channel in self._subscriptions:
            self._bus.detach(channel, self)
        self._subscriptions.clear()
        self._closed = True

    @property
    def bus(self) -> MemoryBus:
        return self._bus

    async def publish(self, channel: str, data: bytes) -> None:
        self._check_running()
        self._bus.route(channel, bytes(check_plain(data)))

    async def publish_sequenced(self, channel: str, data: bytes) -> StreamPosition:
        self._check_running()
        return self._bus.route_sequenced(channel, bytes(data))

    async def stream_position(self, channel: str) -> StreamPosition:
        self._check_running()
        return self._bus.position(channel)

    async def subscribe(self, channel: str, handler: Handler) -> None:
        self._check_running()
        if channel in self._subscriptions:
            raise ValueError(f"already subscribed to {channel!r}")
        self._subscriptions[channel] = _Subscription(handler)
        self._bus.attach(channel, self)

    async def unsubscribe(self, channel: str) -> None:
        if self._subscriptions.pop(channel, None) is not None:
            self._bus.detach(channel, self)

    def enqueue(self, channel: str, data: bytes) -> None:
        """Called by the bus: schedule one delivery (call_soon keeps FIFO order)."""
        subscription = self._subscriptions.get(channel)
        if subscription is None:
            return
        if self._pending >= self._max_pending:
            self.dropped += 1
            return
        self._pending += 1
        asyncio.get_running_loop().call_soon(self._deliver, channel, data, subscription)

    def _deliver(self, channel: str, data: bytes, subscription: _Subscription) -> None:
        self._pending -= 1
        # Skip messages for a subscription that ended (or was replaced) after they were published.
        if self._subscriptions.get(channel) is not subscription:
            return
        try:
            subscription.handler(channel, data)
        except Exception:
            logger.exception("broker handler failed", extra={"channel": channel})
