"""The bulk path of ``liveloop bench analytics``: the show as an export file, imported columnar.

The per-event ingest (``EventIngest``, what a live room feeds) is bounded by Python's cost per event
object; :meth:`EventStore.import_file` (``liveloop events import``) is the product's bulk path, with
no Python per event. The bench writes the show the per-event path stored to a Parquet file with
the store's own export (timed apart: it is not part of the import), then imports that file into a
fresh store of each engine and times only :meth:`~EventStore.import_file`.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from liveloop.core.eventstore import EventStore
from liveloop.sim.common import BenchError, Log


def export_show(store: EventStore, *, show_id: int, path: Path) -> dict[str, Any]:
    """Export the show from ``store`` (opened and closed here) to Parquet; its row count and time."""

    async def run() -> int:
        await store.open()
        try:
            return await store.export(show_id=show_id, path=path, fmt="parquet")
        finally:
            await store.close()

    t0 = time.perf_counter()
    rows = asyncio.run(run())
    return {"rows": rows, "seconds": time.perf_counter() - t0, "bytes": path.stat().st_size}


def import_show(engine: str, store: EventStore, path: Path, *, log: Log) -> dict[str, Any]:
    """Import ``path`` into the fresh ``store``; time (wall and CPU) only the import itself."""

    async def run() -> dict[str, Any]:
        await store.open()
        try:
            t0, c0 = time.perf_counter(), time.process_time()
            result = await store.import_file(path, fmt="parquet")
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            stored = int((await store.query("SELECT count(*) FROM events"))[0][0])
        finally:
            await store.close()
        if result.inserted != result.read or stored != result.read:
            raise BenchError(
                f"{engine}: import read {result.read}, inserted {result.inserted}, stored {stored}"
            )
        return {
            "events": result.read,
            "stored": stored,
            "seconds": wall,
            "cpu_seconds": cpu,
            "events_per_s": result.read / wall if wall else 0.0,
        }

    log(f"{engine}: importing {path.name} into a fresh store")
    figures = asyncio.run(run())
    log(f"{engine}: imported {figures['events']:,} events in {figures['seconds']:.1f} s")
    return figures
