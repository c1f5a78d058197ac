"""The EventStore port: durable, batched, idempotent append of every event; analytical SQL over them.

The store holds one table, ``events`` (see :data:`EVENT_COLUMNS`): the envelope of
:class:`~liveloop.core.events.Event` plus three columns extracted for the queries the post-live
review runs most (``viewer_id``, ``product_id``, ``amount_cents``). Adapters: DuckDB (one file,
owned by one process; the embedded default) and PostgreSQL (partitioned by month of ``at``).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import NoneType
from typing import Any, ClassVar, Literal

import orjson

from liveloop.core.events import Event

__all__ = [
    "EVENT_COLUMNS",
    "EXPORT_COLUMNS",
    "STORED_COLUMNS",
    "EventColumns",
    "EventRejected",
    "EventStore",
    "EventStoreError",
    "EventStoreLocked",
    "ExportFormat",
    "SqlDialect",
]

ExportFormat = Literal["parquet", "csv"]
#: The SQL dialect :meth:`EventStore.query` speaks.
SqlDialect = Literal["duckdb", "postgresql"]

#: The ``events`` table, in this order:
#:
#: ==============  ============================  ================================================
#: column          type (DuckDB / PostgreSQL)    meaning
#: ==============  ============================  ================================================
#: id              VARCHAR / text                the event id; unique (a redelivery is ignored)
#: type            VARCHAR / text                ``noun.verbed``, e.g. ``order.paid``
#: v               INTEGER / integer             the payload schema version of ``type``
#: at              TIMESTAMP (UTC) / timestamptz when it happened; a reserved word in DuckDB 2.0:
#:                                               write ``"at"`` (quoted works in both dialects)
#: shop_id         BIGINT / bigint               the tenant
#: room_id         BIGINT / bigint, nullable
#: show_id         BIGINT / bigint, nullable
#: actor           VARCHAR / text, nullable      ``u:<user>``, ``d:<device>`` or ``staff:<id>``
#: viewer_id       generated from ``actor``      ``actor`` unless it is staff (then NULL): the
#:                                               viewer of METRICS.md (user id, else device id)
#: product_id      BIGINT / bigint, nullable     ``data.product_id`` when it is an integer
#: amount_cents    BIGINT / bigint, nullable     ``data.amount_cents`` when it is an integer
#: data            JSON / jsonb                  the payload, as emitted
#: ==============  ============================  ================================================
EVENT_COLUMNS = (
    "id",
    "type",
    "v",
    "at",
    "shop_id",
    "room_id",
    "show_id",
    "actor",
    "viewer_id",
    "product_id",
    "amount_cents",
    "data",
)

#: The columns of an export file, in order (the same as the table).
EXPORT_COLUMNS = EVENT_COLUMNS


class EventStoreError(RuntimeError):
    """The event store could not do what was asked (not reachable, not open, bad query...)."""


class EventRejected(EventStoreError):
    """The batch holds data the store cannot take (a value out of range, bad JSON...): retrying the
    same batch cannot help; retry its parts to find the bad event."""


class EventStoreLocked(EventStoreError):
    """Another process owns the store's file (DuckDB is single-process): stop it or ask it instead."""


