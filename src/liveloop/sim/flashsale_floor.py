"""The floors of ``liveloop bench flash-sale``: ``baselines/redis_flash.py`` and ``sqlite_flash.py``.

Both run as subprocesses on the same machine in the same run, on the same two mixes as the
in-process grabs: ``sale`` (``units`` units, distinct users, the rest sold out) and ``write``
(stock 10^9: every request writes). Their CSV-ish ``key=value`` line is parsed.

- Redis: the same Lua grab by a bare redis-py asyncio client (uvloop, 64 in flight), plain
  (``pipe=1``) and pipelined (``pipe=16``). It runs against the Redis of the scaleout run when
  that is on this machine (the same server the product used), else against a private
  ``redis-server`` started here (``--save '' --appendonly no``, as ``run_redis_bench.sh`` does)
  and stopped by its PID; skipped when neither is possible.
- SQLite: one writer with group commit (``--mode group``, 64 requests per transaction, a
  savepoint each), ``synchronous=NORMAL`` in WAL mode, the product's own setting.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from liveloop.sim.common import BenchError, Log
from liveloop.sim.server import free_port, stop_process

__all__ = ["FLOOR_USERS", "parse_floor_line", "private_redis", "redis_port", "run_floors"]

#: Users drawn per request: so many that every request comes from a new user (no duplicates).
FLOOR_USERS = 10**9
WRITE_STOCK = 10**9


def parse_floor_line(text: str, prefix: str) -> dict[str, Any] | None:
    """The last ``prefix,key=value,...`` line of ``text`` as a dict (numbers as numbers)."""
    found: dict[str, Any] | None = None
    for line in text.splitlines():
        if not line.startswith(prefix + ","):
            continue
        fields: dict[str, Any] = {}
        for part in line.strip().split(",")[1:]:
            key, _, value = part.partition("=")
            try:
                fields[key] = int(value)
            except ValueError:
                try:
                    fields[key] = float(value)
                except ValueError:
                    fields[key] = {"True": True, "False": False}.get(value, value)
        found = fields
    return found


def redis_port(url: str | None) -> int | None:
    """The port of a Redis URL on this machine (loopback, no password), else None."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme != "redis" or parts.hostname not in ("127.0.0.1", "localhost") or parts.password:
        return None
    return parts.port or 6379


@contextmanager
def private_redis(log: Log) -> Iterator[int | None]:
    """A ``redis-server`` of our own on a free port (None when the binary is missing)."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="liveloop-flash-redis-") as tmp:
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        with open(Path(tmp) / "redis.log", "wb") as out:
            process = subprocess.Popen(  # noqa: S603 - redis-server found on PATH, no shell
                [*command, "--dir", tmp], stdout=out, stderr=subprocess.STDOUT
            )
        try:
            import redis

            client = redis.Redis(host="127.0.0.1", port=port)
            deadline = time.monotonic() + 10
            while True:
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise BenchError("the private redis-server did not start") from None
                    time.sleep(0.05)
            client.close()
            log(f"floor: private redis-server pid {process.pid} on port {port}")
            yield port
        finally:
            stop_process(process, grace=5)


def _run(command: list[str], prefix: str, timeout: float, log: Log) -> dict[str, Any]:
    log("floor: " + " ".join(Path(c).name if c.endswith(".py") else c for c in command[1:]))
    try:
        done = subprocess.run(  # noqa: S603 - our own script paths, no shell
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"skipped": f"did not finish in {timeout:.0f} s"}
    line = parse_floor_line(done.stdout, prefix)
    if done.returncode != 0 or line is None:
        return {"skipped": f"failed ({done.returncode}): {(done.stderr or done.stdout)[-400:]}"}
    if line.get("invariants_ok") is not True:
        return {"skipped": f"its own invariants failed: {line}"}
    return line


def _redis_floor(script: Path, port: int, opts: dict[str, int], log: Log) -> dict[str, Any]:
    cases: dict[str, Any] = {}
    for mix, stock in (("sale", opts["units"]), ("write", WRITE_STOCK)):
        for name, pipe in (("plain", 1), ("pipelined", 16)):
            command = [
                sys.executable, str(script), "--port", str(port), "--requests", str(opts["redis_requests"]),
                "--users", str(FLOOR_USERS), "--stock", str(stock), "--concurrency", "64",
                "--pipeline", str(pipe), "--uvloop",
            ]  # fmt: skip
            cases[f"{mix}_{name}"] = _run(command, "redis_lua", 300, log)
    return cases


def _sqlite_floor(script: Path, opts: dict[str, int], log: Log) -> dict[str, Any]:
    cases: dict[str, Any] = {}
    for mix, stock in (("sale", opts["units"]), ("write", WRITE_STOCK)):
        command = [
            sys.executable, str(script), "--mode", "group", "--sync", "NORMAL", "--group", "64",
            "--requests", str(opts["sqlite_requests"]), "--users", str(FLOOR_USERS), "--stock", str(stock),
        ]  # fmt: skip
        cases[f"{mix}_group"] = _run(command, "sqlite", 300, log)
    return cases


def run_floors(
    baselines: Path, log: Log, *, units: int, redis_url: str | None, redis_requests: int, sqlite_requests: int
) -> dict[str, Any]:
    """Both floors; ``{"skipped": why}`` in place of one that cannot run."""
    redis_script, sqlite_script = baselines / "redis_flash.py", baselines / "sqlite_flash.py"
    if not redis_script.is_file() or not sqlite_script.is_file():
        return {"skipped": f"baselines not found in {baselines} (pass --baselines DIR)"}
    opts = {"units": units, "redis_requests": redis_requests, "sqlite_requests": sqlite_requests}
    floor: dict[str, Any] = {"dir": str(baselines), "sqlite": _sqlite_floor(sqlite_script, opts, log)}
    shared = redis_port(redis_url)
    if shared is not None:
        floor["redis_server"] = f"the scaleout run's Redis, 127.0.0.1:{shared}"
        floor["redis"] = _redis_floor(redis_script, shared, opts, log)
        return floor
    with private_redis(log) as port:
        if port is None:
            floor["redis"] = {"skipped": "no redis-server binary and no local --redis"}
        else:
            floor["redis_server"] = f"a private redis-server, 127.0.0.1:{port}"
            floor["redis"] = _redis_floor(redis_script, port, opts, log)
    return floor
