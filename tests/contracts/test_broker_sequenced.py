"""The Broker's sequenced publishing, run against every adapter (see conftest): global offset order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from liveloop.adapters.memory import MemoryBroker, MemoryBus
from liveloop.adapters.redis import RedisBroker
from liveloop.core.broker import (
    SEQUENCED_PREFIX,
    Broker,
    SequencedMessage,
    StreamPosition,
    encode_sequenced,
    parse_sequenced,
)
from tests.contracts.conftest import drop_namespace
from tests.contracts.test_broker import Inbox, flush

_EPOCHS = st.text(alphabet="0123456789abcdefABCDEF_-xyz", min_size=1, max_size=64)
_OFFSETS = st.integers(min_value=1, max_value=2**63 - 1)


@pytest.fixture
async def make_node(
    make_node: Callable[[], Broker], namespace: str, redis_client: Redis | None
) -> AsyncIterator[Callable[[], Broker]]:
    """conftest's node factory; sequences are Redis keys (unlike pub/sub), deleted afterwards."""
    yield make_node
    if redis_client is not None:
        await drop_namespace(redis_client, namespace)


def sequenced(inbox: Inbox) -> list[SequencedMessage]:
    messages = [parse_sequenced(data) for data in inbox.payloads]
    assert all(message is not None for message in messages)
    return [message for message in messages if message is not None]


async def forget_sequence(node: Broker, channel: str, redis_client: Redis | None) -> None:
    """Lose the channel's sequence the way the backend would (Redis flush; for memory, the bus)."""
    if isinstance(node, RedisBroker):
        assert redis_client is not None
        assert await redis_client.delete(node.sequence_key(channel)) == 1
    else:
        assert isinstance(node, MemoryBroker)
        node.bus.drop_sequence(channel)


# --- the framing (pure) ---------------------------------------------------------------------------


def test_the_framing_is_documented() -> None:
    assert encode_sequenced("e1", 42, b"hi\n:") == b"\x00seq:e1:42\nhi\n:"
    assert parse_sequenced(b"\x00seq:e1:42\nhi\n:") == SequencedMessage("e1", 42, b"hi\n:")
    assert parse_sequenced(b"\x00seq:e1:1\n") == SequencedMessage("e1", 1, b"")
    assert parse_sequenced(b"") is None
    assert parse_sequenced(b"plain") is None
    assert parse_sequenced(b"\x00se") is None


@pytest.mark.parametrize(
    "bad",
    [
        b"\x00seq:",
        b"\x00seq:e1:1",
        b"\x00seq::1\n",
        b"\x00seq:e1:0\n",
        b"\x00seq:e1:01\n",
        b"\x00seq:e:1:2\n",
    ],
)
def test_a_malformed_frame_raises(bad: bytes) -> None:
    with pytest.raises(ValueError, match="malformed"):
        parse_sequenced(bad)


@pytest.mark.parametrize(("epoch", "offset"), [("", 1), ("a:b", 1), ("é", 1), ("x" * 65, 1), ("e", 0)])
def test_encode_rejects_what_parse_could_not_read(epoch: str, offset: int) -> None:
    with pytest.raises(ValueError, match=r"epoch|offset"):
        encode_sequenced(epoch, offset, b"")


@settings(max_examples=300, deadline=None)
@given(epoch=_EPOCHS, offset=_OFFSETS, data=st.binary(max_size=200))
def test_parse_inverts_encode(epoch: str, offset: int, data: bytes) -> None:
    assert parse_sequenced(encode_sequenced(epoch, offset, data)) == SequencedMessage(epoch, offset, data)


@settings(max_examples=300, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=200),
        # Near misses: payloads that begin like a frame.
        st.builds(lambda n, tail: SEQUENCED_PREFIX[:n] + tail, st.integers(0, 5), st.binary(max_size=40)),
    )
)
def test_a_plain_payload_is_never_taken_for_a_sequenced_one(data: bytes) -> None:
    # Every payload ``publish`` accepts (it refuses the reserved prefix) parses as plain.
    if data.startswith(SEQUENCED_PREFIX):
        return
    assert parse_sequenced(data) is None


# --- the adapters ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_plain_publish_refuses_the_reserved_prefix(two_nodes: tuple[Broker, Broker]) -> None:
    a, b = two_nodes
    inbox = Inbox()
    await b.subscribe("room", inbox)
    with pytest.raises(ValueError, match="reserved"):
        await a.publish("room", SEQUENCED_PREFIX + b"e:1\nforged")
    await a.publish("room", b"\x00seq")  # only the full prefix is reserved
    await inbox.wait_for(1)
    await flush(a, b)
    assert inbox.payloads == [b"\x00seq"]


