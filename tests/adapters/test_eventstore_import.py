"""``EventStore.import_file``: an export file back into a store, on every backend.

A show is appended to DuckDB and exported (Parquet and CSV); importing the file into a fresh store
of each backend gives the same rows (``quantity`` derived as the append derives it) and the same
review; importing it again adds nothing; files that are not exports, or hold events this install
cannot read, are refused with nothing stored.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from liveloop.adapters.duckdb import DuckDBEventStore
from liveloop.analytics.review import compute_review
from liveloop.core.events import Event
from liveloop.core.eventstore import EventRejected, EventStore, ExportFormat
from liveloop.rooms import ShowState, ShowWindow
from liveloop.sim.show_gen import ShowGenerator, ShowSpec
from tests.analytics.review_support import open_store

pytestmark = pytest.mark.anyio

SPEC = ShowSpec(events=3000, viewers=60, minutes=12, products=3, start=datetime(2026, 11, 21, 12, tzinfo=UTC))
SHOW = ShowWindow(
    show_id=1, shop_id=1, room_id=1, title="import", state=ShowState.ENDED,
    started_at=SPEC.start, ended_at=SPEC.end,
)  # fmt: skip
AS_OF = SPEC.end + timedelta(days=1)
ROWS = (
    'SELECT id, type, v, "at", shop_id, room_id, show_id, actor, viewer_id, product_id, amount_cents, '
    "quantity"
)


def quantity_events() -> list[Event]:
    """Payloads that test ``quantity``'s rule: integers only, ``quantity`` before ``count`` (of a type
    the review does not read, but the first: the review takes a like batch's ``count`` as an integer)."""
    t0 = SPEC.start + timedelta(seconds=30)
    payloads: list[dict[str, Any]] = [
        {"count": 7},
        {"quantity": 2, "product_id": 5, "amount_cents": 990},
        {"quantity": 3, "count": 9},
        {"quantity": None, "count": 9},
        {"count": "7"},
        {"count": True},
        {"count": 7.0},
        {"count": 1e16},
        {},
    ]
    return [
        Event(
            id=f"q{i}",
            type="like.batched" if i == 0 else "probe.recorded",
            at=t0 + timedelta(seconds=i),
            shop_id=1,
            room_id=1,
            show_id=1,
            actor="u:q",
            data=d,
        )
        for i, d in enumerate(payloads)
    ]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The show in a DuckDB store, its rows and review, and its export in both formats."""
    import asyncio

    where = tmp_path_factory.mktemp("export")

    async def build() -> dict[str, Any]:
        store = DuckDBEventStore(where / "source.duckdb")
        await store.open()
        try:
            await store.append([e for chunk in ShowGenerator(SPEC).chunks(1000) for e in chunk])
            await store.append(quantity_events())
            out: dict[str, Any] = {
                "rows": await rows_of(store),
                "review": await compute_review(store, SHOW, as_of=AS_OF),
            }
            for fmt in ("parquet", "csv"):
                path = where / f"show.{fmt}"
                out[fmt] = path
                out[f"{fmt}_count"] = await store.export(show_id=1, path=path, fmt=fmt)
        finally:
            await store.close()
        return out

    return asyncio.run(build())


async def rows_of(store: EventStore) -> list[tuple[Any, ...]]:
    rows = await store.query(f"{ROWS} FROM events ORDER BY id")
    return [tuple(int(v) if type(v).__name__ == "Decimal" else v for v in row) for row in rows]


@asynccontextmanager
async def fresh_store(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[EventStore]:
    """An empty store: a new DuckDB file, or a new PostgreSQL schema dropped afterwards."""
    if kind == "duckdb":
        async with open_store("duckdb", str(tmp_path / f"{uuid.uuid4().hex}.duckdb")) as store:
            yield store
        return
    async with open_store("postgres", request.getfixturevalue("postgres_url")) as store:
        yield store


BACKENDS = ["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("kind", BACKENDS)
async def test_an_export_imports_whole_reviews_the_same_and_once(
    kind: str, fmt: ExportFormat, exported: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    count = exported[f"{fmt}_count"]
    async with fresh_store(kind, tmp_path, request) as store:
        first = await store.import_file(exported[fmt], fmt=fmt, versions={"like.batched": 1})
        assert (first.read, first.inserted, first.already) == (count, count, 0)
        assert await rows_of(store) == exported["rows"]  # quantity included
        assert await compute_review(store, SHOW, as_of=AS_OF) == exported["review"]
        again = await store.import_file(exported[fmt], fmt=fmt)
        assert (again.read, again.inserted, again.already) == (count, 0, count)
        assert len(await rows_of(store)) == count


@pytest.mark.parametrize("kind", BACKENDS)
async def test_an_import_adds_only_what_is_missing(
    kind: str, exported: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with fresh_store(kind, tmp_path, request) as store:
        await store.append(quantity_events())
        result = await store.import_file(exported["parquet"], fmt="parquet")
        assert result.inserted == result.read - len(quantity_events())
        assert await rows_of(store) == exported["rows"]


@pytest.mark.postgres
async def test_a_postgresql_export_imports_into_duckdb(
    exported: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with fresh_store("postgresql", tmp_path, request) as pg:
        await pg.import_file(exported["parquet"], fmt="parquet")
        for fmt in ("parquet", "csv"):
            assert (
                await pg.export(show_id=1, path=tmp_path / f"pg.{fmt}", fmt=fmt) == exported["parquet_count"]
            )
    for fmt in ("parquet", "csv"):
        async with fresh_store("duckdb", tmp_path, request) as duck:
            await duck.import_file(tmp_path / f"pg.{fmt}", fmt=fmt)  # type: ignore[arg-type]
            # jsonb writes the float 1e16 (q7) back as the integer 10000000000000000: its quantity differs
            assert [r for r in await rows_of(duck) if r[0] != "q7"] == [
                r for r in exported["rows"] if r[0] != "q7"
            ]
            assert await compute_review(duck, SHOW, as_of=AS_OF) == exported["review"]


def rewrite(source: Path, target: Path, select: str) -> Path:
    """``target``: the Parquet file ``source`` with its rows selected by ``select`` (``src`` is the file)."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        query = f"WITH src AS (SELECT * FROM read_parquet('{source}')) {select}"  # noqa: S608 - test files
        con.execute(f"COPY ({query}) TO '{target}' (FORMAT parquet)")
    finally:
        con.close()
    return target


