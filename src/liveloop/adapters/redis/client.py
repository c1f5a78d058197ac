"""The Redis client factory, called from bootstrap (never at import time)."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

__all__ = ["make_redis"]

#: Bound on one command's socket read or write, on opening a connection, and on waiting for a free
#: pooled connection. Pub/sub readers block without it (see RedisBroker), so idle channels are fine.
COMMAND_TIMEOUT_SECONDS = 5.0


def make_redis(url: str, *, max_connections: int = 64) -> Redis:
    """Return a client whose pool waits for a free connection instead of failing fast.

    redis-py's default pool raises ``MaxConnectionsError`` under bursts (e.g. 300 concurrent scripts);
    this one queues callers for up to ``COMMAND_TIMEOUT_SECONDS``. Responses stay bytes
    (``decode_responses`` off), which the adapters rely on. The caller owns the client: close it with
    ``await client.aclose()``, which also closes its pool.
    """
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=COMMAND_TIMEOUT_SECONDS,
        socket_timeout=COMMAND_TIMEOUT_SECONDS,
        socket_connect_timeout=COMMAND_TIMEOUT_SECONDS,
        socket_keepalive=True,
        decode_responses=False,
    )
    return Redis.from_pool(pool)
