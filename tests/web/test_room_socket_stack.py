"""Room sockets are served by the app's outermost layer: no framework state kept per socket."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import orjson
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from liveloop.realtime import TransportPeer
from liveloop.realtime.protocol import CloseCode
from liveloop.settings import Settings
from liveloop.web.app import create_app
from tests.conftest import ShopKeys, created, run_async
from tests.web.inproc_server import serving


@pytest.mark.parametrize("path", ["/ws/rooms/abc", "/ws/rooms/1234567890123456789", "/ws/rooms/1/x"])
def test_paths_that_are_no_room_id_are_refused_at_the_handshake(client: TestClient, path: str) -> None:
    with pytest.raises(WebSocketDisconnect), client.websocket_connect(f"{path}?device_id=d1"):
        pass


def _await_chain(task: asyncio.Task[Any]) -> list[str]:
    """``module.function`` of every coroutine frame the task is suspended in, outermost first."""
    chain: list[str] = []
    coro: Any = task.get_coro()
    while coro is not None and getattr(coro, "cr_frame", None) is not None:
        chain.append(f"{coro.cr_frame.f_globals['__name__']}.{coro.__qualname__}")
        coro = coro.cr_await
    return chain


@pytest.mark.parametrize("ws", ["lean", "websockets-sansio"])
def test_a_room_socket_under_uvicorn_keeps_no_framework_frames_and_writes_to_its_transport(
    client: TestClient, shop: ShopKeys, settings: Settings, ws: str
) -> None:
    room = created(client.post("/api/v1/rooms", json={"name": "直播间"}, headers=shop.headers()))

    async def scenario() -> tuple[list[list[str]], list[Any]]:
        app = create_app(settings)
        async with serving(app, ws, lifespan="on") as (server, port):
            url = f"ws://127.0.0.1:{port}/ws/rooms/{room['id']}?v=1&device_id=stack-1"
            async with connect(url) as viewer:
                with anyio.fail_after(10):
                    hello = orjson.loads(await viewer.recv())
                    snapshot = orjson.loads(await viewer.recv())
                assert (hello["type"], snapshot["type"]) == ("hello", "snapshot")
                await asyncio.sleep(0.05)  # the socket's task is waiting for the next frame
                chains = [_await_chain(task) for task in server.server_state.tasks]
                local = app.state.realtime.node.rooms[room["id"]]
                peers = [conn.peer for conns in local.connections.values() for conn in conns]
        return chains, peers

    chains, peers = run_async(scenario)
    sockets = [chain for chain in chains if "liveloop.realtime.gateway.serve_room_socket" in chain]
    assert len(sockets) == 1, chains
    chain = sockets[0]
    assert not [name for name in chain if name.startswith(("starlette.", "fastapi."))], chain
    # uvicorn's run_asgi, its proxy-headers middleware, our app, the gateway, receive (+ its queue)
    assert len(chain) <= 6, chain
    assert [type(peer) for peer in peers] == [TransportPeer]


@pytest.mark.parametrize("ws", ["lean", "websockets-sansio"])
def test_under_uvicorn_a_refusal_is_an_error_frame_then_its_close_code(settings: Settings, ws: str) -> None:
    async def scenario() -> tuple[dict[str, Any], int | None, str | None]:
        async with serving(create_app(settings), ws, lifespan="on") as (_, port):
            url = f"ws://127.0.0.1:{port}/ws/rooms/999999?v=1&device_id=d1"
            async with connect(url) as viewer:
                with anyio.fail_after(10):
                    error = orjson.loads(await viewer.recv())
                    with pytest.raises(ConnectionClosed) as closed:
                        await viewer.recv()
        rcvd = closed.value.rcvd
        return error, rcvd.code if rcvd else None, rcvd.reason if rcvd else None

    error, code, reason = run_async(scenario)
    assert error["code"] == "rooms.room_not_found"
    assert (code, reason) == (CloseCode.NOT_FOUND, "room_not_found")
