"""The EventStore port: durable, batched, idempotent append of every event; analytical SQL over them.

The store holds one table, ``events`` (see :data:`EVENT_COLUMNS`): the envelope of
:class:`~liveloop.core.events.Event` plus four columns extracted for the queries the post-live
review runs most (``viewer_id``, ``product_id``, ``amount_cents``, ``quantity``). Adapters: DuckDB (one file,
owned by one process; the embedded default) and PostgreSQL (partitioned by month of ``at``).
"""

from __future__ import annotations

import abc
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import NoneType
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import orjson

from liveloop.core.events import Event

if TYPE_CHECKING:
    from liveloop.core.eventstore_import import ImportResult

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
#: quantity        BIGINT / bigint, nullable     ``data.quantity``, else ``data.count``, when it
#:                                               is an integer (a like batch's taps, an order's
#:                                               units); NULL in rows stored before it existed
#:                                               (schema version 1): readers fall back to ``data``
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
    "quantity",
)

#: The columns of an export file, in order: the table's less ``quantity`` (it is in ``data``), so
#: export files keep the columns they had before it was added.
EXPORT_COLUMNS = EVENT_COLUMNS[:-1]


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
    async def import_file(
        self, path: Path, *, fmt: ExportFormat, versions: Mapping[str, int] | None = None
    ) -> ImportResult:
        """Store the events of a file :meth:`export` wrote (any backend's), columnar, in one transaction.

        The file is checked first (:mod:`~liveloop.core.eventstore_import`: its columns, event types
        and schema versions against ``versions``, the newest payload version of each type this install
        knows); a bad file raises :class:`EventRejected` naming the column or type, and nothing is
        stored. Idempotent as :meth:`append`: an event whose ``id`` is already stored, or repeated in
        the file, is stored once, so importing the same file again adds nothing. ``quantity`` is
        derived from ``data`` as :meth:`append` derives it; ``viewer_id`` is generated.
        """

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections (and the file lock); idempotent."""

    async def read_show(
        self,
        show_id: int,
        *,
        shop_id: int,
        before: datetime,
        since: datetime | None = None,
        room_id: int | None = None,
        batch_size: int = 20_000,
    ) -> AsyncGenerator[list[Event], None]:
        """The show's events from ``since`` (default: its first) to before ``before``, ordered by
        ``at`` then ``id``, in batches of at most ``batch_size``: a show of millions of events is
        never in memory at once, and no connection is held between batches.

        ``shop_id`` is the show's shop (PostgreSQL reads by its ``(shop_id, "at")`` index). With
        ``room_id``, also the room's events that name no show (a leave after the show ended is
        stored without it). Events come back as stored, not validated again. Reads walk time
        windows (sized to about ``batch_size`` events, so each statement reads only the rows of its
        window where rows are stored in time order), with keyset pagination on ``("at", id)``
        inside a window; rows appended meanwhile before ``before`` may or may not be read.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        scope = "shop_id = ${} AND (show_id = ${} OR (show_id IS NULL AND room_id = ${}))"
        page = (
            'SELECT id, type, v, "at", shop_id, room_id, show_id, actor, data FROM events '  # noqa: S608 - fixed text
            f'WHERE "at" >= $1 AND "at" < $2 AND ("at" > $1 OR id > $6) AND {scope.format(3, 4, 5)} '
            f'ORDER BY "at", id LIMIT {int(batch_size)}'
        )

        def stamp(value: datetime) -> datetime:  # naive UTC for DuckDB's TIMESTAMP (see query())
            utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
            return utc.replace(tzinfo=None) if self.dialect == "duckdb" else utc

        key = (int(shop_id), int(show_id), room_id)
        end = before if before.tzinfo else before.replace(tzinfo=UTC)
        if since is None:
            first = await self.query(
                f'SELECT min("at") FROM events WHERE "at" < $1 AND {scope.format(2, 3, 4)}',  # noqa: S608
                (stamp(end), *key),
            )
            if not first or first[0][0] is None:
                return
            since = first[0][0]
        lo = since if since.tzinfo else since.replace(tzinfo=UTC)
        span = timedelta(minutes=1)
        while lo < end:
            hi = min(lo + span, end)
            last_at, last_id, found = lo, "", 0
            while True:  # the window's pages
                rows = await self.query(page, (stamp(last_at), stamp(hi), *key, last_id))
                if rows:
                    found += len(rows)
                    yield _events(rows)
                if len(rows) < batch_size:
                    break
                last_at, last_id = rows[-1][3], rows[-1][0]
            # the next window holds about batch_size events at this window's rate (4x change at most)
            scale = min(max(batch_size / found, 0.25), 4.0) if found else 4.0
            lo, span = hi, max(span * scale, timedelta(milliseconds=1))


