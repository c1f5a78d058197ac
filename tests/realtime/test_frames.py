from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.protocol import State
from websockets.streams import StreamReader
from websockets.uri import parse_uri

from liveloop.realtime import encode_close_frame, encode_text_frame
from liveloop.realtime.frames import MAX_CLOSE_REASON_BYTES

T = TypeVar("T")


def complete(coroutine: Generator[None, None, T]) -> T:
    """Run one of websockets' generator-based coroutines over data that is all there."""
    try:
        next(coroutine)
    except StopIteration as done:
        result: T = done.value
        return result
    raise AssertionError("the parser wants more data than was written")


def parse_all(data: bytes) -> Iterator[Frame]:
    """Parse ``data`` with the websockets library's own frame parser, as a client would."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    while not complete(reader.at_eof()):
        yield complete(Frame.parse(reader.read_exact, mask=False, max_size=None))


def parse_one(data: bytes) -> Frame:
    frames = list(parse_all(data))
    assert len(frames) == 1
    return frames[0]


@pytest.mark.parametrize(
    ("size", "header"), [(0, 2), (1, 2), (125, 2), (126, 4), (127, 4), (65535, 4), (65536, 10), (70_000, 10)]
)
def test_text_frame_lengths(size: int, header: int) -> None:
    payload = bytes(i % 256 for i in range(size))
    wire = encode_text_frame(payload)
    assert len(wire) == header + size
    frame = parse_one(wire)
    assert frame.opcode is Opcode.TEXT
    assert frame.fin
    assert (frame.rsv1, frame.rsv2, frame.rsv3) == (False, False, False)
    assert frame.data == payload


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=70_000), max_size=4))
def test_text_frames_parse_back_in_sequence(payloads: list[bytes]) -> None:
    wire = b"".join(encode_text_frame(payload) for payload in payloads)
    assert [frame.data for frame in parse_all(wire)] == payloads


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=300))
def test_a_websockets_client_receives_the_text(text: str) -> None:
    client = ClientProtocol(parse_uri("ws://localhost/room"), state=State.OPEN, max_size=None)
    client.receive_data(encode_text_frame(text.encode()))
    [event] = client.events_received()
    assert isinstance(event, Frame)
    assert event.opcode is Opcode.TEXT
    assert bytes(event.data).decode() == text


def test_a_websockets_client_sees_the_close_code_and_reason() -> None:
    client = ClientProtocol(parse_uri("ws://localhost/room"), state=State.OPEN)
    client.receive_data(encode_text_frame(b'{"type":"tick"}') + encode_close_frame(4008, "slow_consumer"))
    events = client.events_received()
    assert [event.opcode for event in events if isinstance(event, Frame)] == [Opcode.TEXT, Opcode.CLOSE]
    assert client.close_rcvd is not None
    assert (client.close_rcvd.code, client.close_rcvd.reason) == (4008, "slow_consumer")


@pytest.mark.parametrize("code", [1000, 1001, 1011, 3000, 4008, 4999])
def test_close_frame(code: int) -> None:
    frame = parse_one(encode_close_frame(code, "bye"))
    assert frame.opcode is Opcode.CLOSE
    close = Close.parse(frame.data)
    assert (close.code, close.reason) == (code, "bye")


def test_close_reason_is_cut_at_a_character_boundary() -> None:
    frame = parse_one(encode_close_frame(4000, "慢" * 100))  # 3 bytes each
    reason = Close.parse(frame.data).reason
    assert reason == "慢" * (MAX_CLOSE_REASON_BYTES // 3)
    assert len(frame.data) <= 125


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 2000, 2999, 5000])
def test_close_codes_that_may_not_be_sent(code: int) -> None:
    with pytest.raises(ValueError, match="may not be sent"):
        encode_close_frame(code, "")
