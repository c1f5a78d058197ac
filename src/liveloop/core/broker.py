"""The Broker port: cross-node fan-out of room frames, optionally sequenced (globally ordered)."""

from __future__ import annotations

import abc
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "SEQUENCED_PREFIX",
    "SEQUENCE_TTL_SECONDS",
    "Broker",
    "Handler",
    "SequencedMessage",
    "StreamPosition",
    "check_epoch",
    "check_plain",
    "encode_sequenced",
    "parse_sequenced",
]

#: Called on the event loop with ``(channel, data)``; it must not block. An exception it raises is
#: logged and does not stop delivery.
Handler = Callable[[str, bytes], None]

#: Reserved first bytes of a sequenced message on the wire. Plain ``publish`` refuses payloads that
#: start with them, so :func:`parse_sequenced` never mistakes a plain message for a sequenced one.
SEQUENCED_PREFIX = b"\x00seq:"

#: How long a channel's sequence (and epoch) outlives its latest sequenced publish; afterwards the
#: next publish or ``stream_position`` starts a new epoch. Dead rooms do not leak.
SEQUENCE_TTL_SECONDS = 7 * 24 * 3600.0

_EPOCH = re.compile(r"[0-9A-Za-z_-]{1,64}")
# The header after the prefix: ``<epoch>:<offset>\n``. Bounded, so a huge malformed message is cheap.
_HEADER = re.compile(rb"([0-9A-Za-z_-]{1,64}):([1-9][0-9]{0,18})\n")


@dataclass(frozen=True, slots=True)
class StreamPosition:
    """Where a channel's sequence stands: its ``epoch`` and the last ``offset`` assigned in it (0: none)."""

    epoch: str
    offset: int


@dataclass(frozen=True, slots=True)
class SequencedMessage:
    """A sequenced message as delivered: its place in the channel's sequence and the payload."""

    epoch: str
    offset: int
    data: bytes


def check_epoch(epoch: str) -> str:
    """Return ``epoch`` if it is a valid epoch (1-64 of ``[0-9A-Za-z_-]``); raise ValueError otherwise."""
    if not _EPOCH.fullmatch(epoch):
        raise ValueError(f"invalid epoch {epoch!r}: expected 1-64 characters of [0-9A-Za-z_-]")
    return epoch


def check_plain(data: bytes) -> bytes:
    """Return ``data`` if ``publish`` may send it; ValueError if it starts with the reserved prefix."""
    if data.startswith(SEQUENCED_PREFIX):
        raise ValueError(f"plain payloads must not start with the reserved {SEQUENCED_PREFIX!r}")
    return data


def encode_sequenced(epoch: str, offset: int, data: bytes) -> bytes:
    """The wire form of a sequenced message: ``b"\\x00seq:" + epoch + b":" + offset + b"\\n" + data``.

    ``offset`` is decimal without leading zeros and at least 1; ``data`` is arbitrary bytes. Adapters
    that frame elsewhere (the Redis Lua script) must produce exactly these bytes.
    """
    check_epoch(epoch)
    if not 1 <= offset < 2**63:
        raise ValueError(f"offset must be in [1, 2**63), got {offset}")
    return b"%s%s:%d\n%s" % (SEQUENCED_PREFIX, epoch.encode("ascii"), offset, data)


def parse_sequenced(message: bytes) -> SequencedMessage | None:
    """Split a delivered message: a :class:`SequencedMessage`, or None for a plain message.

    Plain messages never start with :data:`SEQUENCED_PREFIX` (``publish`` refuses them), so this
    is unambiguous. Raises ValueError for a message that starts with the prefix but is not a valid
    frame (a corrupted or foreign message; never produced by a Broker).
    """
    if not message.startswith(SEQUENCED_PREFIX):
        return None
    header = _HEADER.match(message, len(SEQUENCED_PREFIX))
    if header is None:
        raise ValueError("malformed sequenced message: bad header after the reserved prefix")
    return SequencedMessage(
        epoch=header[1].decode("ascii"), offset=int(header[2]), data=bytes(message[header.end() :])
    )


class Broker(abc.ABC):
    """Publish bytes on a channel (one per room) to every node subscribed to it.

    Guarantees: at-most-once delivery (a message may be lost, e.g. while a connection is re-established,
    never duplicated); messages from one publisher on one channel arrive in the order the ``publish``
    / ``publish_sequenced`` calls were made; no persistence or replay; a subscriber receives only
    messages published after its ``subscribe()`` returned, and none once its ``unsubscribe()`` returned.
    A node that publishes on a channel it is subscribed to receives its own message too. Payloads
    arrive as fresh ``bytes`` equal to what was sent (for sequenced messages: the framed bytes of
    :func:`encode_sequenced`). A broker instance is one node: it subscribes to a channel once, with
    one handler, however many local sockets want the channel. Call ``start()`` before anything else;
    after ``close()`` the instance cannot be used.

    Sequenced publishing adds a global order across nodes: each channel has a sequence shared by
    every node (on the shared backend), identified by an ``epoch`` and counting offsets 1, 2, 3, ...
    The offset is assigned atomically with the publish, so every subscriber receives the sequenced
    messages of a channel in strictly increasing offset order within an epoch, whichever nodes
    published them (a subscriber may still miss some: holes, never reorders). The epoch is created
    with the sequence; when the sequence is lost (backend flushed or restarted, the sequence idle
    for :data:`SEQUENCE_TTL_SECONDS`) the next ``publish_sequenced`` or ``stream_position`` starts a
    new, different epoch whose offsets restart at 1, so offsets of an old epoch are meaningless.
    """

    @abc.abstractmethod
    async def start(self) -> None:
        """Open connections and start delivering."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Drop all subscriptions and release resources; idempotent."""

    @abc.abstractmethod
    async def publish(self, channel: str, data: bytes) -> None:
        """Send ``data`` to every current subscriber of ``channel`` (possibly none).

        Raises ValueError when ``data`` starts with :data:`SEQUENCED_PREFIX` (reserved for sequenced
        messages; see :func:`check_plain`).
        """

    @abc.abstractmethod
    async def publish_sequenced(self, channel: str, data: bytes) -> StreamPosition:
        """Assign the channel's next offset and send the framed message, atomically; return its position.

        Subscribers get ``encode_sequenced(epoch, offset, data)`` through their ordinary handler
        (use :func:`parse_sequenced`). Across all nodes, offsets of one epoch are assigned 1, 2, 3, ...
        without gaps, and every subscriber receives them in increasing order. If the call raises, the
        offset may or may not have been used (then it is a hole for everyone).
        """

    @abc.abstractmethod
    async def stream_position(self, channel: str) -> StreamPosition:
        """The channel's current epoch and last assigned offset.

        A channel without a sequence (never published sequenced, or lost) gets one here: a new epoch at
        offset 0. Creation is atomic, so concurrent calls from any nodes agree on the epoch.
        """

    @abc.abstractmethod
    async def subscribe(self, channel: str, handler: Handler) -> None:
        """Deliver the channel's messages to ``handler``; returns once the subscription is active.

        Raises ValueError if this broker is already subscribed to ``channel``.
        """

    @abc.abstractmethod
    async def unsubscribe(self, channel: str) -> None:
        """Stop delivery for ``channel``; a no-op when not subscribed."""
