"""The `liveloop` command line."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from liveloop import __version__, bootstrap, migrate
from liveloop.cli_demo import demo
from liveloop.cli_events import events_app
from liveloop.cli_flash_sale import bench_flash_sale
from liveloop.cli_review import review
from liveloop.core.db import create_engine
from liveloop.settings import Settings
from liveloop.shops import count_shops, do_create_shop
from liveloop.sim.analytics_bench import bench_analytics
from liveloop.sim.live_bench import bench_live_metrics

app = typer.Typer(help="liveloop: live-stream e-commerce in one closed loop.", no_args_is_help=True)
shop_app = typer.Typer(help="Manage shops (tenants).", no_args_is_help=True)
app.add_typer(shop_app, name="shop")
bench_app = typer.Typer(help="Benchmarks against a real server on this machine.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
DEMO_KEY_FILE = "demo-owner-key.txt"


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"liveloop {__version__}")
        raise typer.Exit


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """liveloop: warm-up, live room, data review and private domain in one loop."""


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default LIVELOOP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default LIVELOOP_PORT).")] = None,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
) -> None:
    """Run the server (API, live rooms, dashboard)."""
    import uvicorn

    from liveloop.web.ws_protocol import uvicorn_ws

    settings = Settings()
    try:
        asyncio.run(_check_database(settings))
    except bootstrap.NotMigrated as exc:
        _console().print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    if host:
        os.environ["LIVELOOP_HOST"] = host
    if port is not None:
        os.environ["LIVELOOP_PORT"] = str(port)
    final = Settings()
    _console().print(
        f"liveloop {__version__} on http://{final.host}:{final.port}  "
        f"(console: http://{final.host}:{final.port}/console, API docs: /docs)"
    )
    uvicorn.run(
        "liveloop.web.app:create_app",
        factory=True,
        host=final.host,
        port=final.port,
        reload=reload,
        ws=uvicorn_ws(final.ws_protocol),
        ws_per_message_deflate=False,
        ws_max_size=64 * 1024,  # frames past 4 KiB get an error frame; far past it, close 1009
        log_level=final.log_level,
        # Below "info" no access line is ever printed: skip building one for every request.
        access_log=final.log_level in ("debug", "info"),
    )


async def _check_database(settings: Settings) -> None:
    db = await bootstrap.prepare_database(settings)
    await db.dispose()


@app.command(name="migrate")
def migrate_command() -> None:
    """Bring the database schema to the current version."""
    settings = Settings()

    async def run() -> None:
        if settings.is_embedded:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(settings.resolved_database_url)
        try:
            await migrate.upgrade(engine)
            revision = await migrate.current_revision(engine)
        finally:
            await engine.dispose()
        _console().print(f"database at revision {revision}")

    asyncio.run(run())


@shop_app.command("create")
def shop_create(
    name: Annotated[str, typer.Argument(help="The shop's display name.")],
    owner_name: Annotated[str, typer.Option(help="Name of the owner account.")] = "Owner",
    timezone: Annotated[str, typer.Option(help="IANA time zone of the shop.")] = "Asia/Shanghai",
) -> None:
    """Create a shop with an owner account; prints the owner's API key once."""
    settings = Settings()

    async def run() -> None:
        db = await bootstrap.prepare_database(settings)
        try:
            created = await do_create_shop(db, name=name, owner_name=owner_name, timezone=timezone)
        finally:
            await db.dispose()
        console = _console()
        console.print(f"shop {created.shop.id} created: {created.shop.name}")
        console.print("owner API key (shown once, store it now):")
        typer.echo(created.api_key)

    asyncio.run(run())


@shop_app.command("ensure-demo")
def shop_ensure_demo() -> None:
    """Create a demo shop when the database has none; print its owner key (kept in the data dir)."""
    settings = Settings()
    key_file = Path(settings.data_dir) / DEMO_KEY_FILE

    async def run() -> None:
        db = await bootstrap.prepare_database(settings)
        try:
            if await count_shops(db) == 0:
                created = await do_create_shop(db, name="演示店铺 Demo Shop", owner_name="Demo Owner")
                settings.data_dir.mkdir(parents=True, exist_ok=True)
                key_file.write_text(created.api_key + "\n")
                key_file.chmod(0o600)
        finally:
            await db.dispose()

    asyncio.run(run())
    if key_file.exists():
        _console().print(f"demo owner API key: [bold]{key_file.read_text().strip()}[/bold]  ({key_file})")


