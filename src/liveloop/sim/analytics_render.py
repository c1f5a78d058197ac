"""The table of ``liveloop bench analytics``: both ingest paths and the review, beside the floor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.table import Table

__all__ = ["INGEST_TARGET", "REVIEW_TARGET_SECONDS", "render"]

INGEST_TARGET = 0.5  # x the raw batched insert, for each path
REVIEW_TARGET_SECONDS = 3.0


def render(report: dict[str, Any]) -> Table:
    table = Table(
        title=f"liveloop bench analytics: {report['events']:,} events, {report['viewers']:,} viewers"
    )
    table.add_column("figure")
    for name in report["engines"]:
        table.add_column(name, justify="right")
    engines = list(report["engines"].values())

    def row(label: str, fn: Callable[[dict[str, Any]], str]) -> None:
        table.add_row(label, *(fn(e) for e in engines))

    row("events generated / stored", lambda e: f"{e['events']:,} / {e['stored']:,}")
    row("generation (not timed), s", lambda e: f"{e['generate_seconds']:.1f}")
    row("ingest, s (CPU s)", lambda e: f"{e['ingest_seconds']:.1f} ({e['ingest_cpu_seconds']:.1f})")
    row("ingest events/s", lambda e: f"{e['ingest_events_per_s']:,.0f}")
    row(
        f"ingest / raw batched insert (target >= {INGEST_TARGET})",
        lambda e: _judged(e["ingest_ratio_to_raw"], e["ingest_target_met"]),
    )
    row(
        "import from Parquet (columnar), s (CPU s)",
        lambda e: f"{e['import']['seconds']:.1f} ({e['import']['cpu_seconds']:.1f})",
    )
    row("import events/s", lambda e: f"{e['import']['events_per_s']:,.0f}")
    row(
        f"import / raw batched insert (target >= {INGEST_TARGET})",
        lambda e: _judged(e["import_ratio_to_raw"], e["import_target_met"]),
    )
    row("review, s (each run)", lambda e: ", ".join(f"{s:.2f}" for s in e["review_seconds"]))
    row("review CPU s (each run)", lambda e: ", ".join(f"{s:.2f}" for s in e["review_cpu_seconds"]))
    row(
        f"review best, s (target < {REVIEW_TARGET_SECONDS:g} on DuckDB)",
        lambda e: f"{e['review_best_seconds']:.2f}",
    )
    row(
        "review / bare group-bys",
        lambda e: "-" if e["review_to_groupby"] is None else f"{e['review_to_groupby']:.1f}x",
    )
    floor = report.get("floor")
    if floor is None:
        table.caption = (
            f"floor not measured; load average {report['loadavg_before']} -> {report['loadavg_after']}"
        )
    elif "skipped" in floor:
        table.caption = f"floor skipped: {floor['skipped']}"
    else:
        rate = floor.get("duckdb_batch_10000_rows_per_s")
        total = floor.get("groupby_total_seconds")
        queries = ", ".join(f"{q} {s:.3f}" for q, s in floor["groupby_seconds"].items())
        table.caption = (
            f"floor: DuckDB batched insert (10k rows/batch) {rate:,.0f} rows/s; "
            f"five group-bys {total:.2f} s ({queries}); "
            f"load average {report['loadavg_before']} -> {report['loadavg_after']}"
        )
    export = report.get("export")
    if export:
        table.caption = (table.caption or "") + (
            f"\nshow exported to Parquet for the import (not timed in it): {export['rows']:,} rows, "
            f"{export['bytes'] / 1e6:,.0f} MB in {export['seconds']:.1f} s"
        )
    profile = report.get("profile")
    if profile:
        table.caption = (table.caption or "") + (
            f"\nDuckDB append per event: encode {profile['encode_us']:.2f} us, "
            f"Arrow {profile['arrow_us']:.2f} us, "
            f"bare insert of that Arrow batch {profile['raw_insert_us']:.2f} us"
        )
    return table


def _judged(ratio: float | None, met: bool | None) -> str:
    if ratio is None:
        return "-"
    return f"{ratio:.3f} ({'meets' if met else 'misses'} the target)"
