"""The Broker port: cross-node fan-out of room frames."""

from __future__ import annotations

import abc
from collections.abc import Callable

__all__ = ["Broker", "Handler"]

#: Called on the event loop with ``(channel, data)``; it must not block. An exception it raises is
#: logged and does not stop delivery.
Handler = Callable[[str, bytes], None]


class Broker(abc.ABC):
    """Publish bytes on a channel (one per room) to every node subscribed to it.

    Guarantees: at-most-once delivery (a message may be lost, e.g. while a connection is re-established,
    never duplicated); messages from one publisher on one channel arrive in the order the ``publish``
    calls were made; no persistence or replay; a subscriber receives only messages published after
    its ``subscribe()`` returned, and none once its ``unsubscribe()`` returned. A node that publishes on
    a channel it is subscribed to receives its own message too. Payloads arrive as fresh ``bytes``
    equal to what was sent. A broker instance is one node: it subscribes to a channel once, with one
    handler, however many local sockets want the channel. Call ``start()`` before anything else; after
    ``close()`` the instance cannot be used.
    """

    @abc.abstractmethod
    async def start(self) -> None:
        """Open connections and start delivering."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Drop all subscriptions and release resources; idempotent."""

    @abc.abstractmethod
    async def publish(self, channel: str, data: bytes) -> None:
        """Send ``data`` to every current subscriber of ``channel`` (possibly none)."""

    @abc.abstractmethod
    async def subscribe(self, channel: str, handler: Handler) -> None:
        """Deliver the channel's messages to ``handler``; returns once the subscription is active.

        Raises ValueError if this broker is already subscribed to ``channel``.
        """

    @abc.abstractmethod
    async def unsubscribe(self, channel: str) -> None:
        """Stop delivery for ``channel``; a no-op when not subscribed."""
