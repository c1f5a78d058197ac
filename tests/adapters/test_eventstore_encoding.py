"""The bulk encoding of event batches: :class:`EventColumns` (one pass over the events) and the DuckDB
adapter's Arrow conversion (timestamps and payload texts in one orjson call each) give what the
plain per-value conversions give, for every value those accept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from liveloop.adapters.duckdb.arrow import json_texts, timestamps, to_arrow
from liveloop.core.events import Event
from liveloop.core.eventstore import EventColumns

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

ZONES: st.SearchStrategy[tzinfo | None] = st.one_of(
    st.none(),  # naive: taken as UTC
    st.just(UTC),
    st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-23 * 60 - 59, 23 * 60 + 59)),
    st.builds(lambda s: timezone(timedelta(seconds=s)), st.integers(-86_399, 86_399)),  # odd offsets
    st.sampled_from([ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")]),
)
DATETIMES = st.builds(
    lambda naive, zone: naive.replace(tzinfo=zone),
    st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1)),
    ZONES,
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),  # control characters, NUL, the separator's ",\x00," and "},{" included
    st.sampled_from([",\x00,", "},{", '","', "\x00", "好看"]),
)
PAYLOADS = st.dictionaries(
    st.text(max_size=8),
    st.recursive(
        JSON_SCALARS,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
        max_leaves=8,
    ),
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(DATETIMES, max_size=40))
def test_timestamps_are_what_pa_array_makes(values: list[datetime]) -> None:
    assert timestamps(values).equals(pa.array(values, pa.timestamp("us")))


def test_timestamps_of_other_values_and_zones_take_the_slow_way() -> None:
    class Stamp(datetime):  # a subclass, not a datetime: not formatted by orjson
        pass

    values = [T0, Stamp(2026, 11, 21, 12, 0, 1, tzinfo=UTC)]
    assert timestamps(values).equals(pa.array(values, pa.timestamp("us")))
    odd = [  # offsets with seconds: orjson writes them to the minute
        datetime(2000, 1, 1, tzinfo=timezone(timedelta(seconds=1))),
        datetime(1890, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai")),  # +08:05:43, local mean time
    ]
    for value in odd:
        assert timestamps([T0, value]).equals(pa.array([T0, value], pa.timestamp("us")))
    assert len(timestamps([])) == 0


@settings(max_examples=300, deadline=None)
@given(st.lists(PAYLOADS, max_size=20))
def test_json_texts_are_the_payloads_texts(payloads: list[dict[str, Any]]) -> None:
    expected = [orjson.dumps(p).decode() if p else "{}" for p in payloads]
    assert json_texts(payloads).to_pylist() == expected
    assert [orjson.loads(t) for t in expected] == payloads


def reference(events: list[Event]) -> dict[str, list[Any]]:
    """The columns, field by field, as the encoding is specified (first of each id; integer payload
    fields only when they are ints, not bools; quantity, else count)."""
    kept: list[Event] = []
    for event in events:
        if event.id not in {e.id for e in kept}:
            kept.append(event)

    def integer(value: Any) -> int | None:
        return value if type(value) is int else None

    return {
        "id": [e.id for e in kept],
        "type": [e.type for e in kept],
        "v": [e.v for e in kept],
        "at": [e.at for e in kept],
        "shop_id": [e.shop_id for e in kept],
        "room_id": [e.room_id for e in kept],
        "show_id": [e.show_id for e in kept],
        "actor": [e.actor for e in kept],
        "product_id": [integer(e.data.get("product_id")) for e in kept],
        "amount_cents": [integer(e.data.get("amount_cents")) for e in kept],
        "data": [orjson.dumps(e.data).decode() for e in kept],
        "quantity": [integer(e.data.get("quantity", e.data.get("count"))) for e in kept],
    }


def test_event_columns_follow_the_reference() -> None:
    payloads: list[dict[str, Any]] = [
        {"product_id": 7, "amount_cents": 1999, "quantity": 2},
        {"product_id": "7", "amount_cents": True, "count": 3},
        {"product_id": 1.0, "quantity": None, "count": 4},  # quantity present: it wins, even None
        {},
        {"text": "欢迎 ,\x00, },{", "nested": [{"a": 1}, {"b": [2]}]},
        {"count": 2**63 - 1},
    ]
    events = [
        Event(
            id=f"e{i % 5}",  # e0 comes back once: the first one is kept
            type="order.paid" if i % 2 else "like.batched",
            v=1 + i % 2,
            at=T0 + timedelta(seconds=i),
            shop_id=1,
            room_id=None if i == 3 else 2,
            show_id=3,
            actor="staff:1" if i == 1 else f"u:{i}",
            data=payload,
        )
        for i, payload in enumerate(payloads)
    ]
    columns = EventColumns.from_events(events)
    expected = reference(events)
    got = {name: getattr(columns, name) for name in expected if name != "data"}
    assert {**got, "data": columns.data()} == expected
    assert len(columns) == 5
    table = to_arrow(columns)
    assert table["data"].to_pylist() == expected["data"]
    assert table["at"].to_pylist() == [a.replace(tzinfo=None) for a in expected["at"]]
    assert [row[10] for row in columns.rows()] == expected["data"]
