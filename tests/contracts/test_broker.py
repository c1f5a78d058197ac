"""The Broker contract, run against every adapter with two or more nodes (see conftest)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

from liveloop.adapters.redis import RedisBroker, make_redis
from liveloop.core.broker import Broker

pytestmark = pytest.mark.anyio


class Inbox:
    """A handler that records deliveries and lets a test wait for them."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes]] = []
        self._changed = asyncio.Event()

    def __call__(self, channel: str, data: bytes) -> None:
        self.received.append((channel, data))
        self._changed.set()

    @property
    def payloads(self) -> list[bytes]:
        return [data for _, data in self.received]

    async def wait_for(self, count: int, *, seconds: float = 5.0) -> None:
        async with asyncio.timeout(seconds):
            while len(self.received) < count:
                self._changed.clear()
                await self._changed.wait()


async def flush(publisher: Broker, receiver: Broker) -> None:
    """Wait until everything ``publisher`` sent so far has reached ``receiver``.

    A marker is sent after the earlier messages and delivery is ordered, so once the marker
    arrives, any earlier message that was going to arrive has arrived.
    """
    marker = Inbox()
    await receiver.subscribe("flush-marker", marker)
    await publisher.publish("flush-marker", b"")
    await marker.wait_for(1)
    await receiver.unsubscribe("flush-marker")


async def test_message_reaches_the_other_node(two_nodes: tuple[Broker, Broker]) -> None:
    a, b = two_nodes
    inbox = Inbox()
    await b.subscribe("room:1", inbox)
    payload = bytes(range(256)) * 64
    await a.publish("room:1", payload)
    await a.publish("room:2", b"elsewhere")
    await a.publish("room:1", b"")
    await inbox.wait_for(2)
    assert inbox.received == [("room:1", payload), ("room:1", b"")]
    assert all(type(data) is bytes for data in inbox.payloads)


async def test_every_subscribed_node_gets_a_copy_including_the_publisher(
    two_nodes: tuple[Broker, Broker],
) -> None:
    a, b = two_nodes
    inbox_a, inbox_b = Inbox(), Inbox()
    await a.subscribe("room", inbox_a)
    await b.subscribe("room", inbox_b)
    await a.publish("room", b"hi")
    await inbox_a.wait_for(1)
    await inbox_b.wait_for(1)
    assert inbox_a.payloads == inbox_b.payloads == [b"hi"]


async def test_order_is_preserved_per_publisher(two_nodes: tuple[Broker, Broker]) -> None:
    a, b = two_nodes
    inbox = Inbox()
    await b.subscribe("room", inbox)
    sent = [f"m{i}".encode() for i in range(200)]
    for data in sent[:100]:
        await a.publish("room", data)
    # Concurrent publish calls keep the order in which they were made.
    await asyncio.gather(*(a.publish("room", data) for data in sent[100:]))
    await inbox.wait_for(200)
    assert inbox.payloads == sent


async def test_delivery_is_not_reentrant(two_nodes: tuple[Broker, Broker]) -> None:
    a, _ = two_nodes
    inbox = Inbox()
    await a.subscribe("room", inbox)
    await a.publish("room", b"x")
    assert inbox.received == []  # handlers never run inside publish()
    await inbox.wait_for(1)


async def test_only_messages_published_after_subscribe_returned(two_nodes: tuple[Broker, Broker]) -> None:
    a, b = two_nodes
    await a.publish("room:0", b"before")

    async def subscribe_then_publish(channel: str) -> Inbox:
        inbox = Inbox()
        await b.subscribe(channel, inbox)
        # Published from another node right away: subscribe() must have been confirmed already.
        await a.publish(channel, b"after")
        return inbox

    # Many at once, so the server sees the other node's publishes while subscriptions are pending.
    inboxes = await asyncio.gather(*(subscribe_then_publish(f"room:{i}") for i in range(100)))
    for inbox in inboxes:
        await inbox.wait_for(1, seconds=2.0)
    await flush(a, b)
    assert all(inbox.payloads == [b"after"] for inbox in inboxes)


async def test_subscribe_returns_only_once_redis_confirmed_it(
    adapter: str, make_node: Callable[[], Broker], namespace: str, laggy_redis_url: str
) -> None:
    if adapter == "memory":
        pytest.skip("the in-process bus registers subscriptions synchronously")
    a = make_node()
    await a.start()
    client = make_redis(laggy_redis_url)
    b = RedisBroker(client, namespace=namespace)
    try:
        await b.start()
        inbox = Inbox()
        await b.subscribe("room", inbox)
        await a.publish("room", b"after")
        await inbox.wait_for(1, seconds=2.0)
        assert inbox.payloads == [b"after"]
    finally:
        await b.close()
        await client.aclose()


