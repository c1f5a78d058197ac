"""Redis pub/sub Broker: one pub/sub connection and one reader task per broker (node).

Sequenced publishes run one Lua script that bumps the channel's sequence and PUBLISHes the framed
message; Redis runs scripts one at a time, so the order in which subscribers receive a channel's
messages is its offset order, across every node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from liveloop.core.broker import (
    SEQUENCE_TTL_SECONDS,
    SEQUENCED_PREFIX,
    Broker,
    Handler,
    StreamPosition,
    check_plain,
)

__all__ = ["RedisBroker"]

logger = logging.getLogger(__name__)

_MAX_BACKOFF_SECONDS = 5.0

# A channel's sequence is one hash, fields ``epoch`` and ``offset``, so the two cannot outlive each
# other. A hash without an epoch (never written by us) counts as missing and is replaced.

# KEYS[1]: the sequence hash. ARGV: epoch candidate, ttl_ms, wire channel, payload, frame prefix.
# The frame must equal liveloop.core.broker.encode_sequenced(epoch, offset, payload).
_PUBLISH_SEQUENCED = """
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  redis.call('DEL', KEYS[1])
  epoch = ARGV[1]
  redis.call('HSET', KEYS[1], 'epoch', epoch)
end
local offset = redis.call('HINCRBY', KEYS[1], 'offset', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[5] .. epoch .. ':' .. string.format('%d', offset) .. '\\n' .. ARGV[4])
return {epoch, offset}
"""

# KEYS[1]: the sequence hash. ARGV: epoch candidate, ttl_ms. Returns {epoch, offset}.
_STREAM_POSITION = """
local state = redis.call('HMGET', KEYS[1], 'epoch', 'offset')
if state[1] then return {state[1], state[2] or '0'} end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'offset', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {ARGV[1], '0'}
"""


class _Subscription:
    __slots__ = ("channel", "confirmed", "handler")

    def __init__(self, channel: str, handler: Handler, confirmed: asyncio.Future[None]) -> None:
        self.channel = channel
        self.handler = handler
        self.confirmed = confirmed


class _Turn:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class _KeyedLocks:
    """One FIFO lock per key, dropped as soon as nobody holds or waits for it."""

    def __init__(self) -> None:
        self._turns: dict[str, _Turn] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        turn = self._turns.get(key)
        if turn is None:
            turn = self._turns[key] = _Turn()
        turn.users += 1
        try:
            async with turn.lock:
                yield
        finally:
            turn.users -= 1
            if turn.users == 0:
                del self._turns[key]


class RedisBroker(Broker):
    """A node on Redis pub/sub; channels go on the wire as ``f"{namespace}:{channel}"``.

    The reader blocks without a socket timeout, so idle subscriptions survive redis-py's 5 s default.
    After a lost connection redis-py reconnects and resubscribes; messages published meanwhile are
    lost (at-most-once). ``publish`` and ``publish_sequenced`` use the shared client's pool;
    concurrent publishes on one channel are serialised so they reach Redis in call order. A channel's
    sequence is the hash :meth:`sequence_key`, expiring ``sequence_ttl_seconds`` after its latest
    sequenced publish (or its creation). Does not own ``redis``.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        namespace: str = "liveloop",
        subscribe_timeout: float = 10.0,
        sequence_ttl_seconds: float = SEQUENCE_TTL_SECONDS,
    ) -> None:
        if redis.connection_pool.connection_kwargs.get("decode_responses"):
            raise ValueError("RedisBroker needs a client with decode_responses off (payloads are bytes)")
        if not sequence_ttl_seconds > 0:
            raise ValueError("sequence_ttl_seconds must be positive")
        self._redis = redis
        self._prefix = f"{namespace}:"
        self._sequence_ttl_ms = max(1, round(sequence_ttl_seconds * 1000))
        self._publish_sequenced = redis.register_script(_PUBLISH_SEQUENCED)
        self._stream_position = redis.register_script(_STREAM_POSITION)
        self._subscribe_timeout = subscribe_timeout
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._subscriptions: dict[bytes, _Subscription] = {}
        self._publish_order = _KeyedLocks()
        self._subscribe_order = _KeyedLocks()
        self._closed = False

    def _running_pubsub(self) -> PubSub:
        if self._pubsub is None or self._closed:
            raise RuntimeError("broker is not running: call start() first, and not after close()")
        return self._pubsub

    def _wire(self, channel: str) -> bytes:
        return (self._prefix + channel).encode()

    def sequence_key(self, channel: str) -> str:
        """The Redis key holding ``channel``'s sequence (a hash: ``epoch``, ``offset``)."""
        return f"{self._prefix}sequence:{channel}"

    async def start(self) -> None:
        if self._closed:
            raise RuntimeError("a closed broker cannot be restarted")
        if self._pubsub is not None:
            return
        pubsub = self._redis.pubsub()
        await pubsub.connect()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
        self._pubsub = pubsub
        self._reader = asyncio.create_task(self._read(pubsub), name=f"redis-broker-reader:{self._prefix}")

    async def close(self) -> None:
        self._closed = True
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
        pending = [sub.confirmed for sub in self._subscriptions.values() if not sub.confirmed.done()]
        self._subscriptions.clear()
        for confirmed in pending:
            confirmed.set_result(None)  # wakes subscribe(), which then sees it was dropped
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
            self._pubsub = None

    async def publish(self, channel: str, data: bytes) -> None:
        self._running_pubsub()
        check_plain(data)
        async with self._publish_order.hold(channel):
            await self._redis.publish(self._wire(channel), bytes(data))

    async def publish_sequenced(self, channel: str, data: bytes) -> StreamPosition:
        self._running_pubsub()
        epoch_candidate = secrets.token_hex(8)
        args: list[bytes | str | int] = [
            epoch_candidate,
            self._sequence_ttl_ms,
            self._wire(channel),
            bytes(data),
            SEQUENCED_PREFIX,
        ]
        async with self._publish_order.hold(channel):
            epoch, offset = await self._publish_sequenced(keys=[self.sequence_key(channel)], args=args)
        return StreamPosition(epoch.decode("ascii"), int(offset))

    async def stream_position(self, channel: str) -> StreamPosition:
        self._running_pubsub()
        args: list[str | int] = [secrets.token_hex(8), self._sequence_ttl_ms]
        epoch, offset = await self._stream_position(keys=[self.sequence_key(channel)], args=args)
        return StreamPosition(epoch.decode("ascii"), int(offset))

    async def subscribe(self, channel: str, handler: Handler) -> None:
        pubsub = self._running_pubsub()
        wire = self._wire(channel)
        if wire in self._subscriptions:
            raise ValueError(f"already subscribed to {channel!r}")
        subscription = _Subscription(channel, handler, asyncio.get_running_loop().create_future())
        self._subscriptions[wire] = subscription
        async with self._subscribe_order.hold(channel):
            try:
                self._check_subscribed(wire, subscription)
                await pubsub.subscribe(wire)
                # The reader resolves this on Redis's confirmation; from then on every message for
                # the channel was published after the server registered us.
                async with asyncio.timeout(self._subscribe_timeout):
                    await subscription.confirmed
                self._check_subscribed(wire, subscription)
            except BaseException:
                if self._subscriptions.get(wire) is subscription:
                    del self._subscriptions[wire]
                    with contextlib.suppress(Exception):
                        await pubsub.unsubscribe(wire)
                raise

    def _check_subscribed(self, wire: bytes, subscription: _Subscription) -> None:
        if self._subscriptions.get(wire) is not subscription:
            raise RuntimeError("broker closed while subscribing")

    async def unsubscribe(self, channel: str) -> None:
        wire = self._wire(channel)
        subscription = self._subscriptions.get(wire)
        if subscription is None or self._pubsub is None:
            return
        async with self._subscribe_order.hold(channel):
            if self._subscriptions.get(wire) is not subscription:
                return
            # Dropping it locally stops delivery at once; in-flight messages find no subscription.
            del self._subscriptions[wire]
            await self._pubsub.unsubscribe(wire)

    async def _read(self, pubsub: PubSub) -> None:
        backoff = 0.1
        while True:
            try:
                # timeout=None blocks with no socket timeout (redis-py passes math.inf), so idle
                # periods longer than the client's socket_timeout are fine.
                message = await pubsub.get_message(timeout=None)
            except Exception:
                logger.warning("redis broker read failed; retrying in %.1f s", backoff, exc_info=True)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_SECONDS)
                continue
            backoff = 0.1
            if message is not None:
                self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        subscription = self._subscriptions.get(message["channel"])
        if subscription is None:
            return
        kind = message["type"]
        if kind == "subscribe":
            if not subscription.confirmed.done():
                subscription.confirmed.set_result(None)
        elif kind == "message" and subscription.confirmed.done():
            try:
                subscription.handler(subscription.channel, message["data"])
            except Exception:
                logger.exception("broker handler failed", extra={"channel": subscription.channel})
