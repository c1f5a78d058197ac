"""The floor of ``liveloop bench analytics`` and the profile of the DuckDB append, one chunk apart.

:func:`measure_floor` runs ``../shared/baselines`` as subprocesses and parses their CSV lines;
:func:`profile_append` times the DuckDB adapter's own steps on one chunk (encoding, Arrow, a bare
insert without the dedup), to say where the ingest's time per event goes.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from liveloop.core.eventstore import EventColumns
from liveloop.sim.common import BenchError, Log
from liveloop.sim.show_gen import ShowGenerator, ShowSpec


def profile_append(spec: ShowSpec, chunk: int) -> dict[str, float]:
    """Per-event microseconds of the DuckDB append's parts, on one chunk from the middle of the show."""
    import duckdb

    from liveloop.adapters.duckdb.arrow import ARROW_SCHEMA, to_arrow  # the adapter's own steps

    chunks = ShowGenerator(dataclasses.replace(spec, events=min(spec.events, 4 * chunk))).chunks(chunk)
    batch = next(chunks)
    batch = next(chunks, batch)
    n = len(batch)
    encode = arrow = insert = float("inf")  # best of PROFILE_RUNS: the first pass is cold
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        for _ in range(PROFILE_RUNS):
            t0 = time.perf_counter()
            columns = EventColumns.from_events(batch)
            t1 = time.perf_counter()
            table = to_arrow(columns)
            t2 = time.perf_counter()
            con.execute("DROP TABLE IF EXISTS t")
            con.execute(
                "CREATE TABLE t ("
                + ", ".join(f'"{f.name}" {_DUCK_TYPES[str(f.type)]}' for f in ARROW_SCHEMA)
                + ")"
            )
            con.register("batch", table)
            t3 = time.perf_counter()
            con.execute("INSERT INTO t SELECT * FROM batch")
            t4 = time.perf_counter()
            con.unregister("batch")
            encode, arrow, insert = min(encode, t1 - t0), min(arrow, t2 - t1), min(insert, t4 - t3)
    finally:
        con.close()
    return {
        "events": n,
        "encode_us": encode / n * 1e6,
        "arrow_us": arrow / n * 1e6,
        "raw_insert_us": insert / n * 1e6,
    }


#: Passes of :func:`profile_append`; each figure is the best.
PROFILE_RUNS = 3

_DUCK_TYPES = {
    "string": "VARCHAR",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "timestamp[us]": "TIMESTAMP",
}


def _baseline(python: str, script: Path, args: list[str], *, timeout: float) -> list[list[str]]:
    done = subprocess.run(  # noqa: S603 - our interpreter running the baselines' own script
        [python, str(script), *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"{script.name} failed: {done.stderr.strip()[-500:]}")
    return [line.split(",") for line in done.stdout.splitlines() if line.count(",") >= 3]


def measure_floor(python: str, baselines: Path, *, rows: int, ingest_rows: int, log: Log) -> dict[str, Any]:
    """The raw floor: bare DuckDB batched inserts and bare group-bys (None parts when unavailable)."""
    check = subprocess.run(  # noqa: S603 - a fixed probe
        [python, "-c", "import numpy, duckdb, pyarrow"], capture_output=True, check=False
    )
    if check.returncode != 0:
        return {"skipped": f"{python} lacks numpy/duckdb/pyarrow (see --baseline-python)"}
    floor: dict[str, Any] = {}
    log(f"floor: ingest_bench.py --rows {ingest_rows}")
    for method, batch, _, seconds, rate in _baseline(
        python, baselines / "ingest_bench.py", ["--rows", str(ingest_rows)], timeout=1800
    ):
        floor[f"{method}_{batch}_rows_per_s"] = float(rate)
        floor[f"{method}_{batch}_seconds"] = float(seconds)
    cache = Path(tempfile.mkdtemp(prefix="liveloop-groupby-"))
    try:
        log(f"floor: analytics_groupby.py --rows {rows} --engines duckdb")
        lines = _baseline(
            python,
            baselines / "analytics_groupby.py",
            ["--rows", str(rows), "--engines", "duckdb", "--repeat", "3", "--cache", str(cache)],
            timeout=1800,
        )
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    queries = {q: float(s) for engine, q, s, _ in lines if engine == "duckdb" and q.startswith("q")}
    floor["groupby_seconds"] = queries
    floor["groupby_total_seconds"] = sum(queries.values())
    return floor
