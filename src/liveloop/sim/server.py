"""The ``liveloop serve`` subprocess of the benchmark, its shop, and the admin calls it needs."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liveloop.sim.common import BenchError

__all__ = ["Api", "Server", "create_shop", "free_port", "running_server", "server_env", "stop_process"]

_KEY = re.compile(r"llk_[0-9A-Za-z_-]+")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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


#: Settings a benchmark's server takes from the caller's environment; every other ``LIVELOOP_*``
#: is dropped (the server gets a fresh embedded store).
PASSED_SETTINGS = ("LIVELOOP_WS_PROTOCOL", "LIVELOOP_ROOM_MAX_COMMENTS_PER_SECOND")


def server_env(data_dir: Path, port: int, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVELOOP_") or k in PASSED_SETTINGS}
    env |= {
        "LIVELOOP_DATA_DIR": str(data_dir),
        "LIVELOOP_HOST": "127.0.0.1",
        "LIVELOOP_PORT": str(port),
        "LIVELOOP_LOG_LEVEL": "warning",
    }
    return env | extra


def create_shop(env: dict[str, str], timeout: float = 60, *, name: str = "Fanout Bench") -> str:
    """``liveloop shop create`` (migrates the fresh embedded database); returns the owner key."""
    done = subprocess.run(  # noqa: S603 - our own module, no shell
        [sys.executable, "-m", "liveloop", "shop", "create", name],
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
        stop_process(process, grace=10)


def stop_process(process: subprocess.Popen[Any], grace: float) -> None:
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
