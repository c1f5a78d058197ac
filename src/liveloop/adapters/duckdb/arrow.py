"""Event batches as Arrow tables for the DuckDB event store: the stored columns, typed.

What costs here is reading the Python objects of a batch (a batch of events does not fit in the CPU
cache), so each column is built from Python objects once, and the two columns whose values need
formatting (``at``, ``data``) are written by orjson in one C call per batch rather than one
conversion per value.
"""

from __future__ import annotations

from datetime import UTC, datetime, timezone, tzinfo
from operator import attrgetter
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from liveloop.core.eventstore import EventColumns

__all__ = ["ARROW_SCHEMA", "json_texts", "timestamps", "to_arrow"]

ARROW_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("type", pa.string()),
        ("v", pa.int32()),
        ("at", pa.timestamp("us")),  # aware datetimes are converted to UTC, naive ones taken as UTC
        ("shop_id", pa.int64()),
        ("room_id", pa.int64()),
        ("show_id", pa.int64()),
        ("actor", pa.string()),
        ("product_id", pa.int64()),
        ("amount_cents", pa.int64()),
        ("data", pa.string()),
        ("quantity", pa.int64()),
    ]
)


def to_arrow(columns: EventColumns) -> pa.Table:
    """The batch as an Arrow table with the stored columns (in :data:`STORED_COLUMNS` order)."""
    c = columns
    arrays = [
        pa.array(c.id, pa.string()),
        pa.array(c.type, pa.string()),
        pa.array(c.v, pa.int32()),
        timestamps(c.at),
        pa.array(c.shop_id, pa.int64()),
        pa.array(c.room_id, pa.int64()),
        pa.array(c.show_id, pa.int64()),
        pa.array(c.actor, pa.string()),
        pa.array(c.product_id, pa.int64()),
        pa.array(c.amount_cents, pa.int64()),
        json_texts(c.payloads),
        pa.array(c.quantity, pa.int64()),
    ]
    return pa.Table.from_arrays(arrays, schema=ARROW_SCHEMA)


def timestamps(values: list[datetime]) -> pa.Array:
    """``values`` as a ``timestamp[us]`` array of UTC (naive ones taken as UTC), as
    ``pa.array(values, pa.timestamp("us"))`` makes it, twice as fast: ``pa.array`` asks each aware
    datetime for its offset through Python calls, while orjson writes them all as RFC 3339 text in
    one C call and Arrow parses that (split at the ``","`` between the JSON strings, which the text
    of a datetime never holds). Only for zones of whole-minute fixed offsets (UTC, the zone events
    carry, among them): orjson writes an offset to the minute, so a zone whose offset has seconds
    (a historical one of ``zoneinfo``, say) takes the slow way."""
    if not values or set(map(type, values)) != _DATETIME:  # nothing, or not only datetimes
        return pa.array(values, pa.timestamp("us"))
    if not all(map(_minute_offset, set(map(_TZINFO, values)))):
        return pa.array(values, pa.timestamp("us"))
    try:
        text = orjson.dumps(values, option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z)
        parts = pc.split_pattern(pa.array([text[2:-2]], pa.large_binary()), '","').flatten()
        return parts.cast(pa.large_string()).cast(_UTC_US).cast(pa.timestamp("us"))
    except (orjson.JSONEncodeError, pa.ArrowException):  # not expected: the slow way, to be sure
        return pa.array(values, pa.timestamp("us"))


def _minute_offset(zone: tzinfo | None) -> bool:
    """Whether ``zone`` is none or a fixed offset of whole minutes (what orjson writes exactly)."""
    if zone is None or zone is UTC:
        return True
    if type(zone) is not timezone:
        return False
    offset = zone.utcoffset(None)
    return offset.seconds % 60 == 0 and offset.microseconds == 0


def json_texts(payloads: list[dict[str, Any]]) -> pa.Array:
    """The payloads' JSON texts as a string array, the texts of ``EventColumns.data``, in one orjson
    call rather than one per payload (half the cost): orjson writes ``[p1,\\x00,p2,...]`` (the
    separator as a raw fragment, a byte that JSON text never holds unescaped) and Arrow splits it."""
    if not payloads:
        return pa.array([], pa.string())
    mixed: list[Any] = [_SEPARATOR] * (2 * len(payloads) - 1)
    mixed[::2] = payloads
    text = orjson.dumps(mixed)
    return pc.split_pattern(pa.array([text[1:-1]], pa.binary()), ",\x00,").flatten().cast(pa.string())


_SEPARATOR = orjson.Fragment(b"\x00")
_DATETIME = frozenset({datetime})
_TZINFO = attrgetter("tzinfo")
_UTC_US = pa.timestamp("us", tz="UTC")