@bench_app.command("fanout")
def bench_fanout(
    viewers: Annotated[int, typer.Option(min=1, help="WebSocket viewers in the room.")] = 5000,
    comments_per_second: Annotated[float, typer.Option(min=0, help="Comments posted per second.")] = 200,
    likes_per_second: Annotated[float, typer.Option(min=0, help="Like taps per second.")] = 2000,
    duration: Annotated[float, typer.Option(min=0.5, help="Seconds of load.")] = 20,
    baseline: Annotated[
        bool, typer.Option("--baseline/--no-baseline", help="Also measure the raw floor (run_ws_bench.sh).")
    ] = True,
    baselines: Annotated[
        Path | None, typer.Option(help="The baselines dir (default: ../shared/baselines from the repo).")
    ] = None,
    senders: Annotated[int, typer.Option(min=1, help="Logged-in sockets posting the comments.")] = 50,
    probes: Annotated[int, typer.Option(min=1, help="Viewers that decode ticks and time comments.")] = 200,
    results_dir: Annotated[
        Path | None, typer.Option(help="Save the JSON report here (default: bench/results in the repo).")
    ] = None,
    save: Annotated[bool, typer.Option("--save/--no-save", help="Save the JSON report.")] = True,
    capacity: Annotated[
        bool, typer.Option("--capacity", help="Then the capacity ramp: raise the comment rate step by step.")
    ] = False,
    capacity_rates: Annotated[
        str, typer.Option(help="The ramp's offered comments/s, comma-separated, increasing.")
    ] = "200,400,800,1600,3200",
    capacity_duration: Annotated[float, typer.Option(min=0.5, help="Seconds of load per ramp step.")] = 10,
) -> None:
    """One live room under load from a separate process: throughput, latency, CPU, memory, floor."""
    from liveloop.sim import fanout

    ramp = None
    if capacity:
        try:
            rates = tuple(float(rate) for rate in capacity_rates.split(","))
            ramp = fanout.CapacityOptions(rates=rates, duration=capacity_duration)
        except ValueError as exc:
            raise typer.BadParameter(f"--capacity-rates: {exc}") from None

    options = fanout.FanoutOptions(
        viewers=viewers,
        comments_per_second=comments_per_second,
        likes_per_second=likes_per_second,
        duration=duration,
        baseline=baseline,
        baselines_dir=baselines,
        senders=senders,
        probes=probes,
        results_dir=(results_dir or fanout.repo_root() / "bench" / "results") if save else None,
        capacity=ramp,
    )
    err = Console(stderr=True, highlight=False)
    try:
        report = fanout.run_fanout(options, log=lambda line: err.print(f"[dim]bench:[/dim] {line}"))
    except fanout.BenchError as exc:
        err.print(f"[red]bench failed:[/red] {exc}")
        raise typer.Exit(1) from None
    wide = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
    wide.print(fanout.render(report))
    if ramp is not None:
        wide.print(fanout.render_capacity(report))
    typer.echo(fanout.report_line(report))


bench_app.command("flash-sale")(bench_flash_sale)
bench_app.command("live-metrics")(bench_live_metrics)
bench_app.command("analytics")(bench_analytics)


app.add_typer(events_app, name="events")


lottery_app = typer.Typer(help="Comment lotteries (福袋): check a draw.", no_args_is_help=True)
app.add_typer(lottery_app, name="lottery")


@lottery_app.command("verify")
def lottery_verify(
    proof_file: Annotated[
        Path | None, typer.Argument(help="A proof as JSON (what GET /api/v1/lotteries/{id}/proof returns).")
    ] = None,
    url: Annotated[str | None, typer.Option(help="Fetch the proof from this http(s) URL instead.")] = None,
    key: Annotated[
        str | None, typer.Option(envvar="LIVELOOP_API_KEY", help="Staff API key sent with --url.")
    ] = None,
) -> None:
    """Recompute a lottery's winners from its seed and eligible list: prints OK or what differs."""
    import json
    import urllib.request

    from liveloop.interactions import parse_proof, verify_proof

    err = Console(stderr=True, highlight=False)
    try:
        if url is not None:
            if not url.startswith(("http://", "https://")):
                raise ValueError("--url takes an http:// or https:// URL")
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            request = urllib.request.Request(url, headers=headers)  # noqa: S310 - the scheme is checked
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                data = json.load(answer)
        elif proof_file is not None:
            data = json.loads(proof_file.read_text(encoding="utf-8"))
        else:
            raise ValueError("give a proof file or --url")
        proof = parse_proof(data)
    except (OSError, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    verdict = verify_proof(proof)
    if not verdict.ok:
        typer.echo(f"FAILED: lottery {proof.lottery_id} does not verify")
        for problem in verdict.problems:
            typer.echo(f"  - {problem}")
        raise typer.Exit(1)
    typer.echo(
        f"OK: lottery {proof.lottery_id}: sha256(seed) matches seed_hash and the {len(proof.winners)} "
        f"winner(s) are exactly those drawn from the {len(proof.eligible)} eligible viewer(s)"
    )


def main() -> None:
    app()


app.command("demo")(demo)
app.command("review")(review)
