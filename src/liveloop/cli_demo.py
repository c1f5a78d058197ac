"""`liveloop demo`: the scripted show (kept apart from cli.py, which registers it)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from liveloop.settings import Settings


def demo(
    viewers: Annotated[int, typer.Option(min=1, max=5000, help="Simulated viewers over the show.")] = 300,
    minutes: Annotated[float, typer.Option(min=0.2, max=120, help="Length of the show in minutes.")] = 4.0,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port of the server it starts (0 = any).")
    ] = 8000,
    url: Annotated[str | None, typer.Option(help="Play against this running server instead.")] = None,
    key: Annotated[str | None, typer.Option(help="A staff key of the shop (with --url).")] = None,
    keep_serving: Annotated[
        bool,
        typer.Option("--keep-serving/--exit", help="Keep the server up after the show (to read the review)."),
    ] = True,
    seed: Annotated[int, typer.Option(help="Random seed of the crowd.")] = 7,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Play a scripted live show with persona-driven viewers; watch the console, then read the review."""
    from liveloop.cli import DEMO_KEY_FILE
    from liveloop.sim.common import BenchError
    from liveloop.sim.demo import DemoOptions, run_demo

    settings = Settings()
    options = DemoOptions(
        viewers=viewers,
        minutes=minutes,
        port=port,
        url=url,
        key=key,
        data_dir=settings.data_dir,
        key_file=settings.data_dir / DEMO_KEY_FILE,
        keep_serving=keep_serving,
        seed=seed,
    )
    err = Console(stderr=True, highlight=False)
    try:
        result = run_demo(options, log=lambda line: err.print(f"[dim]demo:[/dim] {line}"))
    except BenchError as exc:
        err.print(f"[red]demo failed:[/red] {exc}")
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    out = Console(highlight=False)
    out.print(
        f"viewers joined {result['viewers_joined']} (failed {result['viewers_failed']}), "
        f"comments {result['comments_sent']}, likes {result['likes_sent']}, orders {result['orders_placed']}"
    )
    out.print(f"console: {result['console_url']}\nreview:  {result['review_url']}")