async def test_close_fails_a_pending_subscribe(adapter: str, namespace: str, laggy_redis_url: str) -> None:
    if adapter == "memory":
        pytest.skip("the in-process bus registers subscriptions synchronously")
    client = make_redis(laggy_redis_url)
    node = RedisBroker(client, namespace=namespace)
    try:
        await node.start()
        pending = asyncio.create_task(node.subscribe("room", Inbox()))
        await asyncio.sleep(0.01)  # SUBSCRIBE sent, confirmation still 50 ms away
        await node.close()
        with pytest.raises(RuntimeError, match="closed"):
            await pending
    finally:
        await node.close()
        await client.aclose()


async def test_delivery_resumes_after_the_connection_drops(
    adapter: str, make_node: Callable[[], Broker], namespace: str, redis_test_url: str
) -> None:
    if adapter == "memory":
        pytest.skip("the in-process bus has no connection to lose")
    a = make_node()
    await a.start()
    name = f"liveloop-test-{uuid.uuid4().hex}"
    parts = urlsplit(redis_test_url)
    query = "&".join(filter(None, [parts.query, f"client_name={name}"]))
    client, admin = make_redis(parts._replace(query=query).geturl()), make_redis(redis_test_url)
    b = RedisBroker(client, namespace=namespace)
    try:
        await b.start()
        inbox = Inbox()
        await b.subscribe("room", inbox)
        victims = [c["id"] for c in await admin.client_list() if c["name"] == name and int(c["sub"]) > 0]
        assert len(victims) == 1
        await admin.client_kill_filter(_id=victims[0])
        # At-most-once: messages sent while it reconnects may be lost, later ones must arrive.
        async with asyncio.timeout(5):
            while not inbox.received:
                await a.publish("room", b"after")
                await asyncio.sleep(0.05)
    finally:
        await b.close()
        await asyncio.gather(client.aclose(), admin.aclose())


async def test_unsubscribe_stops_delivery(two_nodes: tuple[Broker, Broker]) -> None:
    a, b = two_nodes
    inbox = Inbox()
    await b.subscribe("room", inbox)
    await a.publish("room", b"one")
    await inbox.wait_for(1)
    await b.unsubscribe("room")
    await b.unsubscribe("room")  # a no-op the second time
    await a.publish("room", b"two")
    await flush(a, b)
    assert inbox.payloads == [b"one"]
    again = Inbox()
    await b.subscribe("room", again)
    await a.publish("room", b"three")
    await again.wait_for(1)
    await flush(a, b)
    assert (inbox.payloads, again.payloads) == ([b"one"], [b"three"])


async def test_unsubscribe_drops_messages_already_in_flight(two_nodes: tuple[Broker, Broker]) -> None:
    a, b = two_nodes
    inbox = Inbox()
    await b.subscribe("room", inbox)
    await asyncio.gather(*(a.publish("room", b"burst") for _ in range(50)))
    await b.unsubscribe("room")
    count = len(inbox.received)
    await flush(a, b)
    assert len(inbox.received) == count


async def test_subscribing_twice_raises(two_nodes: tuple[Broker, Broker]) -> None:
    a, _ = two_nodes
    await a.subscribe("room", Inbox())
    with pytest.raises(ValueError, match="already subscribed"):
        await a.subscribe("room", Inbox())


async def test_a_failing_handler_does_not_stop_delivery(
    two_nodes: tuple[Broker, Broker], caplog: pytest.LogCaptureFixture
) -> None:
    a, b = two_nodes
    inbox = Inbox()

    def fragile(channel: str, data: bytes) -> None:
        if data == b"bad":
            raise RuntimeError("handler bug")
        inbox(channel, data)

    await b.subscribe("room", fragile)
    await a.publish("room", b"bad")
    await a.publish("room", b"good")
    await inbox.wait_for(1)
    assert inbox.payloads == [b"good"]
    assert "broker handler failed" in caplog.text


async def test_lifecycle(make_node: Callable[[], Broker]) -> None:
    node = make_node()
    with pytest.raises(RuntimeError, match="start"):
        await node.subscribe("room", Inbox())
    with pytest.raises(RuntimeError, match="start"):
        await node.publish("room", b"x")
    await node.start()
    await node.subscribe("room", Inbox())
    await node.close()
    await node.close()
    with pytest.raises(RuntimeError):
        await node.publish("room", b"x")
    with pytest.raises(RuntimeError):
        await node.start()


@pytest.mark.slow
async def test_an_idle_subscription_survives_the_socket_timeout(
    adapter: str, two_nodes: tuple[Broker, Broker]
) -> None:
    if adapter == "memory":
        pytest.skip("the in-process bus has no socket to time out")
    a, b = two_nodes
    inbox = Inbox()
    await b.subscribe("room", inbox)
    await asyncio.sleep(6)  # longer than redis-py's 5 s default socket_timeout
    await a.publish("room", b"late")
    await inbox.wait_for(1)
    assert inbox.payloads == [b"late"]
