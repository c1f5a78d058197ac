"""Redis adapters: counters as Lua scripts (one round trip each) and pub/sub fan-out across nodes."""

from liveloop.adapters.redis.broker import RedisBroker
from liveloop.adapters.redis.client import make_redis
from liveloop.adapters.redis.counters import RedisCounters

__all__ = ["RedisBroker", "RedisCounters", "make_redis"]
