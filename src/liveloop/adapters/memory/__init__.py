"""In-process adapters: the embedded default, one process, no external services."""

from liveloop.adapters.memory.broker import MemoryBroker, MemoryBus
from liveloop.adapters.memory.counters import MemoryCounters

__all__ = ["MemoryBroker", "MemoryBus", "MemoryCounters"]
