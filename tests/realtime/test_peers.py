from __future__ import annotations

import asyncio
import functools

import anyio
import anyio.lowlevel
import pytest
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from liveloop.realtime import OutFrame, Peer, QueuePeer, TransportPeer, encode_close_frame, encode_text_frame
from liveloop.realtime import peers as peers_module
from tests.realtime.fakes import FakePeer, FakeTransport


def test_out_frame_encodes_once_and_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bytes] = []

    def counting(payload: bytes) -> bytes:
        calls.append(payload)
        return encode_text_frame(payload)

    monkeypatch.setattr(peers_module, "encode_text_frame", counting)
    frame = OutFrame('{"type":"tick","text":"你好"}'.encode())
    assert frame.wire is frame.wire
    assert frame.wire == encode_text_frame(frame.payload)
    assert len(calls) == 1
    assert frame.text is frame.text
    assert frame.text == '{"type":"tick","text":"你好"}'
    assert len(frame) == len(frame.payload)


def test_the_fakes_and_adapters_are_peers() -> None:
    peers: list[Peer] = [FakePeer("a"), QueuePeer("b"), TransportPeer("c", FakeTransport())]
    assert [peer.peer_id for peer in peers] == ["a", "b", "c"]


def test_transport_peers_share_one_encoding(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bytes] = []

    def counting(payload: bytes) -> bytes:
        calls.append(payload)
        return encode_text_frame(payload)

    monkeypatch.setattr(peers_module, "encode_text_frame", counting)
    transports = [FakeTransport() for _ in range(500)]
    frame = OutFrame(b'{"type":"tick"}')
    for n, transport in enumerate(transports):
        TransportPeer(f"p{n}", transport).write(frame)
    assert len(calls) == 1
    assert all(transport.chunks[0] is frame.wire for transport in transports)


def test_transport_peer_reports_its_buffer_and_closes_with_a_close_frame() -> None:
    transport = FakeTransport()
    peer = TransportPeer("p", transport)
    frame = OutFrame(b"{}")
    peer.write(frame)
    assert peer.buffered() == len(frame.wire)
    peer.close(4008, "slow_consumer")
    peer.close(4008, "slow_consumer")  # idempotent
    peer.write(frame)  # ignored once closing
    assert transport.chunks == [frame.wire, encode_close_frame(4008, "slow_consumer")]
    assert transport.closing


@pytest.mark.anyio
async def test_queue_peer_sends_payloads_in_order_then_closes() -> None:
    peer = QueuePeer("q")
    sent: list[bytes] = []
    closed: list[tuple[int, str]] = []
    five, six = anyio.Event(), anyio.Event()

    async def send(payload: bytes) -> None:
        sent.append(payload)
        {5: five, 6: six}.get(len(sent), anyio.Event()).set()
        await anyio.lowlevel.checkpoint()

    async def close(code: int, reason: str) -> None:
        closed.append((code, reason))

    async with anyio.create_task_group() as tg:
        tg.start_soon(functools.partial(peer.run, send, close=close))
        for n in range(5):
            peer.write(OutFrame(str(n).encode()))
        assert peer.buffered() == 5
        with anyio.fail_after(1):
            await five.wait()
        assert peer.buffered() == 0
        peer.write(OutFrame(b"5"))
        with anyio.fail_after(1):
            await six.wait()
        peer.close(1001, "going_away")
    assert sent == [b"0", b"1", b"2", b"3", b"4", b"5"]
    assert closed == [(1001, "going_away")]
    assert peer.closed


def test_queue_peer_overflow_closes_it_as_a_slow_consumer() -> None:
    peer = QueuePeer("q", max_frames=3)
    for _ in range(3):
        peer.write(OutFrame(b"xx"))
    assert peer.buffered() == 6
    peer.write(OutFrame(b"xx"))
    assert (peer.close_code, peer.close_reason) == (4008, "slow_consumer")
    assert peer.buffered() == 0
    peer.write(OutFrame(b"xx"))
    assert peer.buffered() == 0


@pytest.mark.anyio
async def test_queue_peer_stops_when_send_fails() -> None:
    peer = QueuePeer("q")
    peer.write(OutFrame(b"1"))
    peer.write(OutFrame(b"2"))

    async def send(payload: bytes) -> None:
        raise ConnectionResetError("gone")

    with pytest.raises(ConnectionResetError):
        await peer.run(send)
    assert peer.closed
    assert peer.buffered() == 0
    peer.write(OutFrame(b"3"))
    assert peer.buffered() == 0


def test_queue_peer_rejects_a_zero_bound() -> None:
    with pytest.raises(ValueError, match="max_frames"):
        QueuePeer("q", max_frames=0)


@pytest.mark.anyio
async def test_transport_peer_over_a_real_socket_reaches_a_websockets_client() -> None:
    loop = asyncio.get_running_loop()
    received = bytearray()
    lost = asyncio.Event()
    accepted: asyncio.Queue[asyncio.Transport] = asyncio.Queue()

    class Viewer(asyncio.Protocol):
        def data_received(self, data: bytes) -> None:
            received.extend(data)

        def connection_lost(self, exc: Exception | None) -> None:
            lost.set()

    class Node(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            accepted.put_nowait(transport)

    server = await loop.create_server(Node, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        await loop.create_connection(Viewer, "127.0.0.1", port)
        peer = TransportPeer("p", await accepted.get())
        payloads = [b'{"type":"tick","n":1}', b"x" * 70_000, '{"text":"欢迎"}'.encode()]
        for payload in payloads:
            peer.write(OutFrame(payload))
        peer.close(4008, "slow_consumer")
        with anyio.fail_after(5):
            await lost.wait()
    finally:
        server.close()
        await server.wait_closed()
    client = ClientProtocol(parse_uri("ws://localhost/room"), state=State.OPEN, max_size=None)
    client.receive_data(bytes(received))
    frames = [event for event in client.events_received() if isinstance(event, Frame)]
    texts = [bytes(frame.data) for frame in frames if frame.opcode is Opcode.TEXT]
    assert texts == payloads
    assert client.close_rcvd is not None
    assert (client.close_rcvd.code, client.close_rcvd.reason) == (4008, "slow_consumer")
