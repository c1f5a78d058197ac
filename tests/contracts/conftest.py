"""Fixtures running each port's contract suite against every adapter (the `adapter` parameter).

``memory`` always runs; ``redis`` runs when LIVELOOP_TEST_REDIS_URL is set and skips otherwise. Each
test gets a unique namespace, and Redis keys under it are deleted afterwards.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from liveloop.adapters.memory import MemoryBroker, MemoryBus, MemoryCounters
from liveloop.adapters.redis import RedisBroker, RedisCounters, make_redis
from liveloop.core.broker import Broker
from liveloop.core.counters import Counters
from tests.backends import REDIS_ENV, backend_url

ADAPTERS = (pytest.param("memory"), pytest.param("redis", marks=pytest.mark.redis))


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def redis_url() -> str:
    return backend_url(REDIS_ENV)


async def drop_namespace(client: Redis, namespace: str) -> None:
    keys = [key async for key in client.scan_iter(match=f"{namespace}:*", count=500)]
    if keys:
        await client.delete(*keys)


class FakeClock:
    """A monotonic clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    async def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(params=ADAPTERS)
def adapter(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    if kind == "redis":
        redis_url()
    return kind


@pytest.fixture
def namespace() -> str:
    return f"test:{uuid.uuid4().hex}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def advance(adapter: str, clock: FakeClock) -> Callable[[float], Awaitable[None]]:
    """Let time pass: move the fake clock (memory) or really sleep (redis, whose clock is the server's)."""
    return clock.advance if adapter == "memory" else asyncio.sleep


@pytest.fixture
async def redis_client(adapter: str) -> AsyncIterator[Redis | None]:
    """The adapter's own client for inspecting Redis; None for memory."""
    if adapter != "redis":
        yield None
        return
    client = make_redis(redis_url())
    yield client
    await client.aclose()


@pytest.fixture
async def counters(
    adapter: str, namespace: str, clock: FakeClock, redis_client: Redis | None
) -> AsyncIterator[Counters]:
    if redis_client is None:
        memory = MemoryCounters(namespace=namespace, clock=clock)
        yield memory
        await memory.close()
        return
    try:
        redis_counters = RedisCounters(redis_client, namespace=namespace)
        yield redis_counters
        await redis_counters.close()
    finally:
        await drop_namespace(redis_client, namespace)


@pytest.fixture
async def make_node(adapter: str, namespace: str) -> AsyncIterator[Callable[[], Broker]]:
    """A factory of new, not yet started brokers: nodes on one bus (memory) or one Redis and namespace."""
    nodes: list[Broker] = []
    clients: list[Redis] = []
    bus = MemoryBus()

    def make() -> Broker:
        if adapter == "memory":
            nodes.append(MemoryBroker(bus))
        else:
            # One client per node, as on separate machines.
            clients.append(make_redis(redis_url()))
            nodes.append(RedisBroker(clients[-1], namespace=namespace))
        return nodes[-1]

    try:
        yield make
    finally:
        await asyncio.gather(*(node.close() for node in nodes))
        await asyncio.gather(*(client.aclose() for client in clients))


@pytest.fixture
async def two_nodes(make_node: Callable[[], Broker]) -> tuple[Broker, Broker]:
    """Nodes A and B, started."""
    a, b = make_node(), make_node()
    await a.start()
    await b.start()
    return a, b


@pytest.fixture
async def laggy_redis_url() -> AsyncIterator[str]:
    """A URL to the test Redis through a local proxy that delays client-to-server bytes by 50 ms.

    On a link like that a subscriber that does not wait for Redis's confirmation misses messages
    published from another node right after its subscribe() returned.
    """
    target = urlsplit(redis_url())
    pipes: set[asyncio.Task[None]] = set()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
        try:
            while data := await reader.read(65536):
                await asyncio.sleep(delay)
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def serve(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(target.hostname, target.port or 6379)
        for task in (pipe(client_reader, server_writer, 0.05), pipe(server_reader, client_writer, 0.0)):
            pipes.add(asyncio.create_task(task))

    proxy = await asyncio.start_server(serve, "127.0.0.1", 0)
    host, port = proxy.sockets[0].getsockname()[:2]
    try:
        yield target._replace(netloc=f"{host}:{port}").geturl()
    finally:
        proxy.close()
        for task in pipes:
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)
        await proxy.wait_closed()


@pytest.fixture
def redis_test_url() -> str:
    """LIVELOOP_TEST_REDIS_URL, for tests that build their own clients; skips when unset."""
    return redis_url()