@pytest.mark.anyio
async def test_offsets_count_from_one_and_reach_other_nodes_in_order(
    two_nodes: tuple[Broker, Broker],
) -> None:
    a, b = two_nodes
    inbox = Inbox()
    await b.subscribe("room", inbox)
    positions = [await a.publish_sequenced("room", f"m{i}".encode()) for i in range(1, 51)]
    epoch = positions[0].epoch
    assert positions == [StreamPosition(epoch, i) for i in range(1, 51)]
    await inbox.wait_for(50)
    assert sequenced(inbox) == [SequencedMessage(epoch, i, f"m{i}".encode()) for i in range(1, 51)]
    # Byte for byte the documented framing (the Redis script frames on its own).
    assert inbox.payloads[0] == encode_sequenced(epoch, 1, b"m1")
    assert all(type(data) is bytes for data in inbox.payloads)


@pytest.mark.anyio
async def test_sequenced_and_plain_messages_share_the_handler_and_the_call_order(
    two_nodes: tuple[Broker, Broker],
) -> None:
    a, b = two_nodes
    inbox = Inbox()
    await b.subscribe("room", inbox)
    await a.publish("room", b"plain-1")
    first = await a.publish_sequenced("room", b"seq-1")
    await a.publish("room", b"plain-2")
    await asyncio.gather(a.publish_sequenced("room", b"seq-2"), a.publish("room", b"plain-3"))
    await inbox.wait_for(5)
    parsed = [parse_sequenced(data) or data for data in inbox.payloads]
    assert parsed == [
        b"plain-1",
        SequencedMessage(first.epoch, 1, b"seq-1"),
        b"plain-2",
        SequencedMessage(first.epoch, 2, b"seq-2"),
        b"plain-3",
    ]


@pytest.mark.anyio
async def test_channels_have_separate_sequences(two_nodes: tuple[Broker, Broker]) -> None:
    a, b = two_nodes
    one = await a.publish_sequenced("room:1", b"x")
    two = await b.publish_sequenced("room:2", b"x")
    assert (one.offset, two.offset) == (1, 1)
    assert one.epoch != two.epoch
    assert (await a.publish_sequenced("room:1", b"y")).offset == 2


@pytest.mark.anyio
async def test_concurrent_publishers_on_two_nodes_yield_one_gapless_order(
    make_node: Callable[[], Broker],
) -> None:
    a, b, watcher = make_node(), make_node(), make_node()
    for node in (a, b, watcher):
        await node.start()
    inbox = Inbox()
    await watcher.subscribe("room", inbox)
    per_node = 300

    async def burst(node: Broker, name: str) -> list[StreamPosition]:
        # Chunks of concurrent calls, so both nodes' scripts really interleave on the server.
        positions: list[StreamPosition] = []
        for start in range(0, per_node, 30):
            chunk = [f"{name}{i}".encode() for i in range(start, start + 30)]
            positions += await asyncio.gather(*(node.publish_sequenced("room", data) for data in chunk))
        return positions

    from_a, from_b = await asyncio.gather(burst(a, "a"), burst(b, "b"))
    await inbox.wait_for(2 * per_node, seconds=15.0)
    messages = sequenced(inbox)
    epoch = messages[0].epoch
    assert all(message.epoch == epoch for message in messages)
    assert [message.offset for message in messages] == list(range(1, 2 * per_node + 1))
    # The offsets each publisher was told are exactly those of its own messages, in its call order.
    by_offset = {message.offset: message.data for message in messages}
    for name, positions in (("a", from_a), ("b", from_b)):
        assert all(position.epoch == epoch for position in positions)
        assert [by_offset[p.offset] for p in positions] == [f"{name}{i}".encode() for i in range(per_node)]
        assert [p.offset for p in positions] == sorted(p.offset for p in positions)
    # Really interleaved: neither node got one contiguous block.
    assert sorted(p.offset for p in from_a) != list(range(1, per_node + 1))
    assert sorted(p.offset for p in from_a) != list(range(per_node + 1, 2 * per_node + 1))


