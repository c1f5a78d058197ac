"""``liveloop bench fanout``: one live room, N real WebSocket viewers, comments and likes, measured.

What runs (all on 127.0.0.1, every process stopped by its PID, every wait bounded):

1. ``liveloop shop create`` in a temporary data dir (embedded SQLite, in-process broker), then
   ``liveloop serve`` on a free port, as subprocesses.
2. Over the HTTP API with the owner key: a room, the shop's per-viewer comment rate raised so that
   each sender may post its share, and one viewer token per comment sender.
3. ``python -m liveloop.sim.viewers`` (:mod:`liveloop.sim.viewers`), a separate process, opens the
   sockets: first a few warm-up sockets, then the rest. The server's VmRSS before and after, with
   the room idle, gives the memory per idle viewer.
4. The load: ``comments_per_second`` comments spread over the sender sockets and
   ``likes_per_second`` taps in like frames of ``like_batch`` over the like sockets, for
   ``duration`` seconds. The viewers process reads the server's CPU time from /proc at both ends
   of the window.
5. With ``--capacity``, the capacity ramp (:mod:`liveloop.sim.fanout_capacity`): steps 1-4 again
   per offered comment rate, each on a fresh server whose room shows 1.25 x that rate.
6. The server is stopped; then the physical floor runs on the same machine:
   ``baselines/run_ws_bench.sh N asyncio k 1 "raw_frame:orjson,raw_batch20:orjson"``.

Definitions used in the report:

- a *logical message* is one item of a tick frame, plus one for the frame's counts when it carries
  any (snapshot, hello, ack, pong and error frames are not counted); *frames* are all text frames
  the viewers received;
- *comment latency* is send -> arrival on a probe viewer (``latency_ms``: every (comment, probe)
  pair; ``latency_all_ms``: per comment, the arrival on the last probe, i.e. "every viewer has
  it"), for the comments kept by sampling;
- *dropped by sampling* is comments acknowledged minus distinct comments any probe received.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from liveloop.realtime import HubConfig
from liveloop.settings import Settings
from liveloop.sim.common import BenchError, Log
from liveloop.sim.fanout_capacity import ROOM_RATE_ENV, CapacityOptions, run_capacity
from liveloop.sim.floor import parse_floor_csv, run_floor
from liveloop.sim.measure import run_against
from liveloop.sim.procstat import raise_nofile_limit
from liveloop.sim.report import REPORT_PREFIX, conclude, render, render_capacity, report_line
from liveloop.sim.server import create_shop, free_port, running_server, server_env

__all__ = [
    "REPORT_PREFIX",
    "BenchError",
    "CapacityOptions",
    "FanoutOptions",
    "parse_floor_csv",
    "render",
    "render_capacity",
    "repo_root",
    "report_line",
    "run_fanout",
]


@dataclass(frozen=True)
class FanoutOptions:
    viewers: int = 5000
    comments_per_second: float = 200.0
    likes_per_second: float = 2000.0
    duration: float = 20.0
    baseline: bool = True
    baselines_dir: Path | None = None
    #: Logged-in sockets that post the comments (each posts ``comments_per_second / senders``).
    senders: int = 50
    #: Taps per like frame; the like sockets send 2 frames/s each.
    like_batch: int = 10
    #: Viewers that decode every tick and time the comments (the rest only count).
    probes: int = 200
    #: Frames per viewer in the floor's raw_frame case (raw_batch20 sends k/4 frames of 20).
    baseline_k: int = 200
    #: Runs of each floor case; the best is kept (the floor is a best case, and other work on a
    #: shared machine only ever makes it slower).
    baseline_repeat: int = 3
    #: Where the JSON report is saved (None: not saved).
    results_dir: Path | None = None
    #: Seconds to keep receiving after the load, so the last comments can arrive.
    drain: float = 2.0
    #: Seconds the room is left idle before each memory reading (the last one waits twice this).
    settle: float = 1.0
    warmup_sockets: int = 20
    heartbeat_seconds: float = 25.0
    extra_env: dict[str, str] = field(default_factory=dict)
    #: After the default run, the capacity ramp (:mod:`liveloop.sim.fanout_capacity`); None: no ramp.
    capacity: CapacityOptions | None = None

    def __post_init__(self) -> None:
        if self.viewers < 1 or self.duration <= 0:
            raise ValueError("need at least 1 viewer and a positive duration")
        if self.comments_per_second < 0 or self.likes_per_second < 0:
            raise ValueError("rates must not be negative")
        if not 1 <= self.like_batch <= 500:
            raise ValueError("like_batch must be 1..500")

    @property
    def sender_count(self) -> int:
        if self.comments_per_second <= 0:
            return 0
        # ``senders`` (at most a quarter of the room), but at least enough that no socket posts
        # more than 4 comments/s: far under the 20 frames/s flood guard.
        return max(math.ceil(self.comments_per_second / 4), min(self.senders, self.viewers // 4))

    @property
    def liker_count(self) -> int:
        if self.likes_per_second <= 0:
            return 0
        return max(1, math.ceil(self.likes_per_second / self.like_batch / 2))

    @property
    def per_sender_rate(self) -> float:
        return self.comments_per_second / self.sender_count if self.sender_count else 0.0


def repo_root() -> Path:
    """The checkout this module runs from (src layout), else the working directory."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "src" / "liveloop").is_dir():
            return parent
    return Path.cwd()


