"""``liveloop bench flash-sale``: the command (registered on the bench group by ``liveloop.cli``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console


def _backends(value: str, redis_url: str | None, pg_url: str | None) -> tuple[str, ...]:
    if value == "auto":
        return ("embedded", "scaleout") if redis_url and pg_url else ("embedded",)
    return tuple(part.strip() for part in value.split(",") if part.strip())


def bench_flash_sale(
    buyers: Annotated[int, typer.Option(min=1, help="Concurrent buyers (one order each).")] = 10_000,
    units: Annotated[int, typer.Option(min=1, help="Units in the flash sale.")] = 100,
    limit: Annotated[int, typer.Option(min=1, help="Per-user limit of the sale.")] = 1,
    backends: Annotated[
        str,
        typer.Option(
            help="Comma-separated: embedded (SQLite + memory), scaleout (PostgreSQL + Redis); "
            "auto = embedded, plus scaleout when both URLs are known."
        ),
    ] = "auto",
    redis: Annotated[
        str | None, typer.Option(help="Redis URL of the scaleout run (default LIVELOOP_REDIS_URL).")
    ] = None,
    pg: Annotated[
        str | None,
        typer.Option(
            help="PostgreSQL URL of the scaleout run (default LIVELOOP_DATABASE_URL); a fresh database "
            "is created beside the one it names and dropped afterwards."
        ),
    ] = None,
    connections: Annotated[
        int,
        typer.Option(min=1, help="Keep-alive sockets of the HTTP buyers; sockets opened at once over ws."),
    ] = 200,
    transports: Annotated[
        str,
        typer.Option(
            help="Comma-separated: http (POST /api/v1/buyer/orders), ws (a buy frame on each buyer's "
            "room socket). Each runs on a fresh server and store."
        ),
    ] = "http,ws",
    greedy: Annotated[
        float, typer.Option(min=0, max=1, help="Share of buyers sending limit+1 orders at once.")
    ] = 0.05,
    grabs: Annotated[int, typer.Option(min=1, help="In-process grabs of the sale mix.")] = 50_000,
    write_grabs: Annotated[
        int, typer.Option(min=1, help="In-process grabs that all win (SQL each).")
    ] = 2_000,
    use_case_grabs: Annotated[int, typer.Option(min=1, help="In-process do_place_order calls.")] = 10_000,
    in_process: Annotated[
        bool, typer.Option("--in-process/--no-in-process", help="Measure the grab path in-process.")
    ] = True,
    floor: Annotated[
        bool, typer.Option("--floor/--no-floor", help="Also measure the floors (redis_flash, sqlite_flash).")
    ] = True,
    baselines: Annotated[
        Path | None, typer.Option(help="The baselines dir (default: ../shared/baselines from the repo).")
    ] = None,
    json_only: Annotated[bool, typer.Option("--json", help="Print only the JSON report line.")] = False,
    results_dir: Annotated[
        Path | None, typer.Option(help="Save the JSON report here (default: bench/results in the repo).")
    ] = None,
    save: Annotated[bool, typer.Option("--save/--no-save", help="Save the JSON report.")] = True,
) -> None:
    """One flash sale, a crowd of real HTTP and room-socket buyers from a separate process, the SQL
    audit, the in-process grab path and the floors. Fails when units sold != units or a buyer beat
    the limit."""
    from liveloop.sim import flashsale

    redis_url = redis or os.environ.get("LIVELOOP_REDIS_URL") or None
    pg_url = pg or os.environ.get("LIVELOOP_DATABASE_URL") or None
    err = Console(stderr=True, highlight=False)
    try:
        options = flashsale.FlashSaleOptions(
            buyers=buyers,
            units=units,
            limit=limit,
            backends=_backends(backends, redis_url, pg_url),
            redis_url=redis_url,
            pg_url=pg_url,
            greedy=greedy,
            connections=connections,
            transports=tuple(part.strip() for part in transports.split(",") if part.strip()),
            grabs=grabs,
            write_grabs=write_grabs,
            use_case_grabs=use_case_grabs,
            in_process=in_process,
            floor=floor,
            baselines_dir=baselines,
            results_dir=(results_dir or flashsale.repo_root() / "bench" / "results") if save else None,
        )
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        report = flashsale.run_flash_sale(options, log=lambda line: err.print(f"[dim]bench:[/dim] {line}"))
    except flashsale.BenchError as exc:
        err.print(f"[red]bench failed:[/red] {exc}")
        raise typer.Exit(1) from None
    if not json_only:
        wide = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
        wide.print(flashsale.render(report))
    typer.echo(flashsale.report_line(report))
    if not report["ok"]:
        failed = {
            name: [k for k, ok in checks.items() if not ok] for name, checks in report["checks"].items()
        }
        err.print(f"[red]flash sale checks failed:[/red] {failed}")
        raise typer.Exit(1)
