"""Real `liveloop serve` processes for tests that need a real network path (uvicorn, sockets)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


@contextmanager
def running_server(
    data_dir: Path, *, env: dict[str, str] | None = None, timeout: float = 90
) -> Iterator[Server]:
    """Start `python -m liveloop serve` on a free port and wait for /readyz; stop it afterwards."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"server-{port}.log"
    full_env = os.environ | {"LIVELOOP_DATA_DIR": str(data_dir), "LIVELOOP_PORT": str(port)} | (env or {})
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "liveloop", "serve"], env=full_env, stdout=out, stderr=subprocess.STDOUT
        )
    server = Server(port=port, process=process, log=log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{log.read_text()}")
            try:
                if httpx2.get(f"{server.url}/readyz", timeout=5).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready in {timeout} s:\n{log.read_text()}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
