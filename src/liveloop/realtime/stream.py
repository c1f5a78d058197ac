"""A room's stream: items with offsets, and the bounded history a reconnecting client resumes from.

Every item of a room carries a global, increasing ``offset`` (assigned where the item is published)
within an ``epoch`` (a new epoch means offsets restarted, e.g. the stream store was lost). A client
remembers ``(epoch, offset)`` of the last frame it applied; :meth:`RoomHistory.since` tells what it
missed, or that it must start over from a snapshot.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["Lane", "RoomHistory", "StreamItem"]


class Lane(StrEnum):
    """How an item may be treated under load."""

    #: Never dropped: host and moderator messages, order and activity results (lottery, red
    #: packet), alerts. Delivered even to a viewer whose socket is falling behind.
    PRIORITY = "priority"
    #: Viewer comments: sampled when the room is over its configured rate.
    COMMENT = "comment"
    #: Never sampled, but not urgent: crowd notices ("someone just bought", "A got 0.88"). They
    #: wait for the counts' cadence, so a burst of them reaches each socket as one frame a second
    #: instead of one per tick; a socket that is falling behind skips them, as it skips comments.
    NOTICE = "notice"


@dataclass(frozen=True, slots=True)
class StreamItem:
    """One item of a room's stream; ``data`` is JSON-able and treated as immutable once published.

    It serializes (``orjson``) as ``{"offset": .., "lane": .., "data": {..}}``. A ``lane`` given as a
    plain string (decoded from the wire) is turned into a :class:`Lane`; an unknown one raises
    ValueError, so nothing can slip past comment sampling or the priority guarantee.
    """

    offset: int
    lane: Lane
    data: dict[str, Any]

    def __post_init__(self) -> None:
        if type(self.lane) is not Lane:
            object.__setattr__(self, "lane", Lane(self.lane))


class RoomHistory:
    """The last ``capacity`` kept items of one room stream, in offset order.

    Contract: :meth:`append` takes strictly increasing offsets and raises ValueError otherwise (the
    hub in front of it deduplicates and drops stale deliveries; here an out-of-order item is a bug).
    Offsets may have holes: items that were dropped (sampled comments, broker losses) are never
    kept, and :meth:`advance` moves the stream position past them. The history vouches only for what
    came after its first item or position: anything older, or evicted, is a gap.
    """

    def __init__(self, epoch: str, *, capacity: int = 1000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.epoch = epoch
        self.capacity = capacity
        self._items: deque[StreamItem] = deque(maxlen=capacity)
        # Every item with an offset above ``_floor`` that this node kept is in ``_items``; None until
        # the history has seen its first item or position.
        self._floor: int | None = None
        self._last = 0

    @property
    def last_offset(self) -> int:
        """The stream position: the offset of the newest item kept or skipped (0 before any)."""
        return self._last

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[StreamItem]:
        return iter(self._items)

    def append(self, item: StreamItem) -> None:
        """Keep ``item``, evicting the oldest when full. Raises ValueError unless it is newer."""
        if self._floor is None:
            self._floor = item.offset - 1
        elif item.offset <= self._last:
            raise ValueError(f"offset {item.offset} is not after {self._last}")
        if len(self._items) == self.capacity:
            self._floor = self._items[0].offset
        self._items.append(item)
        self._last = item.offset

    def advance(self, offset: int) -> None:
        """Move the stream position to ``offset`` without keeping an item; no-op unless it is newer."""
        if self._floor is None:
            self._floor = offset
        if offset > self._last:
            self._last = offset

    def since(self, offset: int, *, epoch: str | None = None) -> list[StreamItem] | None:
        """The kept items after ``offset``, oldest first.

        None (the caller sends a snapshot instead) when ``epoch`` is given and differs, when items
        after ``offset`` may have been evicted or came before this history started, or when
        ``offset`` is ahead of this history (the client came from a node further along).
        """
        if epoch is not None and epoch != self.epoch:
            return None
        if self._floor is None or offset < self._floor or offset > self._last:
            return None
        missed: list[StreamItem] = []
        for item in reversed(self._items):
            if item.offset <= offset:
                break
            missed.append(item)
        missed.reverse()
        return missed

    def recent(self, n: int, *, lane: Lane | None = None) -> list[StreamItem]:
        """The last ``n`` kept items (of ``lane`` if given), oldest first; for late joiners."""
        picked: list[StreamItem] = []
        if n <= 0:
            return picked
        for item in reversed(self._items):
            if lane is None or item.lane is lane:
                picked.append(item)
                if len(picked) == n:
                    break
        picked.reverse()
        return picked
