"""``liveloop bench analytics``: ingest a generated show through the product's ingest paths, then review it.

For each event store (DuckDB in a temporary file; PostgreSQL in a throw-away schema when a URL is
given): the show of :mod:`liveloop.sim.show_gen` (10M events, 200k viewers by default) is generated
chunk by chunk, in time order, as :class:`~liveloop.core.events.Event` objects (not timed), and fed
to :class:`~liveloop.analytics.EventIngest`, which writes it to the store (``__call__`` then
``flush``: the buffering, batching and ``EventStore.append`` of the running server; timed). Then the
whole review (:func:`~liveloop.analytics.review.compute_review`) runs ``repeat`` times. Then the bulk
path (:mod:`liveloop.sim.analytics_import`): the show, exported to Parquet from the DuckDB store (not
timed), is imported with ``EventStore.import_file`` into a fresh store of each engine (timed). Both
paths' rates are judged against the same floor.

The floor, measured in the same run as subprocesses of ``../shared/baselines``: ``ingest_bench.py``
(bare DuckDB ``INSERT`` of 10k-row Arrow batches of four integer columns) and
``analytics_groupby.py`` (five bare group-bys over the same number of rows). They need numpy (the
product does not): ``--baseline-python`` names an interpreter that has it (``make bench-analytics``
makes one); without it the floor is skipped, not fatal. An ingest profile on one chunk splits our
per-event cost into encoding (``EventColumns``), Arrow conversion and the insert itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from liveloop.analytics import EventIngest
from liveloop.analytics.review import compute_review
from liveloop.core.eventstore import EventStore
from liveloop.rooms import ShowState, ShowWindow
from liveloop.sim.analytics_floor import measure_floor, profile_append
from liveloop.sim.analytics_import import export_show, import_show
from liveloop.sim.analytics_render import INGEST_TARGET, REVIEW_TARGET_SECONDS, render
from liveloop.sim.common import BenchError, Log
from liveloop.sim.show_gen import ShowGenerator, ShowSpec


@dataclass
class EngineResult:
    engine: str
    events: int
    generate_seconds: float
    ingest_seconds: float
    ingest_cpu_seconds: float
    stored: int
    review_seconds: list[float]
    review_cpu_seconds: list[float]
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def ingest_rate(self) -> float:
        return self.events / self.ingest_seconds if self.ingest_seconds else 0.0


def repo_root() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "src" / "liveloop").is_dir():
            return parent
    return Path.cwd()


def _show(spec: ShowSpec) -> ShowWindow:
    return ShowWindow(
        show_id=spec.show_id,
        shop_id=spec.shop_id,
        room_id=spec.room_id,
        title="bench",
        state=ShowState.ENDED,
        started_at=spec.start,
        ended_at=spec.end,
    )


async def _run_engine(
    engine: str, store: EventStore, spec: ShowSpec, *, chunk: int, repeat: int, log: Log
) -> EngineResult:
    await store.open()
    try:
        ingest = EventIngest(store, max_batch=chunk, max_append=chunk, max_buffer=2 * chunk)
        generator = ShowGenerator(spec)
        gen_seconds = ingest_seconds = ingest_cpu = 0.0
        count = 0
        chunks = generator.chunks(chunk)
        last_report = time.monotonic()
        while True:
            t0 = time.perf_counter()
            batch = next(chunks, None)
            gen_seconds += time.perf_counter() - t0
            if batch is None:
                break
            t1, c1 = time.perf_counter(), time.process_time()
            await ingest(batch)
            await ingest.flush()
            ingest_seconds += time.perf_counter() - t1
            ingest_cpu += time.process_time() - c1
            count += len(batch)
            if time.monotonic() - last_report > 15:
                last_report = time.monotonic()
                log(f"{engine}: {count:,} events ingested ({count / ingest_seconds:,.0f}/s)")
        if ingest.dropped or ingest.rejected:
            raise BenchError(
                f"{engine}: ingest dropped {ingest.dropped} and rejected {ingest.rejected} events"
            )
        stored = int((await store.query("SELECT count(*) FROM events"))[0][0])
        log(f"{engine}: {count:,} events in {ingest_seconds:.1f} s; reviewing")
        show = _show(spec)
        as_of = spec.end + timedelta(hours=1)
        walls, cpus = [], []
        review = None
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            review = await compute_review(store, show, as_of=as_of)
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        assert review is not None
        totals = review.totals
        figures = {
            "uv": totals.uv,
            "pv": totals.pv,
            "gmv_cents": totals.gmv_cents,
            "likes": totals.likes,
            "pcu": totals.pcu,
            "minutes": len(review.minutes),
            "products": len(review.products),
        }
        return EngineResult(
            engine, count, gen_seconds, ingest_seconds, ingest_cpu, stored, walls, cpus, figures
        )
    finally:
        await store.close()


def _loadavg() -> float | None:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def run_bench(
    *,
    events: int,
    viewers: int | None,
    pg_url: str | None,
    chunk: int,
    repeat: int,
    baseline: bool,
    baselines_dir: Path | None,
    baseline_python: str | None,
    log: Log,
) -> dict[str, Any]:
    from liveloop.adapters.duckdb import DuckDBEventStore  # a benchmark names the adapters it measures
    from liveloop.adapters.sql import PostgresEventStore

    spec = ShowSpec(events=events, viewers=viewers or max(events // 50, 100))
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(),
        "events": events,
        "viewers": spec.viewers,
        "minutes": spec.minutes,
        "chunk": chunk,
        "cores": os.cpu_count(),
        "loadavg_before": _loadavg(),
        "engines": {},
    }
    workdir = Path(tempfile.mkdtemp(prefix="liveloop-analytics-"))
    try:
        stores: list[tuple[str, Callable[[], EventStore], Callable[[], EventStore]]] = [
            (
                "duckdb",
                lambda: DuckDBEventStore(workdir / "events.duckdb"),
                lambda: DuckDBEventStore(workdir / "imported.duckdb"),
            )
        ]
        schema = f"liveloop_bench_{uuid.uuid4().hex[:10]}"
        if pg_url:
            stores.append(
                (
                    "postgresql",
                    lambda: PostgresEventStore(pg_url, schema=schema),
                    lambda: PostgresEventStore(pg_url, schema=schema + "_import"),
                )
            )
        parquet = workdir / "show.parquet"
        for name, make, make_fresh in stores:
            log(f"{name}: generating and ingesting {events:,} events ({spec.viewers:,} viewers)")
            try:
                result = asyncio.run(_run_engine(name, make(), spec, chunk=chunk, repeat=repeat, log=log))
                if name == "duckdb":  # the show, in the export format, for every engine's import
                    report["export"] = export_show(make(), show_id=spec.show_id, path=parquet)
                imported = import_show(name, make_fresh(), parquet, log=log)
            finally:
                if name == "postgresql" and pg_url:
                    asyncio.run(_drop_schema(pg_url, schema))
                    asyncio.run(_drop_schema(pg_url, schema + "_import"))
            report["engines"][name] = {
                "events": result.events,
                "stored": result.stored,
                "generate_seconds": result.generate_seconds,
                "ingest_seconds": result.ingest_seconds,
                "ingest_cpu_seconds": result.ingest_cpu_seconds,
                "ingest_events_per_s": result.ingest_rate,
                "review_seconds": result.review_seconds,
                "review_cpu_seconds": result.review_cpu_seconds,
                "figures": result.figures,
                "import": imported,
            }
        report["profile"] = profile_append(spec, chunk)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if baseline:
        where = baselines_dir or repo_root().parent / "shared" / "baselines"
        python = baseline_python or os.environ.get("PY") or sys.executable
        if (where / "ingest_bench.py").is_file():
            try:
                report["floor"] = measure_floor(
                    python, where, rows=events, ingest_rows=min(events, 2_000_000), log=log
                )
            except (BenchError, subprocess.TimeoutExpired, OSError) as exc:
                report["floor"] = {"skipped": str(exc)}
        else:
            report["floor"] = {"skipped": f"no baselines at {where}"}
    report["loadavg_after"] = _loadavg()
    _conclude(report)
    return report


async def _drop_schema(url: str, schema: str) -> None:
    from sqlalchemy import text

    from liveloop.core.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await engine.dispose()


def _conclude(report: dict[str, Any]) -> None:
    floor = report.get("floor") or {}
    raw = floor.get("duckdb_batch_10000_rows_per_s")
    groupby = floor.get("groupby_total_seconds")
    for name, engine in report["engines"].items():
        best = min(engine["review_seconds"])
        engine["review_best_seconds"] = best
        engine["review_to_groupby"] = best / groupby if groupby else None
        if name == "duckdb":
            engine["review_target_met"] = best < REVIEW_TARGET_SECONDS
        # Each path judged on its own: the per-event ingest (a live room) and the import (bulk).
        for path, rate in (
            ("ingest", engine["ingest_events_per_s"]),
            ("import", engine["import"]["events_per_s"]),
        ):
            ratio = rate / raw if raw else None
            engine[f"{path}_ratio_to_raw"] = ratio
            engine[f"{path}_target_met"] = None if ratio is None else ratio >= INGEST_TARGET


def bench_analytics(
    events: Annotated[int, typer.Option(min=1000, help="Events in the generated show.")] = 10_000_000,
    viewers: Annotated[int | None, typer.Option(min=10, help="Viewers (default: events / 50).")] = None,
    pg: Annotated[
        str | None,
        typer.Option(envvar="LIVELOOP_DATABASE_URL", help="Also PostgreSQL (SQLAlchemy asyncpg URL)."),
    ] = None,
    chunk: Annotated[int, typer.Option(min=100, help="Events handed to the ingest at a time.")] = 100_000,
    repeat: Annotated[int, typer.Option(min=1, help="Review runs per engine.")] = 2,
    baseline: Annotated[
        bool, typer.Option("--baseline/--no-baseline", help="Also measure the raw floor.")
    ] = True,
    baselines: Annotated[
        Path | None, typer.Option(help="The baselines dir (default ../shared/baselines).")
    ] = None,
    baseline_python: Annotated[
        str | None, typer.Option(help="Python with numpy, duckdb, pyarrow for the floor (default $PY).")
    ] = None,
    results_dir: Annotated[
        Path | None, typer.Option(help="Save the JSON report here (default bench/results).")
    ] = None,
    save: Annotated[bool, typer.Option("--save/--no-save", help="Save the JSON report.")] = True,
) -> None:
    """Ingest a generated show per event and by import, review it, beside the raw floor."""
    err = Console(stderr=True, highlight=False)
    pg_url = pg if pg and pg.startswith("postgresql") else None
    try:
        report = run_bench(
            events=events,
            viewers=viewers,
            pg_url=pg_url,
            chunk=chunk,
            repeat=repeat,
            baseline=baseline,
            baselines_dir=baselines,
            baseline_python=baseline_python,
            log=lambda line: err.print(f"[dim]bench:[/dim] {line}"),
        )
    except BenchError as exc:
        err.print(f"[red]bench failed:[/red] {exc}")
        raise typer.Exit(1) from None
    Console(highlight=False, width=None if sys.stdout.isatty() else 160).print(render(report))
    if save:
        where = results_dir or repo_root() / "bench" / "results"
        where.mkdir(parents=True, exist_ok=True)
        path = where / f"analytics-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
        path.write_text(json.dumps(report, indent=2))
        err.print(f"report saved to {path}")
    typer.echo("BENCH_ANALYTICS " + json.dumps(report, separators=(",", ":")))
