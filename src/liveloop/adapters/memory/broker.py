"""In-process Broker: several brokers (nodes) share one MemoryBus, the stand-in for Redis."""

from __future__ import annotations

import asyncio
import logging

from liveloop.core.broker import Broker, Handler

__all__ = ["MemoryBroker", "MemoryBus"]

logger = logging.getLogger(__name__)


class _Subscription:
    __slots__ = ("handler",)

    def __init__(self, handler: Handler) -> None:
        self.handler = handler


class MemoryBus:
    """The shared channel table of the MemoryBroker instances of one process and one event loop."""

    def __init__(self) -> None:
        self._subscribers: dict[str, dict[MemoryBroker, None]] = {}

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


class MemoryBroker(Broker):
    """One node on a MemoryBus.

    Payloads are copied like the wire would and delivered in later loop iterations, never inside
    ``publish``. Overflow policy, drop-newest: when ``max_pending`` deliveries are already queued for
    this node, a new message is dropped for it and counted in ``dropped``.
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

    async def publish(self, channel: str, data: bytes) -> None:
        self._check_running()
        self._bus.route(channel, bytes(data))

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