@pytest.mark.anyio
async def test_every_subscriber_sees_the_same_order(make_node: Callable[[], Broker]) -> None:
    nodes = [make_node() for _ in range(4)]
    for node in nodes:
        await node.start()
    inboxes = [Inbox(), Inbox()]
    await nodes[2].subscribe("room", inboxes[0])
    await nodes[3].subscribe("room", inboxes[1])
    await asyncio.gather(
        *(nodes[i % 2].publish_sequenced("room", f"{i}".encode()) for i in range(100)),
        *(nodes[2 + i % 2].publish_sequenced("room", f"x{i}".encode()) for i in range(100)),
    )
    for inbox in inboxes:
        await inbox.wait_for(200)
    first, second = (sequenced(inbox) for inbox in inboxes)
    assert first == second
    assert [message.offset for message in first] == list(range(1, 201))


@pytest.mark.anyio
async def test_stream_position_creates_one_epoch_under_concurrency(two_nodes: tuple[Broker, Broker]) -> None:
    a, b = two_nodes
    positions = await asyncio.gather(*(node.stream_position("room") for _ in range(10) for node in (a, b)))
    assert len(positions) == 20
    assert {position.offset for position in positions} == {0}
    epoch = positions[0].epoch
    assert {position.epoch for position in positions} == {epoch}
    # The epoch created by reading is the one publishing continues.
    assert await b.publish_sequenced("room", b"x") == StreamPosition(epoch, 1)
    await a.publish_sequenced("room", b"y")
    await b.publish_sequenced("room", b"z")
    assert await a.stream_position("room") == await b.stream_position("room") == StreamPosition(epoch, 3)


@pytest.mark.anyio
async def test_a_lost_sequence_starts_a_new_epoch(
    two_nodes: tuple[Broker, Broker], redis_client: Redis | None
) -> None:
    a, b = two_nodes
    inbox = Inbox()
    await b.subscribe("room", inbox)
    for _ in range(3):
        old = await a.publish_sequenced("room", b"before")
    assert old.offset == 3
    await forget_sequence(a, "room", redis_client)
    new = await a.publish_sequenced("room", b"after")
    assert new.offset == 1
    assert new.epoch != old.epoch
    assert await b.stream_position("room") == new
    await inbox.wait_for(4)
    assert [(m.epoch, m.offset) for m in sequenced(inbox)][-2:] == [(old.epoch, 3), (new.epoch, 1)]
    # Losing it again, then reading first: the read creates yet another epoch, at offset 0.
    await forget_sequence(a, "room", redis_client)
    fresh = await b.stream_position("room")
    assert fresh.offset == 0
    assert fresh.epoch not in (old.epoch, new.epoch)
    assert await a.publish_sequenced("room", b"again") == StreamPosition(fresh.epoch, 1)


@pytest.mark.anyio
async def test_the_sequence_expires_when_idle(
    adapter: str, two_nodes: tuple[Broker, Broker], redis_client: Redis | None
) -> None:
    a, _ = two_nodes
    first = await a.publish_sequenced("room", b"x")
    if isinstance(a, RedisBroker):
        assert redis_client is not None
        ttl = await redis_client.pttl(a.sequence_key("room"))
        assert 6 * 24 * 3600 * 1000 < ttl <= 7 * 24 * 3600 * 1000
        return
    clock_now = [0.0]
    bus = MemoryBus(sequence_ttl_seconds=10, clock=lambda: clock_now[0])
    node = MemoryBroker(bus)
    await node.start()
    first = await node.publish_sequenced("room", b"x")
    await node.stream_position("other")
    clock_now[0] = 9.0
    assert (await node.publish_sequenced("room", b"y")).offset == 2  # refreshes the ttl
    clock_now[0] = 15.0
    assert await node.stream_position("room") == StreamPosition(first.epoch, 2)
    assert "other" not in bus._sequences  # swept, not leaked
    clock_now[0] = 19.0
    renewed = await node.stream_position("room")
    assert renewed.offset == 0
    assert renewed.epoch != first.epoch
    await node.close()


@pytest.mark.anyio
async def test_sequenced_calls_need_a_running_broker(make_node: Callable[[], Broker]) -> None:
    node = make_node()
    with pytest.raises(RuntimeError, match="start"):
        await node.publish_sequenced("room", b"x")
    with pytest.raises(RuntimeError, match="start"):
        await node.stream_position("room")
    await node.start()
    await node.close()
    with pytest.raises(RuntimeError):
        await node.publish_sequenced("room", b"x")
    with pytest.raises(RuntimeError):
        await node.stream_position("room")
