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
5. The server is stopped; then the physical floor runs on the same machine:
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
import queue
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from liveloop.realtime import HubConfig
from liveloop.realtime.metrics import COMMENTS_DROPPED
from liveloop.sim.viewers import raise_nofile_limit

__all__ = [
    "BenchError",
    "FanoutOptions",
    "parse_floor_csv",
    "render",
    "repo_root",
    "report_line",
    "run_fanout",
]

REPORT_PREFIX = "BENCH_FANOUT"
_KEY = re.compile(r"llk_[0-9A-Za-z_-]+")
TARGET_P99_MS = 250.0
TARGET_RATIO = 0.5
TARGET_IDLE_KIB = 21.0

Log = Callable[[str], None]


class BenchError(RuntimeError):
    """The benchmark could not run (server did not start, sockets failed to connect, ...)."""


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_port_pair() -> int:
    """A port ``p`` with ``p`` and ``p + 1`` free, below the ephemeral range (where thousands of
    just-closed benchmark sockets may linger)."""
    low = 32768
    with suppress(OSError, ValueError), open("/proc/sys/net/ipv4/ip_local_port_range") as ports:
        low = int(ports.read().split()[0])
    for _ in range(200):
        port = random.randrange(max(1024, low - 12000), max(1100, low - 2))
        try:
            with socket.socket() as one, socket.socket() as two:
                one.bind(("127.0.0.1", port))
                two.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise BenchError("no free pair of ports for the floor")


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise BenchError(f"no VmRSS for pid {pid}")


# -- the server --------------------------------------------------------------------------------


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tail(self, lines: int = 30) -> str:
        with suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


