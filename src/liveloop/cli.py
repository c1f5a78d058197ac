"""The `liveloop` command line."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from liveloop import __version__, bootstrap, migrate
from liveloop.core.db import create_engine
from liveloop.settings import Settings
from liveloop.shops import count_shops, do_create_shop

app = typer.Typer(help="liveloop: live-stream e-commerce in one closed loop.", no_args_is_help=True)
shop_app = typer.Typer(help="Manage shops (tenants).", no_args_is_help=True)
app.add_typer(shop_app, name="shop")
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
        f"(API docs: http://{final.host}:{final.port}/docs)"
    )
    uvicorn.run(
        "liveloop.web.app:create_app",
        factory=True,
        host=final.host,
        port=final.port,
        reload=reload,
        ws_per_message_deflate=False,
        log_level=final.log_level,
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


def main() -> None:
    app()
