"""uvicorn's ``websockets-sansio`` WebSocket protocol, keeping less per connection.

A node holds thousands of mostly idle sockets. For each, uvicorn's protocol keeps an
``asyncio.Queue`` of received messages and an ``asyncio.Event`` for write flow control (five
deques between them, about 3.8 KiB, allocated even when empty) and the handshake's request and
response with their headers (about 2.5 KiB) for the connection's whole life. This subclass swaps
the queue and the event for single-purpose equivalents built on plain lists, and lets go of the
handshake's headers once the handshake is answered. The rest is uvicorn's code unchanged.

It relies on the protocol's attribute names (``queue``, ``writable``, ``request``, ``response``):
uvicorn is pinned in pyproject.toml and tests/web/test_ws_protocol.py runs the protocol over real
sockets. ``liveloop serve`` uses it unless ``LIVELOOP_WS_PROTOCOL`` names one of uvicorn's own.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from uvicorn._types import ASGIReceiveEvent, ASGISendEvent
from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState

__all__ = ["Inbox", "LeanWebSocketsProtocol", "WriteGate", "uvicorn_ws"]


def uvicorn_ws(setting: str) -> str:
    """uvicorn's ``ws`` option for ``LIVELOOP_WS_PROTOCOL`` (``lean`` is this module's protocol)."""
    return f"{__name__}:{LeanWebSocketsProtocol.__name__}" if setting == "lean" else setting


class Inbox:
    """What uvicorn's protocol uses of ``asyncio.Queue`` (``put_nowait``, ``get``, ``empty``).

    Unbounded, like the queue it replaces (uvicorn pauses reading the socket while messages wait).
    Two plain lists instead of three deques and an event; getters are woken one per message, in
    order, and a woken getter that is cancelled passes the message on, as ``asyncio.Queue`` does.
    """

    __slots__ = ("_getters", "_items")

    def __init__(self) -> None:
        self._items: list[ASGIReceiveEvent] = []
        self._getters: list[asyncio.Future[None]] = []

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: ASGIReceiveEvent) -> None:
        self._items.append(item)
        self._wake_one()

    async def get(self) -> ASGIReceiveEvent:
        while not self._items:
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                with contextlib.suppress(ValueError):
                    self._getters.remove(getter)
                if self._items and not getter.cancelled():
                    self._wake_one()  # it was woken for a message it will not take: pass it on
                raise
        return self._items.pop(0)

    def _wake_one(self) -> None:
        getters = self._getters
        while getters:
            getter = getters.pop(0)
            if not getter.done():
                getter.set_result(None)
                return


class WriteGate:
    """What uvicorn's protocol uses of ``asyncio.Event`` (``set``, ``clear``, ``wait``,
    ``is_set``), open from the start: a flag and a plain list of waiters instead of a deque."""

    __slots__ = ("_open", "_waiters")

    def __init__(self) -> None:
        self._open = True
        self._waiters: list[asyncio.Future[None]] = []

    def is_set(self) -> bool:
        return self._open

    def set(self) -> None:
        self._open = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._open = False

    async def wait(self) -> bool:
        if self._open:
            return True
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
        return True


class LeanWebSocketsProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O ``websockets`` protocol with a lighter inbox and write gate, and no
    handshake objects kept once the handshake is answered."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.queue: Any = Inbox()
        self.writable: Any = WriteGate()

    async def send(self, message: ASGISendEvent) -> None:
        try:
            await super().send(message)
        finally:
            if self.handshake_complete and hasattr(self, "response"):
                self._forget_handshake()

    def _forget_handshake(self) -> None:
        # Only the handshake reads them; the app has the request's headers in its scope.
        # websockets' parser keeps the request itself (a local of its generator) for the
        # connection's life, so its headers are emptied rather than just dropped.
        self.request.headers.clear()
        del self.request, self.response
