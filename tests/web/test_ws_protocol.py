"""The lean WebSocket protocol: its inbox and write gate against asyncio's, and real sockets."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.types import Message, Receive, Scope, Send
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from liveloop.web.asgi import raw_transport
from liveloop.web.ws_protocol import Inbox, LeanWebSocketsProtocol, WriteGate
from tests.web.inproc_server import serving

# -- the inbox behaves as asyncio.Queue does for uvicorn's uses ---------------------------------

Op = tuple[str, int]
OPS = st.lists(
    st.one_of(
        st.just(("get", 0)),
        st.just(("put", 0)),
        st.just(("tick", 0)),
        st.tuples(st.just("cancel"), st.integers(0, 20)),
    ),
    max_size=40,
)


async def _play(queue: Any, script: list[Op]) -> tuple[list[object], bool]:
    """Run ``script`` on ``queue``: getters are tasks, puts number their items; what each getter
    ended with (an item, "cancelled" or "waiting"), and whether the queue ended empty."""
    getters: list[asyncio.Task[object]] = []
    sent = 0
    for op, arg in script:
        if op == "get":
            getters.append(asyncio.create_task(queue.get()))
        elif op == "put":
            queue.put_nowait({"n": sent})
            sent += 1
        elif op == "cancel" and getters:
            getters[arg % len(getters)].cancel()
        await asyncio.sleep(0) if op == "tick" else None
    for _ in range(3):
        await asyncio.sleep(0)
    outcomes: list[object] = []
    for task in getters:
        if not task.done():
            outcomes.append("waiting")
            task.cancel()
        elif task.cancelled():
            outcomes.append("cancelled")
        else:
            outcomes.append(task.result())
    empty = queue.empty()
    await asyncio.gather(*getters, return_exceptions=True)
    return outcomes, empty


@settings(max_examples=300, deadline=None)
@given(OPS)
def test_the_inbox_hands_out_messages_as_asyncio_queue_does(script: list[Op]) -> None:
    async def both() -> tuple[Any, Any]:
        return await _play(Inbox(), script), await _play(asyncio.Queue(), script)

    ours, theirs = asyncio.run(both())
    assert ours == theirs


@pytest.mark.anyio
async def test_a_getter_cancelled_after_its_wake_up_passes_the_message_on() -> None:
    inbox = Inbox()
    first = asyncio.create_task(inbox.get())
    second = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait({"type": "websocket.connect"})
    first.cancel()  # woken, but cancelled before it could take the message
    with anyio.fail_after(1):
        assert await second == {"type": "websocket.connect"}
    assert first.cancelled()
    assert inbox.empty()


@pytest.mark.anyio
async def test_the_write_gate_holds_writers_while_closed() -> None:
    gate = WriteGate()
    assert gate.is_set()
    assert await gate.wait()
    gate.clear()
    waiters = [asyncio.create_task(gate.wait()) for _ in range(3)]
    cancelled = asyncio.create_task(gate.wait())
    await asyncio.sleep(0.01)
    assert not any(w.done() for w in waiters)
    cancelled.cancel()
    await asyncio.sleep(0)
    gate.set()
    with anyio.fail_after(1):
        assert await asyncio.gather(*waiters) == [True, True, True]
    assert cancelled.cancelled()
    assert gate.is_set()


# -- over real sockets --------------------------------------------------------------------------


class Echo:
    """Echoes text and bytes; ``close`` closes with 4001; records what it saw."""

    def __init__(self) -> None:
        self.seen: list[Message] = []
        self.protocol: Any = None
        self.transport: Any = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.done = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "websocket"
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        self.protocol = getattr(send, "__self__", None)
        self.transport = raw_transport(send)
        self.headers = list(scope["headers"])
        try:
            while True:
                message = await receive()
                self.seen.append(message)
                if message["type"] == "websocket.disconnect":
                    return
                if message.get("text") == "close":
                    await send({"type": "websocket.close", "code": 4001, "reason": "asked"})
                    return
                await send({**message, "type": "websocket.send"})
        finally:
            self.done.set()


@pytest.mark.anyio
@pytest.mark.parametrize("ws", ["lean", "websockets-sansio"])
async def test_both_protocols_carry_a_conversation_and_expose_the_transport(ws: str) -> None:
    app = Echo()
    async with serving(app, ws) as (_, port), connect(f"ws://127.0.0.1:{port}/x?a=1") as client:
        for text in ("你好", "x" * 5000, "{}"):
            await client.send(text)
            assert await client.recv() == text
        await client.send(b"\x00\x01")
        assert await client.recv() == b"\x00\x01"
        await client.send("close")
        with pytest.raises(ConnectionClosed) as closed, anyio.fail_after(5):
            await client.recv()
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4001, "asked")
    assert app.transport is not None
    assert (b"host", f"127.0.0.1:{port}".encode()) in app.headers


@pytest.mark.anyio
async def test_the_lean_protocol_keeps_no_handshake_objects_and_no_asyncio_queue() -> None:
    app = Echo()
    async with serving(app, "lean") as (_, port), connect(f"ws://127.0.0.1:{port}/x") as client:
        await client.send("ping")
        assert await client.recv() == "ping"
        protocol = app.protocol
        assert isinstance(protocol, LeanWebSocketsProtocol)
        assert not hasattr(protocol, "request")
        assert not hasattr(protocol, "response")
        assert isinstance(protocol.queue, Inbox)
        assert isinstance(protocol.writable, WriteGate)
        assert app.headers  # the app's scope keeps the request's headers
        await client.close()
        with anyio.fail_after(5):
            await app.done.wait()
    assert app.seen[-1]["type"] == "websocket.disconnect"
    assert app.seen[-1]["code"] == 1000


@pytest.mark.anyio
async def test_a_paused_transport_holds_the_apps_sends_until_it_resumes() -> None:
    app = Echo()
    async with serving(app, "lean") as (_, port), connect(f"ws://127.0.0.1:{port}/x") as client:
        await client.send("first")
        assert await client.recv() == "first"
        app.protocol.pause_writing()
        await client.send("held")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.recv(), timeout=0.2)
        app.protocol.resume_writing()
        with anyio.fail_after(5):
            assert await client.recv() == "held"
