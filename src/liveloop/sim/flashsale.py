"""``liveloop bench flash-sale``: a crowd of buyers against one flash sale (秒杀), measured.

Per backend (``embedded``: SQLite + memory counters; ``scaleout``: PostgreSQL + Redis, in a fresh
database and Redis namespace, see :mod:`liveloop.sim.flashsale_backends`):

1. ``liveloop shop create`` and ``liveloop serve`` as subprocesses; over the API with the owner
   key: a product, a room with a live show, and a flash sale of ``units`` units with a per-user
   ``limit``, running now. One viewer token per buyer, minted like the product mints them.
2. ``python -m liveloop.sim.flashsale_buyers`` (:mod:`liveloop.sim.flashsale_buyers`), a separate
   process, opens ``connections`` keep-alive sockets, then lets every order in at once: one per
   buyer, plus ``limit`` more (distinct idempotency keys) from a ``greedy`` share of the buyers.
   Over the ``ws`` transport (:mod:`liveloop.sim.flashsale_sockets`) every buyer instead joins the
   live room on its own socket and sends ``buy`` frames; each transport runs on a fresh server
   and store.
3. The server is stopped; the SQL truth is audited: units sold (must equal ``units``), orders
   against the answers, buyers over the limit (must be none).
4. In the bench process, on the same store: the grab path's own throughput
   (:mod:`liveloop.sim.flashsale_grab`).

Then the floors, once, on the same machine (:mod:`liveloop.sim.flashsale_floor`), and the ratios
(:mod:`liveloop.sim.flashsale_report`). A failed check (units sold, limit, answers, errors) makes
the run fail; a missed target does not.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from liveloop.sim.common import BenchError, Log
from liveloop.sim.fanout import default_baselines_dir, repo_root
from liveloop.sim.flashsale_backends import BACKENDS, Target, prepared_target
from liveloop.sim.flashsale_floor import run_floors
from liveloop.sim.flashsale_grab import run_grabs
from liveloop.sim.flashsale_http import BuyersRun, run_buyers
from liveloop.sim.flashsale_report import REPORT_PREFIX, conclude, render, report_line
from liveloop.sim.procstat import raise_nofile_limit

__all__ = [
    "REPORT_PREFIX",
    "BenchError",
    "FlashSaleOptions",
    "render",
    "repo_root",
    "report_line",
    "run_flash_sale",
]


TRANSPORTS = ("http", "ws")


@dataclass(frozen=True)
class FlashSaleOptions:
    buyers: int = 10_000
    units: int = 100
    limit: int = 1
    backends: tuple[str, ...] = ("embedded",)
    redis_url: str | None = None
    pg_url: str | None = None
    #: Share of the buyers who send ``limit + 1`` orders at once (the per-user limit under race).
    greedy: float = 0.05
    #: Keep-alive sockets of the buyers process (one request in flight on each); over ``ws`` every
    #: buyer has its own room socket and this is how many are opened at once.
    connections: int = 200
    #: ``http``: ``POST /api/v1/buyer/orders``; ``ws``: a ``buy`` frame on each buyer's room socket.
    #: Each transport runs on a fresh server and store.
    transports: tuple[str, ...] = ("http", "ws")
    #: In-process: grabs of the ``sale`` mix, of the ``write`` mix (all win) and of the use case.
    grabs: int = 50_000
    write_grabs: int = 2_000
    use_case_grabs: int = 10_000
    grab_workers: int = 256
    in_process: bool = True
    floor: bool = True
    baselines_dir: Path | None = None
    redis_floor_requests: int = 100_000
    sqlite_floor_requests: int = 200_000
    timeout: float = 300.0
    results_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.units < 1 or self.limit < 1:
            raise ValueError("need at least 1 unit and a limit of at least 1")
        if self.buyers < self.units:
            raise ValueError("need at least as many buyers as units, or the sale cannot sell out")
        if not 0 <= self.greedy <= 1:
            raise ValueError("greedy is a share of the buyers, 0..1")
        if self.connections < 1 or self.grab_workers < 1:
            raise ValueError("need at least one connection and one grab worker")
        if not self.transports or set(self.transports) - set(TRANSPORTS):
            raise ValueError(
                f"transports are {', '.join(TRANSPORTS)}; got {', '.join(self.transports) or 'none'}"
            )
        unknown = set(self.backends) - set(BACKENDS)
        if unknown or not self.backends:
            raise ValueError(f"backends are {', '.join(BACKENDS)}; got {', '.join(self.backends) or 'none'}")
        if "scaleout" in self.backends and not (self.redis_url and self.pg_url):
            raise ValueError(
                "the scaleout backend needs --redis and --pg (or LIVELOOP_REDIS_URL/DATABASE_URL)"
            )


DEFINITIONS = {
    "requests_per_s": "order requests answered (created, sold out, over limit) / time to the last answer",
    "orders_per_s": "orders created / the same window",
    "latency_ms": "per request: first byte written -> last answer byte, on a kept-alive socket "
    "(ws: buy frame written -> its ack or error frame, on the buyer's room socket)",
    "since_open_ms": "per request: sale open (every request due) -> its answer, socket wait included",
    "sold_out_after_s": "sale open -> the answer of the last unit sold",
    "server_cpu_cores": "user+system CPU of the liveloop serve process / window",
    "in_process.*.grabs_per_s": "grabs / seconds, many coroutines in one process, no HTTP",
    "floor.redis.*": "baselines/redis_flash.py: the same Lua grab from a bare redis-py client",
    "floor.sqlite.*": "baselines/sqlite_flash.py --mode group: one writer, 64 grabs per transaction",
    "ratios.http_vs_plain_client": "HTTP requests/s of one server worker / plain bare client req/s, sale mix",
    "ratios.ws_vs_plain_client": "buy frames answered/s on room sockets, 1 worker / plain bare client req/s",
    "ratios.grab_*": "in-process grabs/s / the floor's req/s on the same mix",
}


def _in_process(target: Target, buyers: BuyersRun, opts: FlashSaleOptions, log: Log) -> dict[str, Any]:
    if not opts.in_process:
        return {"skipped": "--no-in-process"}
    try:
        return run_grabs(target, buyers.owner_key, buyers.sale.product_id, opts, log)
    except Exception as exc:  # noqa: BLE001 - reported (and failing the run), not lost
        log(f"{target.name}: the in-process run failed: {type(exc).__name__}: {exc}")
        return {"failed": f"{type(exc).__name__}: {exc}"}


def run_flash_sale(options: FlashSaleOptions, log: Log) -> dict[str, Any]:
    """Run the benchmark; return the report (see :func:`render` and the module docstring)."""
    opts = options
    report: dict[str, Any] = {
        "bench": "flash-sale",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "params": {
            "buyers": opts.buyers,
            "units": opts.units,
            "limit": opts.limit,
            "greedy": opts.greedy,
            "connections": opts.connections,
            "transports": list(opts.transports),
            "backends": list(opts.backends),
            "grabs": opts.grabs,
            "write_grabs": opts.write_grabs,
            "use_case_grabs": opts.use_case_grabs,
            "grab_workers": opts.grab_workers,
            "cores": os.cpu_count(),
        },
        "definitions": DEFINITIONS,
        "backends": {},
    }
    raise_nofile_limit()  # the server (a child) holds one socket per buyer over ws
    for name in opts.backends:
        run: dict[str, Any] = {}
        for transport in opts.transports:
            with prepared_target(name, log, pg_url=opts.pg_url, redis_url=opts.redis_url) as target:
                buyers = run_buyers(target, opts, log, transport)
                run.update(label=target.label, sale_id=buyers.sale.sale_id)
                run[transport] = buyers.figures
                if "in_process" not in run:  # on the store of the first transport's run
                    run["in_process"] = _in_process(target, buyers, opts, log)
        report["backends"][name] = run
    if opts.floor:
        report["floor"] = run_floors(
            opts.baselines_dir or default_baselines_dir(),
            log,
            units=opts.units,
            redis_url=opts.redis_url if "scaleout" in opts.backends else None,
            redis_requests=opts.redis_floor_requests,
            sqlite_requests=opts.sqlite_floor_requests,
        )
    else:
        report["floor"] = {"skipped": "--no-floor"}
    conclude(report)
    if opts.results_dir is not None:
        opts.results_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = opts.results_dir / f"flash-sale-{opts.buyers}-{stamp}.json"
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        report["saved_to"] = str(path)
    return report