def _server_env(data_dir: Path, port: int, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVELOOP_")}
    env |= {
        "LIVELOOP_DATA_DIR": str(data_dir),
        "LIVELOOP_HOST": "127.0.0.1",
        "LIVELOOP_PORT": str(port),
        "LIVELOOP_LOG_LEVEL": "warning",
    }
    return env | extra


def create_shop(env: dict[str, str], timeout: float = 60) -> str:
    """``liveloop shop create`` (migrates the fresh embedded database); returns the owner key."""
    done = subprocess.run(
        [sys.executable, "-m", "liveloop", "shop", "create", "Fanout Bench"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    match = _KEY.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise BenchError(f"shop create failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return match.group()


@contextmanager
def running_server(data_dir: Path, env: dict[str, str], port: int, timeout: float = 60) -> Iterator[Server]:
    """``liveloop serve`` until /readyz answers; terminated (then killed) by its PID afterwards."""
    log = data_dir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "liveloop", "serve"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    server = Server(port=port, process=process, log=log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise BenchError(f"server exited early:\n{server.tail()}")
            ready = f"{server.url}/readyz"
            with suppress(OSError, urllib.error.URLError), urllib.request.urlopen(ready, timeout=1) as answer:  # noqa: S310
                if answer.status == 200:
                    break
            if time.monotonic() > deadline:
                raise BenchError(f"server not ready in {timeout} s:\n{server.tail()}")
            time.sleep(0.1)
        yield server
    finally:
        _stop(process, grace=10)


def _stop(process: subprocess.Popen[Any], grace: float) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=grace)


class Api:
    """The few admin calls the benchmark needs (stdlib HTTP, owner key)."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base_url = base_url
        self.key = key

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - loopback URL built here
            self.base_url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                raw = answer.read()
        except urllib.error.HTTPError as exc:
            raise BenchError(f"{method} {path}: {exc.code} {exc.read()[:300]!r}") from None
        return json.loads(raw) if raw else None

    def metric(self, name: str) -> float | None:
        """A sample of ``/metrics`` by exact series name, or None when not exported."""
        url = f"{self.base_url}/metrics"
        with suppress(OSError, urllib.error.URLError), urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310
            for line in answer.read().decode().splitlines():
                head, _, value = line.partition(" ")
                if head == name:
                    return float(value)
        return None


# -- the viewers process -----------------------------------------------------------------------


class CrowdProcess:
    """``python -m liveloop.sim.viewers``, driven one JSON line at a time."""

    def __init__(self, plan: dict[str, Any], log: Path) -> None:
        self.log = log
        with log.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "liveloop.sim.viewers"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        self._lines: queue.Queue[str | None] = queue.Queue()
        assert self.process.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True)
        self._reader.start()
        self.send(plan)

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(None)

    def send(self, body: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(body) + "\n")
        self.process.stdin.flush()

    def expect(self, event: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError(f"viewers process: no {event!r} within {timeout:.0f} s")
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                tail = self.log.read_text(errors="replace")[-2000:]
                raise BenchError(f"viewers process exited ({self.process.poll()}):\n{tail}")
            body: dict[str, Any] = json.loads(line)
            if body.get("event") == event:
                return body
            if body.get("event") == "error":
                raise BenchError(f"viewers process: {body.get('message')}")

    def close(self) -> None:
        with suppress(OSError, ValueError):
            self.send({"cmd": "quit"})
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            _stop(self.process, grace=5)
        self._reader.join(timeout=5)
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with suppress(OSError):
                    pipe.close()


# -- the floor ---------------------------------------------------------------------------------


def parse_floor_csv(text: str) -> dict[str, dict[str, float]]:
    """The CSV lines of ``run_ws_bench.sh`` (``loop,mode,codec,n,k,frames,logical,wall_s,msgs/s,
    cpu_s,cpu_us_per_msg``), by mode; the best (highest msgs/s) line when a mode repeats."""
    cases: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        parts = line.strip().split(",")
        if len(parts) != 11 or not parts[3].isdigit():
            continue
        _loop, mode, _codec, n, k, frames, _logical, wall, rate, cpu, cpu_us = parts
        wall_s = float(wall)
        case = {
            "n": int(n),
            "k": int(k),
            "frames_per_s": round(int(frames) / wall_s) if wall_s else 0.0,
            "logical_msgs_per_s": float(rate),
            "wall_s": wall_s,
            "server_cpu_s": float(cpu),
            "server_cpu_us_per_msg": float(cpu_us),
        }
        if mode not in cases or case["logical_msgs_per_s"] > cases[mode]["logical_msgs_per_s"]:
            cases[mode] = case
    return cases


def run_floor(
    baselines: Path, viewers: int, k: int, log: Log, *, repeat: int = 3, timeout: float = 900
) -> dict[str, Any]:
    """Run the baseline's raw floor; ``{"skipped": why}`` when it cannot run."""
    script = baselines / "run_ws_bench.sh"
    if not script.is_file():
        return {"skipped": f"baselines not found: {script} (pass --baselines DIR)"}
    try:
        port = free_port_pair()  # the script uses PORT and PORT + 1
    except BenchError as exc:
        return {"skipped": str(exc)}
    env = os.environ | {"PY": sys.executable, "PORT": str(port)}
    modes = "raw_frame:orjson,raw_batch20:orjson"
    command = ["bash", str(script), str(viewers), "asyncio", str(k), str(repeat), modes]
    log(f"floor: {' '.join(command)}")
    process = subprocess.Popen(  # noqa: S603 - our own script path, no shell
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)  # the script's session: itself and its server
        process.communicate(timeout=30)
        return {"skipped": f"the floor did not finish in {timeout:.0f} s"}
    cases = parse_floor_csv(out)
    if process.returncode != 0 or "raw_batch20" not in cases:
        return {"skipped": f"the floor failed ({process.returncode}): {(err or out)[-500:]}"}
    result: dict[str, Any] = {"command": " ".join(command), **cases}
    return result


# -- the run -----------------------------------------------------------------------------------


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def run_fanout(options: FanoutOptions, log: Log) -> dict[str, Any]:
    """Run the benchmark; return the report (see :func:`render` and the module docstring)."""
    opts = options
    senders, likers = opts.sender_count, opts.liker_count
    if senders + likers > opts.viewers:
        raise BenchError(
            f"{opts.viewers} viewers cannot hold {senders} comment senders and {likers} like senders"
        )
    nofile = raise_nofile_limit()
    if nofile < opts.viewers + 200:
        raise BenchError(f"open-file limit {nofile} is too low for {opts.viewers} sockets")
    hub = HubConfig()
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
            "tick_s": hub.tick_seconds,
            "max_comments_per_second": hub.max_comments_per_second,
            "cores": os.cpu_count(),
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
        env = _server_env(data_dir, port, opts.extra_env)
        log("creating the shop")
        key = create_shop(env)
        with running_server(data_dir, env, port) as server:
            log(f"server pid {server.process.pid} on {server.url}")
            try:
                _run_against(server, key, opts, report, log, data_dir)
            except BenchError as exc:
                raise BenchError(f"{exc}\n--- server log ---\n{server.tail()}") from None
    if opts.baseline:
        baselines = opts.baselines_dir or default_baselines_dir()
        report["floor"] = run_floor(
            baselines, opts.viewers, opts.baseline_k, log, repeat=opts.baseline_repeat
        )
    else:
        report["floor"] = {"skipped": "--no-baseline"}
    _conclude(report)
    if opts.results_dir is not None:
        opts.results_dir.mkdir(parents=True, exist_ok=True)
        name = f"fanout-{opts.viewers}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
        (opts.results_dir / name).write_text(json.dumps(report, indent=2) + "\n")
        report["saved_to"] = str(opts.results_dir / name)
    return report


def _run_against(
    server: Server, key: str, opts: FanoutOptions, report: dict[str, Any], log: Log, data_dir: Path
) -> None:
    api = Api(server.url, key)
    room_id = int(api.call("POST", "/api/v1/rooms", {"name": "fanout bench"})["id"])
    if opts.comments_per_second > 0:
        # The shop's per-viewer comment limit (default 1/s) would refuse most of a sender's share.
        rate = min(50.0, max(1.0, math.ceil(opts.per_sender_rate * 2)))
        api.call(
            "PATCH", "/api/v1/moderation/settings", {"comment_rate_per_second": rate, "comment_burst": 20}
        )
    tokens = [
        api.call(
            "POST",
            "/api/v1/viewer-tokens",
            {"user_id": f"bench-{i}", "nickname": f"bench{i}", "ttl_seconds": 86400},
        )["token"]
        for i in range(opts.sender_count)
    ]
    pid = server.process.pid
    plan = {
        "port": server.port,
        "room_id": room_id,
        "viewers": opts.viewers,
        "sender_tokens": tokens,
        "likers": opts.liker_count,
        "probes": opts.probes,
        "server_pid": pid,
        "heartbeat_seconds": opts.heartbeat_seconds,
    }
    crowd = CrowdProcess(plan, data_dir / "viewers.log")
    try:
        warm = min(opts.warmup_sockets, opts.viewers)
        connect_timeout = 120 + opts.viewers / 20
        crowd.send({"cmd": "connect", "count": warm})
        first = crowd.expect("connected", connect_timeout)
        time.sleep(opts.settle)
        rss_before = rss_kib(pid)
        # Two steps, so that the second half's growth (no one-time costs in it) is seen too.
        half = warm + (opts.viewers - warm) // 2
        log(f"connecting {opts.viewers - warm} more viewers")
        crowd.send({"cmd": "connect", "count": half - warm})
        middle = crowd.expect("connected", connect_timeout)
        time.sleep(opts.settle)
        rss_half = rss_kib(pid)
        crowd.send({"cmd": "connect", "count": opts.viewers - half})
        connected = crowd.expect("connected", connect_timeout)
        connect_s = first["seconds"] + middle["seconds"] + connected["seconds"]
        log(f"{connected['total']} viewers connected in {connect_s:.1f} s")
        if connected["total"] < opts.viewers:
            raise BenchError(f"only {connected['total']} of {opts.viewers} viewers connected: {connected}")
        time.sleep(2 * opts.settle)
        rss_idle = rss_kib(pid)
        dropped_before = api.metric(COMMENTS_DROPPED)
        rates = f"{opts.comments_per_second:g} comments/s, {opts.likes_per_second:g} likes/s"
        log(f"load: {rates}, {opts.duration:g} s")
        crowd.send(
            {
                "cmd": "load",
                "duration": opts.duration,
                "drain": opts.drain,
                "comments_per_second": opts.comments_per_second,
                "likes_per_second": opts.likes_per_second,
                "like_batch": opts.like_batch,
            }
        )
        result = crowd.expect("result", opts.duration + opts.drain + 120)
        rss_load = rss_kib(pid)
        dropped_after = api.metric(COMMENTS_DROPPED)
    finally:
        crowd.close()
    window = float(result["window_s"])
    idle_viewers = opts.viewers - warm
    acked, delivered = result["comments_acked"], result["comments_delivered"]
    report["connect"] = {
        "seconds": round(connect_s, 2),
        "failed": connected["failed"],
    }
    report["delivered"] = {
        "logical_msgs_per_s": round(result["logical"] / window),
        "frames_per_s": round(result["frames"] / window),
        "tick_frames_per_s": round(result["tick_frames"] / window),
        "payload_mib_per_s": round(result["payload_bytes"] / window / 2**20, 2),
        "logical_per_tick_frame": _share(result["logical"], result["tick_frames"]),
        "frames_per_viewer_min": result["frames_per_viewer_min"],
        "frames_per_viewer_max": result["frames_per_viewer_max"],
        "window_s": window,
    }
    server_dropped = None
    if dropped_before is not None and dropped_after is not None:
        server_dropped = int(dropped_after - dropped_before)
    report["comments"] = {
        "sent": result["comments_sent"],
        "acked": acked,
        "delivered": delivered,
        "dropped_by_sampling": acked - delivered,
        "dropped_by_server_metric": server_dropped,
        "incomplete_on_probes": result["comments_incomplete"],
        "sent_per_s": round(result["comments_sent"] / window, 1),
        "delivered_per_s": round(delivered / window, 1),
    }
    report["likes"] = {
        "sent": result["likes_sent"],
        "frames_sent": result["like_frames_sent"],
        "latest_count_seen": result["likes_seen"],
    }
    report["latency_ms"] = result["latency_ms"]
    report["latency_all_ms"] = result["latency_all_ms"]
    report["latency_max_by_second_ms"] = result["latency_max_by_second_ms"]
    report["ack_ms"] = result["ack_ms"]
    report["spread_ms"] = result["spread_ms"]
    report["errors"] = result["errors"]
    report["closes"] = result["closes"]
    report["senders_lagging"] = result["senders_lagging"]
    server_cpu = result["server_cpu_s"] or 0.0
    report["server"] = {
        "cpu_s": server_cpu,
        "cpu_cores": _share(server_cpu, window),
        "cpu_us_per_logical_msg": round(server_cpu / result["logical"] * 1e6, 3)
        if result["logical"]
        else None,
        "cpu_us_per_frame": round(server_cpu / result["frames"] * 1e6, 3) if result["frames"] else None,
        "rss_before_mib": round(rss_before / 1024, 1),
        "rss_idle_mib": round(rss_idle / 1024, 1),
        "rss_after_load_mib": round(rss_load / 1024, 1),
        "idle_kib_per_viewer": round((rss_idle - rss_before) / idle_viewers, 2) if idle_viewers else None,
        "marginal_kib_per_viewer": round((rss_idle - rss_half) / (opts.viewers - half), 2)
        if opts.viewers > half
        else None,
        "kib_per_viewer_after_load": round((rss_load - rss_before) / idle_viewers, 2)
        if idle_viewers
        else None,
    }
    report["client"] = {"cpu_s": result["client_cpu_s"], "cpu_cores": _share(result["client_cpu_s"], window)}
    softirq = result["softirq_cpu_s"]
    other = result["machine_cpu_s"] - server_cpu - result["client_cpu_s"] - softirq
    report["machine"] = {
        "cpu_cores": _share(result["machine_cpu_s"], window),
        "softirq_cores": _share(softirq, window),
        "other_cpu_cores": _share(max(0.0, other), window),
    }


def _conclude(report: dict[str, Any]) -> None:
    """Ratios to the floor and the verdict on each target."""
    delivered = report["delivered"]["logical_msgs_per_s"]
    floor = report["floor"]
    batched = floor.get("raw_batch20") if isinstance(floor, dict) else None
    ratio = per_cpu = per_frame = None
    if batched:
        ratio = round(delivered / batched["logical_msgs_per_s"], 4)
        ours = report["server"]["cpu_us_per_logical_msg"]
        if ours:
            per_cpu = round(batched["server_cpu_us_per_msg"] / ours, 4)
        ours_frame = report["server"]["cpu_us_per_frame"]
        if ours_frame:
            per_frame = round(batched["server_cpu_us_per_msg"] * 20 / ours_frame, 4)
    report["ratio"] = {
        "logical_vs_batched_floor": ratio,
        "per_server_cpu_vs_batched_floor": per_cpu,
        "per_frame_cpu_vs_batched_floor": per_frame,
    }
    p99 = report["latency_all_ms"]["p99"]
    no_errors = not report["errors"] and not report["closes"] and not report["connect"]["failed"]
    # Per viewer: the second half's growth, free of one-time costs (caches, pools, first-use
    # imports, background jobs) that the whole-run figure spreads over the viewers.
    idle = report["server"]["marginal_kib_per_viewer"]
    if idle is None:
        idle = report["server"]["idle_kib_per_viewer"]
    report["targets"] = {
        "p99_latency_le_250ms": p99 is not None and p99 <= TARGET_P99_MS,
        "no_errors": no_errors,
        "ratio_ge_0_5": None if ratio is None else ratio >= TARGET_RATIO,
        "idle_kib_per_viewer_le_21": idle is not None and idle <= TARGET_IDLE_KIB,
    }


def report_line(report: dict[str, Any]) -> str:
    """The machine-readable line: ``BENCH_FANOUT {json}``."""
    return f"{REPORT_PREFIX} {json.dumps(report, separators=(',', ':'), ensure_ascii=False)}"


def render(report: dict[str, Any]) -> Any:
    """A Rich table of the figures beside the floor."""
    from rich.table import Table

    p = report["params"]
    d, c, s = report["delivered"], report["comments"], report["server"]
    lat, lat_all = report["latency_ms"], report["latency_all_ms"]
    title = (
        f"liveloop fan-out: {p['viewers']} viewers, {p['comments_per_second']:g} comments/s, "
        f"{p['likes_per_second']:g} likes/s, {p['duration_s']:g} s ({p['cores']} cores)"
    )
    table = Table(title=title, show_lines=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("note")

    def row(name: str, value: Any, note: str = "") -> None:
        table.add_row(
            name, "-" if value is None else f"{value:,}" if isinstance(value, int) else str(value), note
        )

    def verdict(key: str) -> str:
        ok = report["targets"].get(key)
        return "n/a" if ok is None else ("MET" if ok else "MISSED")

    row("delivered logical msgs/s", d["logical_msgs_per_s"], "tick items + 1 per frame with counts")
    row(
        "delivered frames/s",
        d["frames_per_s"],
        f"ticks {d['tick_frames_per_s']:,}/s, {d['payload_mib_per_s']} MiB/s",
    )
    row("frames per viewer (min..max)", f"{d['frames_per_viewer_min']}..{d['frames_per_viewer_max']}")
    row(
        "comment latency p50/p95/p99 ms",
        f"{lat['p50']} / {lat['p95']} / {lat['p99']}",
        f"{lat['samples']:,} pairs",
    )
    row(
        "  ... on every probe, p50/p95/p99",
        f"{lat_all['p50']} / {lat_all['p95']} / {lat_all['p99']}",
        f"target p99 <= {TARGET_P99_MS:g} ms: {verdict('p99_latency_le_250ms')}",
    )
    ack = report["ack_ms"]
    row(
        "comment ack p50/p95/p99 ms",
        f"{ack['p50']} / {ack['p95']} / {ack['p99']}",
        "send -> ack on the sender",
    )
    spread = report["spread_ms"]
    row("tick fan-out spread p50/p99 ms", f"{spread['p50']} / {spread['p99']}", "last probe - first probe")
    row("comments sent / acked / delivered", f"{c['sent']:,} / {c['acked']:,} / {c['delivered']:,}")
    row(
        "comments dropped by sampling",
        c["dropped_by_sampling"],
        f"server metric: {'-' if c['dropped_by_server_metric'] is None else c['dropped_by_server_metric']}",
    )
    row(
        "likes sent / latest count seen",
        f"{report['likes']['sent']:,} / {report['likes']['latest_count_seen']:,}",
    )
    errors = {**report["errors"], **{f"close {k}": v for k, v in report["closes"].items()}}
    row("errors", json.dumps(errors) if errors else "none", f"no errors: {verdict('no_errors')}")
    row("server CPU", f"{s['cpu_cores']} cores", f"{s['cpu_us_per_logical_msg']} us per logical msg")
    row("client CPU", f"{report['client']['cpu_cores']} cores", "viewers process")
    other = report["machine"]["other_cpu_cores"] or 0.0
    busy = (
        "BUSY: other work competed for the cores, figures are pessimistic" if other > 0.25 else "~0 is best"
    )
    row(
        "kernel softirq (loopback TCP)",
        f"{report['machine']['softirq_cores']} cores",
        "accounted to no process",
    )
    row("other CPU on the machine", f"{other} cores", busy)
    row(
        "server KiB per idle viewer, all",
        s["idle_kib_per_viewer"],
        "RSS growth from 20 to N viewers / viewers",
    )
    row(
        "  ... second half of the viewers only",
        s["marginal_kib_per_viewer"],
        f"no one-time costs; target <= {TARGET_IDLE_KIB:g}: {verdict('idle_kib_per_viewer_le_21')}",
    )
    row(
        "server RSS before / idle / after load MiB",
        f"{s['rss_before_mib']} / {s['rss_idle_mib']} / {s['rss_after_load_mib']}",
    )
    floor = report["floor"]
    if "skipped" in floor:
        row("floor", "skipped", floor["skipped"])
    else:
        for mode in ("raw_frame", "raw_batch20"):
            case = floor.get(mode)
            if case:
                row(
                    f"floor {mode} frames/s | logical/s",
                    f"{case['frames_per_s']:,.0f} | {case['logical_msgs_per_s']:,.0f}",
                    f"{case['server_cpu_us_per_msg']} us server CPU per msg",
                )
        r = report["ratio"]
        row(
            "ratio to batched floor (logical msgs/s)",
            r["logical_vs_batched_floor"],
            f"target >= {TARGET_RATIO:g}: {verdict('ratio_ge_0_5')}",
        )
        row("ratio per server CPU-second", r["per_server_cpu_vs_batched_floor"], "floor us/msg / ours")
        row(
            "ratio of server CPU per frame",
            r["per_frame_cpu_vs_batched_floor"],
            f"floor batch20 us/frame / ours ({report['server']['cpu_us_per_frame']} us, all server work)",
        )
    return table