def default_baselines_dir() -> Path:
    return (repo_root() / ".." / "shared" / "baselines").resolve()


def run_fanout(options: FanoutOptions, log: Log) -> dict[str, Any]:
    """Run the benchmark; return the report (see :func:`render` and the module docstring)."""
    opts = options
    report = measure_once(opts, log)
    if opts.capacity is not None:
        report["capacity"] = run_capacity(opts, opts.capacity, measure_once, log)
    if opts.baseline:
        baselines = opts.baselines_dir or default_baselines_dir()
        report["floor"] = run_floor(
            baselines, opts.viewers, opts.baseline_k, log, repeat=opts.baseline_repeat
        )
    else:
        report["floor"] = {"skipped": "--no-baseline"}
    conclude(report)
    if opts.results_dir is not None:
        opts.results_dir.mkdir(parents=True, exist_ok=True)
        name = f"fanout-{opts.viewers}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
        (opts.results_dir / name).write_text(json.dumps(report, indent=2) + "\n")
        report["saved_to"] = str(opts.results_dir / name)
    return report


def measure_once(opts: FanoutOptions, log: Log) -> dict[str, Any]:
    """One measured run: a fresh shop and server, the viewers process, the load (no floor)."""
    senders, likers = opts.sender_count, opts.liker_count
    if senders + likers > opts.viewers:
        raise BenchError(
            f"{opts.viewers} viewers cannot hold {senders} comment senders and {likers} like senders"
        )
    nofile = raise_nofile_limit()
    if nofile < opts.viewers + 200:
        raise BenchError(f"open-file limit {nofile} is too low for {opts.viewers} sockets")
    tick_seconds = HubConfig().tick_seconds
    report: dict[str, Any] = {
        "bench": "fanout",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "params": {
            "viewers": opts.viewers,
            "comments_per_second": opts.comments_per_second,
            "likes_per_second": opts.likes_per_second,
            "duration_s": opts.duration,
            "comment_senders": senders,
            "like_senders": likers,
            "like_batch": opts.like_batch,
            "probes": min(opts.probes, opts.viewers),
            "heartbeat_s": opts.heartbeat_seconds,
            "tick_s": tick_seconds,
            "cores": os.cpu_count(),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "definitions": {
            "logical_message": "per tick frame received: its items, +1 if it carries changed counts",
            "frames": "text frames received by all viewers in the load window",
            "latency_ms": "comment send -> arrival, every (comment, probe viewer) pair",
            "latency_all_ms": "comment send -> arrival on the last probe viewer, per comment",
            "dropped_by_sampling": "comments acked by the server minus distinct comments delivered",
            "ratio.logical_vs_batched_floor": "our logical msgs/s / raw_batch20 logical msgs/s (the target)",
            "ratio.per_frame_cpu_vs_batched_floor": "raw_batch20 server CPU per frame / ours (all work)",
            "marginal_kib_per_viewer": "server VmRSS growth over the second half of the viewers, per viewer",
            "ack_ms": "comment send -> its ack on the sending socket (the server's ingest path)",
            "spread_ms": "per comment, last probe arrival minus first (one tick's fan-out + client reads)",
            "softirq_cores": "kernel softirq time in the window (mostly loopback TCP of this benchmark)",
            "other_cpu_cores": "CPU the rest of the machine used in the window (noise; ideally ~0)",
        },
    }
    with tempfile.TemporaryDirectory(prefix="liveloop-fanout-") as tmp:
        data_dir = Path(tmp)
        port = free_port()
        env = server_env(data_dir, port, opts.extra_env)
        report["params"]["ws_protocol"] = env.get(
            "LIVELOOP_WS_PROTOCOL", Settings.model_fields["ws_protocol"].default
        )
        room_rate = env.get(ROOM_RATE_ENV, Settings.model_fields["room_max_comments_per_second"].default)
        report["params"]["max_comments_per_second"] = float(room_rate)
        log("creating the shop")
        key = create_shop(env)
        with running_server(data_dir, env, port) as server:
            log(f"server pid {server.process.pid} on {server.url}")
            try:
                run_against(server, key, opts, report, log, data_dir)
            except BenchError as exc:
                raise BenchError(f"{exc}\n--- server log ---\n{server.tail()}") from None
    return report
