"""An ASGI app under uvicorn in this process and event loop, for tests that inspect the server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import anyio
import uvicorn

from liveloop.web.ws_protocol import uvicorn_ws


@asynccontextmanager
async def serving(
    app: Any, ws: str, *, lifespan: Literal["on", "off"] = "off"
) -> AsyncIterator[tuple[uvicorn.Server, int]]:
    """``app`` under uvicorn with ``LIVELOOP_WS_PROTOCOL=ws`` (as ``liveloop serve`` runs it);
    yields the server and its port, stops it afterwards."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        ws=uvicorn_ws(ws),
        ws_per_message_deflate=False,
        ws_max_size=64 * 1024,
        lifespan=lifespan,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    # A socket listening before uvicorn starts: connections wait in its backlog, no polling.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(100)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield server, sock.getsockname()[1]
    finally:
        server.should_exit = True
        with anyio.fail_after(20):
            await task
        sock.close()