class EventStore(abc.ABC):
    """Append-only store of events, written in batches, read with analytical SQL.

    Durability: when :meth:`append` returns, every event of the call is committed in one
    transaction and on disk (DuckDB syncs its write-ahead log at each commit; PostgreSQL commits
    with its ``synchronous_commit`` setting, on by default). When it raises, none of them is.
    Idempotency: an event whose ``id`` is already stored (or repeated in the same call) is
    skipped, so a batch may be retried after any failure. A redelivery carries the same ``at`` as
    the original; adapters rely on it (PostgreSQL's key is ``(id, at)``, DuckDB looks for
    duplicates among the stored rows in the batch's ``at`` range).
    Ordering: rows have no order of their own; readers order by ``"at"`` (then ``id`` to break
    ties). ``at`` is UTC; a naive datetime is taken as UTC.
    Concurrency: one writer per DuckDB file (the process that opened it); any number of
    processes may append to PostgreSQL.
    """

    #: The dialect of :meth:`query`: readers that write SQL (the post-live review) adapt the few
    #: places where DuckDB and PostgreSQL differ (timestamp parameter types) by this name.
    dialect: ClassVar[SqlDialect]

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and create the table and indexes when missing. Raises :class:`EventStoreLocked`."""

    @abc.abstractmethod
    async def append(self, events: Sequence[Event]) -> None:
        """Store ``events`` (any number, ideally thousands) as one transaction; see the class doc."""

    @abc.abstractmethod
    async def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one read-only analytical statement and return its rows.

        The dialect is the adapter's (DuckDB or PostgreSQL SQL); keep to their common ground
        where you can: ``$1, $2...`` placeholders, ``"at"`` quoted, ``data->>'key'`` for payload
        fields. Timestamps come back as aware UTC datetimes on both; numeric types may differ
        (``sum`` of a BIGINT is an ``int`` on DuckDB and a ``Decimal`` on PostgreSQL). The
        statement runs in a transaction that is rolled back, so it can never change the store.
        """

    @abc.abstractmethod
    async def export(self, *, show_id: int, path: Path, fmt: ExportFormat) -> int:
        """Write the show's events, ordered by ``at`` then ``id``, to ``path``; return the row count.

        Columns are :data:`EXPORT_COLUMNS`. Parquet keeps types (``at`` as a UTC timestamp,
        ``data`` as JSON text); CSV has a header row and ``at`` as ISO 8601 with a ``Z``.
        """

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections (and the file lock); idempotent."""


@dataclass(frozen=True, slots=True)
class EventColumns:
    """A batch of events as column lists: what adapters bulk-load (Arrow, COPY) without per-row work.

    ``data`` holds the payloads as JSON text. Duplicate ids inside the batch are already removed
    (the first occurrence wins).
    """

    id: list[str]
    type: list[str]
    v: list[int]
    at: list[datetime]
    shop_id: list[int]
    room_id: list[int | None]
    show_id: list[int | None]
    actor: list[str | None]
    product_id: list[int | None]
    amount_cents: list[int | None]
    data: list[str]

    def __len__(self) -> int:
        return len(self.id)

    @classmethod
    def from_events(cls, events: Sequence[Event]) -> EventColumns:
        ids = [e.id for e in events]
        if len(set(ids)) != len(ids):
            events = _first_of_each_id(events)
            ids = [e.id for e in events]
        payloads = [e.data for e in events]
        dumps = orjson.dumps
        return cls(
            id=ids,
            type=[e.type for e in events],
            v=[e.v for e in events],
            at=[e.at for e in events],
            shop_id=[e.shop_id for e in events],
            room_id=[e.room_id for e in events],
            show_id=[e.show_id for e in events],
            actor=[e.actor for e in events],
            product_id=_ints([d.get("product_id") for d in payloads]),
            amount_cents=_ints([d.get("amount_cents") for d in payloads]),
            data=[dumps(d).decode() if d else "{}" for d in payloads],
        )

    def rows(self) -> list[tuple[Any, ...]]:
        """The batch as rows, in the order ``id, type, v, at, shop_id, room_id, show_id, actor,
        product_id, amount_cents, data`` (:data:`EVENT_COLUMNS` less the generated ``viewer_id``)."""
        return list(
            zip(
                self.id,
                self.type,
                self.v,
                self.at,
                self.shop_id,
                self.room_id,
                self.show_id,
                self.actor,
                self.product_id,
                self.amount_cents,
                self.data,
                strict=True,
            )
        )


#: The stored (not generated) columns, in the order of :meth:`EventColumns.rows`.
STORED_COLUMNS = (
    "id",
    "type",
    "v",
    "at",
    "shop_id",
    "room_id",
    "show_id",
    "actor",
    "product_id",
    "amount_cents",
    "data",
)

_INT_OR_NONE = frozenset({int, NoneType})


def _ints(values: list[Any]) -> list[int | None]:
    """Keep integers (not bools) and None; anything else a payload put there becomes None."""
    if set(map(type, values)) <= _INT_OR_NONE:
        return values
    return [v if type(v) is int else None for v in values]


def _first_of_each_id(events: Sequence[Event]) -> list[Event]:
    seen: set[str] = set()
    kept: list[Event] = []
    for event in events:
        if event.id not in seen:
            seen.add(event.id)
            kept.append(event)
    return kept