def _events(rows: list[tuple[Any, ...]]) -> list[Event]:
    """Events from rows of ``id, type, v, at, shop_id, room_id, show_id, actor, data``, not validated
    again: built as ``Event.model_construct`` builds them, without its per-field work (7x cheaper,
    which is most of a replay's read cost; the event store contract tests compare the result with
    validated events)."""
    new, setattr_, fields, loads = Event.__new__, object.__setattr__, _EVENT_FIELDS, orjson.loads
    out: list[Event] = []
    for r in rows:
        at, data = r[3], r[8]
        event = new(Event)
        setattr_(
            event,
            "__dict__",
            {
                "type": r[1],
                "v": r[2],
                "id": r[0],
                "at": at if at.tzinfo else at.replace(tzinfo=UTC),
                "shop_id": r[4],
                "room_id": r[5],
                "show_id": r[6],
                "actor": r[7],
                "data": loads(data) if isinstance(data, str | bytes) else data,
            },
        )
        setattr_(event, "__pydantic_fields_set__", fields)
        setattr_(event, "__pydantic_extra__", None)
        setattr_(event, "__pydantic_private__", None)
        out.append(event)
    return out


_EVENT_FIELDS = frozenset(Event.model_fields)


@dataclass(frozen=True, slots=True)
class EventColumns:
    """A batch of events as column lists: what adapters bulk-load (Arrow, COPY) without per-row work.

    ``payloads`` are the events' ``data`` dicts as emitted (not copied): :meth:`data` gives their
    JSON texts, and an adapter may encode them its own way, in bulk (DuckDB does), as long as the
    text is the same. Duplicate ids inside the batch are already removed (the first occurrence wins).
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
    payloads: list[dict[str, Any]]
    quantity: list[int | None]

    def __len__(self) -> int:
        return len(self.id)

    @classmethod
    def from_events(cls, events: Sequence[Event]) -> EventColumns:
        columns = cls._gather(events)
        if len(set(columns.id)) != len(columns):
            columns = cls._gather(_first_of_each_id(events))
        return columns

    @classmethod
    def _gather(cls, events: Sequence[Event]) -> EventColumns:
        # One pass, each event's fields read while it is in the CPU cache: a batch of events does
        # not fit there, and a pass per column (a list comprehension each) costs twice as much.
        columns = cls([], [], [], [], [], [], [], [], [], [], [], [])
        id_, type_, v, at = columns.id.append, columns.type.append, columns.v.append, columns.at.append
        shop, room, show = columns.shop_id.append, columns.room_id.append, columns.show_id.append
        actor, product, amount = columns.actor.append, columns.product_id.append, columns.amount_cents.append
        data, quantity = columns.payloads.append, columns.quantity.append
        for event in events:
            fields = event.__dict__  # a pydantic model's field values (faster than attribute reads)
            id_(fields["id"])
            type_(fields["type"])
            v(fields["v"])
            at(fields["at"])
            shop(fields["shop_id"])
            room(fields["room_id"])
            show(fields["show_id"])
            actor(fields["actor"])
            payload = fields["data"]
            data(payload)
            if payload:
                product(payload.get("product_id"))
                amount(payload.get("amount_cents"))
                quantity(payload.get("quantity", payload.get("count")))
            else:
                product(None)
                amount(None)
                quantity(None)
        _only_ints(columns.product_id)
        _only_ints(columns.amount_cents)
        _only_ints(columns.quantity)
        return columns

    def data(self) -> list[str]:
        """The payloads as JSON text (what the ``data`` column stores)."""
        dumps = orjson.dumps
        return [dumps(payload).decode() if payload else "{}" for payload in self.payloads]

    def rows(self) -> list[tuple[Any, ...]]:
        """The batch as rows, in the order of :data:`STORED_COLUMNS` (:data:`EVENT_COLUMNS` less the
        generated ``viewer_id``)."""
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
                self.data(),
                self.quantity,
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
    "quantity",
)

_INT_OR_NONE = frozenset({int, NoneType})


def _only_ints(values: list[Any]) -> None:
    """Keep integers (not bools) and None; anything else a payload put there becomes None."""
    if set(map(type, values)) <= _INT_OR_NONE:
        return
    values[:] = [v if type(v) is int else None for v in values]


def _first_of_each_id(events: Sequence[Event]) -> list[Event]:
    seen: set[str] = set()
    kept: list[Event] = []
    for event in events:
        if event.id not in seen:
            seen.add(event.id)
            kept.append(event)
    return kept
