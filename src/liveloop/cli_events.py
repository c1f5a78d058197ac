"""``liveloop events export|import``: a show's events to a file, and a file back into the event store.

Export and import are counterparts: restore a show, or move it to another install or backend (an
embedded DuckDB store to PostgreSQL, say). On DuckDB both need the server stopped (one process owns
the file). Import checks the file first (columns, event types, schema versions against the event
types this install knows) and stores nothing from a file it refuses.
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

import liveloop
from liveloop import bootstrap
from liveloop.core.events import EventData
from liveloop.core.eventstore import EventStore, EventStoreError, EventStoreLocked
from liveloop.settings import Settings

__all__ = ["events_app", "known_event_versions"]

T = TypeVar("T")

events_app = typer.Typer(help="The event store: every event, for analysis.", no_args_is_help=True)


class ExportFormatOption(StrEnum):
    parquet = "parquet"
    csv = "csv"


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def known_event_versions() -> dict[str, int]:
    """The newest payload version of every event type liveloop emits: each ``EventData`` subclass
    with a ``TYPE``, from the modules named ``*events`` (where every domain declares its events)."""
    for module in pkgutil.walk_packages(liveloop.__path__, "liveloop."):
        if module.name.rsplit(".", 1)[-1].endswith("events"):
            importlib.import_module(module.name)
    versions: dict[str, int] = {}
    pending = [EventData]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        kind = getattr(cls, "TYPE", None)
        if isinstance(kind, str):
            versions[kind] = max(versions.get(kind, 0), cls.VERSION)
    return versions


def _with_store(settings: Settings, *, read_only: bool, work: Callable[[EventStore], Awaitable[T]]) -> T:
    """Open the configured store, run ``work``, close it; say what to do when it cannot be used."""
    console = _console()
    store = bootstrap.make_event_store(settings, read_only=read_only)
    if store is None:
        console.print("[red]error:[/red] the event store is turned off (LIVELOOP_EVENT_STORE=none)")
        raise typer.Exit(1)

    async def run() -> T:
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except EventStoreLocked as exc:
        console.print(
            f"[red]error:[/red] {exc}. A running liveloop server owns it: stop the server, "
            "or export through the server's API."
        )
        raise typer.Exit(1) from None
    except EventStoreError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


@events_app.command("export")
def events_export(
    show: Annotated[int, typer.Argument(help="The show's id.")],
    fmt: Annotated[
        ExportFormatOption, typer.Option("--format", help="File format.")
    ] = ExportFormatOption.parquet,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output file (default: ./show-<SHOW>-events.<format>).")
    ] = None,
) -> None:
    """Export a show's events, ordered by time, to Parquet or CSV (with the server stopped, on DuckDB)."""
    path = out or Path(f"show-{show}-events.{fmt.value}")

    async def export(store: EventStore) -> int:
        return await store.export(show_id=show, path=path, fmt=fmt.value)

    count = _with_store(Settings(), read_only=True, work=export)
    _console().print(f"{count} events of show {show} written to {path}")


@events_app.command("import")
def events_import(
    file: Annotated[Path, typer.Argument(help="A file `liveloop events export` wrote.")],
    fmt: Annotated[
        ExportFormatOption | None,
        typer.Option("--format", help="File format (default: from the file's suffix, else parquet)."),
    ] = None,
) -> None:
    """Import a show's events from an export file (with the server stopped, on DuckDB); idempotent."""
    chosen = fmt or (ExportFormatOption.csv if file.suffix.lower() == ".csv" else ExportFormatOption.parquet)
    versions = known_event_versions()

    async def load(store: EventStore) -> tuple[int, int, int]:
        result = await store.import_file(file, fmt=chosen.value, versions=versions)
        return result.read, result.inserted, result.already

    read, inserted, already = _with_store(Settings(), read_only=False, work=load)
    _console().print(
        f"{read} events read from {file}: {inserted} imported, {already} already stored (or repeated)"
    )
