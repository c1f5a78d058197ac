"""A node's memory of facts that never change once written (a red packet's room and times, a lottery's
keyword and window), so the hot paths read no SQL for them.

One memo per use and per node, keyed on the context's :class:`ModerationCache`, which lives exactly as
long as the node's :class:`InteractionsContext` (the poll cache is kept the same way). Nothing here can
go stale: what may change (a packet's state, a lottery's state) is never memoised.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar
from weakref import WeakKeyDictionary

from liveloop.interactions.cache import ModerationCache

__all__ = ["Memo", "NodeMemos"]

V = TypeVar("V")


class Memo(Generic[V]):
    """A bounded map from id to value; the least recently used goes first."""

    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._items: OrderedDict[int, V] = OrderedDict()

    def get(self, key: int) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: int, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)

    def drop(self, key: int) -> None:
        self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


class NodeMemos(Generic[V]):
    """One :class:`Memo` per node (per moderation cache)."""

    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._memos: WeakKeyDictionary[ModerationCache, Memo[V]] = WeakKeyDictionary()

    def of(self, cache: ModerationCache) -> Memo[V]:
        memo = self._memos.get(cache)
        if memo is None:
            memo = self._memos[cache] = Memo(self._capacity)
        return memo