#: name -> (the rewriting SELECT, words the error must hold)
BAD_FILES = {
    "missing column": ("SELECT * EXCLUDE (data) FROM src", "missing column(s) data"),
    "extra column": ("SELECT *, 1 AS extra FROM src", "unexpected column(s) extra"),
    "wrong type": ("SELECT * REPLACE (CAST(v AS VARCHAR) AS v) FROM src", "column v is string, not integer"),
    "bad event type": (
        "SELECT * REPLACE (CASE WHEN id = 'q0' THEN 'Like Batched' ELSE type END AS type) FROM src",
        "invalid type 'Like Batched'",
    ),
    "version 0": (
        "SELECT * REPLACE (CASE WHEN id = 'q0' THEN 0 ELSE v END AS v) FROM src",
        "schema version 0",
    ),
    "unknown version": (
        "SELECT * REPLACE (CASE WHEN id = 'q0' THEN 2 ELSE v END AS v) FROM src",
        "like.batched events of schema version 2 are unknown",
    ),
    "data not an object": (
        "SELECT * REPLACE (CASE WHEN id = 'q0' THEN '[1]' ELSE data::VARCHAR END AS data) FROM src",
        "not a JSON object",
    ),
    "null id": ("SELECT * REPLACE (CASE WHEN id = 'q0' THEN NULL ELSE id END AS id) FROM src", "null"),
}


@pytest.mark.parametrize("bad", sorted(BAD_FILES))
@pytest.mark.parametrize("kind", BACKENDS)
async def test_a_bad_file_is_refused_whole(
    kind: str, bad: str, exported: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    select, words = BAD_FILES[bad]
    path = rewrite(exported["parquet"], tmp_path / "bad.parquet", select)
    async with fresh_store(kind, tmp_path, request) as store:
        with pytest.raises(EventRejected) as refused:
            await store.import_file(path, fmt="parquet", versions={"like.batched": 1})
        assert words.lower() in str(refused.value).lower()
        assert await store.query("SELECT count(*) FROM events") == [(0,)]


@pytest.mark.parametrize("kind", BACKENDS)
async def test_a_bad_csv_value_is_refused_naming_its_column(
    kind: str, exported: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    lines = exported["csv"].read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[5].split(",")
    cells[header.index("v")] = "one"
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([*lines[:5], ",".join(cells), *lines[6:]]) + "\n")
    async with fresh_store(kind, tmp_path, request) as store:
        with pytest.raises(EventRejected, match="one"):
            await store.import_file(path, fmt="csv")
        assert await store.query("SELECT count(*) FROM events") == [(0,)]


@pytest.mark.parametrize("kind", BACKENDS)
async def test_an_id_repeated_in_the_file_is_stored_once(
    kind: str, exported: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    path = rewrite(
        exported["parquet"], tmp_path / "twice.parquet", "SELECT * FROM src UNION ALL SELECT * FROM src"
    )
    async with fresh_store(kind, tmp_path, request) as store:
        result = await store.import_file(path, fmt="parquet")
        assert (result.read, result.inserted) == (2 * exported["parquet_count"], exported["parquet_count"])
        assert await rows_of(store) == exported["rows"]
