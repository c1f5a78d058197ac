"""The measured run against a started server: the room, the viewers process, the figures."""

from __future__ import annotations

import json
import math
import queue
import subprocess
import sys
import threading
import time
from contextlib import suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from liveloop.realtime.metrics import COMMENTS_DROPPED
from liveloop.sim.common import BenchError, Log
from liveloop.sim.procstat import rss_kib
from liveloop.sim.server import Api, Server, stop_process

if TYPE_CHECKING:
    from liveloop.sim.fanout import FanoutOptions

__all__ = ["CrowdProcess", "run_against"]


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
            stop_process(self.process, grace=5)
        self._reader.join(timeout=5)
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with suppress(OSError):
                    pipe.close()


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def run_against(
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
    client_cpu = result["client_cpu_s"]
    report["client"] = {
        "cpu_s": client_cpu,
        "cpu_cores": _share(client_cpu, window),
        "cpu_us_per_frame": round(client_cpu / result["frames"] * 1e6, 3) if result["frames"] else None,
    }
    softirq = result["softirq_cpu_s"]
    other = result["machine_cpu_s"] - server_cpu - result["client_cpu_s"] - softirq
    report["machine"] = {
        "cpu_cores": _share(result["machine_cpu_s"], window),
        "softirq_cores": _share(softirq, window),
        "other_cpu_cores": _share(max(0.0, other), window),
    }
