"""The physical floor: ``baselines/run_ws_bench.sh`` run on the same machine, and its CSV read."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
from contextlib import suppress
from pathlib import Path
from typing import Any

from liveloop.sim.common import BenchError, Log

__all__ = ["free_port_pair", "parse_floor_csv", "run_floor"]


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
