"""The app's outermost layer: room sockets go straight to the gateway, a few hot HTTP paths to
their front lanes (the flash sale's buy route: ``commerce/api_buy_lane.py``), the rest to FastAPI.

A node holds thousands of room sockets, idle most of the time. Served through FastAPI, each kept
its routing, middleware and exception-handling coroutines, dependency exit stacks and scope copies
alive for its whole life (about 13 KiB per socket, measured with tracemalloc). Dispatched here,
before any of them, a socket keeps only the gateway's own state. The room socket needs none of
them: it authenticates from its query and answers refusals with close codes, and the middlewares
(body limit, HTTP metrics, console session) act on HTTP requests only.
"""

from __future__ import annotations

import re
from typing import Any, Final

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from liveloop.realtime.gateway import serve_room_socket
from liveloop.realtime.peers import TransportLike

__all__ = ["ROOM_SOCKET_PATH", "LiveloopApp", "raw_transport", "room_socket_id"]

#: ``/ws/rooms/{room_id}``; longer ids than a BIGINT holds fall through (no route: 403).
ROOM_SOCKET_PATH: Final = re.compile(r"/ws/rooms/([0-9]{1,18})")


def raw_transport(send: Send) -> TransportLike | None:
    """The socket's asyncio transport, when the server exposes it (uvicorn), else None.

    uvicorn's WebSocket protocols hand the app a bound ``send`` whose owner holds the transport.
    Writing pre-encoded, unmasked server frames straight to it lets one tick's bytes go to
    thousands of sockets without a per-socket ASGI send. Frames are whole ``write`` calls, so they
    never interleave with the protocol's own (ping, close) writes. Under any other server (and the
    test client) there is none and the gateway falls back to ordinary sends.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None and hasattr(transport, "get_write_buffer_size"):
        found: TransportLike = transport
        return found
    return None


class LiveloopApp(FastAPI):
    """FastAPI, except that ``/ws/rooms/{room_id}`` sockets are served by the room gateway itself
    and an HTTP path in :attr:`front_lanes` by its lane (which passes on what it does not serve to
    :meth:`through_stack`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Exact HTTP path -> the ASGI app serving it ahead of the middleware stack and routing.
        self.front_lanes: dict[str, ASGIApp] = {}

    async def through_stack(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a request as FastAPI does: middleware, routing, the route."""
        await super().__call__(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            lane = self.front_lanes.get(scope["path"])
            await (super().__call__ if lane is None else lane)(scope, receive, send)
            return
        room_id = room_socket_id(scope)
        if room_id is None:
            await super().__call__(scope, receive, send)
            return
        # This frame stays alive as long as the socket: it holds no more than it must.
        state = self.state
        await serve_room_socket(
            state.realtime,
            room_id,
            scope,
            receive,
            send,
            transport=raw_transport(send),
            commerce=getattr(state, "commerce", None),
        )


def room_socket_id(scope: Scope) -> int | None:
    """The room id of a ``/ws/rooms/{room_id}`` WebSocket scope; None for anything else."""
    if scope["type"] != "websocket":
        return None
    match = ROOM_SOCKET_PATH.fullmatch(scope["path"])
    return int(match[1]) if match is not None else None
