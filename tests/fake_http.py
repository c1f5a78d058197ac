"""A real HTTP server on loopback (http.server in a thread) that answers from a script and records
every request: the fake WeCom robot and webhook receiver of the notifier tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    delay: float = 0.0  # seconds to wait before answering (to provoke client timeouts)
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def wecom(cls, errcode: int, errmsg: str = "") -> Answer:
        return cls(
            200, orjson.dumps({"errcode": errcode, "errmsg": errmsg or ("ok" if errcode == 0 else "err")})
        )


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return orjson.loads(self.body)


class FakeReceiver:
    """Answers requests with ``script`` in order, then with ``default``; records what it received."""

    def __init__(self, *answers: Answer, default: Answer | None = None) -> None:
        self.script = list(answers)
        self.default = default or Answer(200, b"{}")
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self.url = ""

    def _next(self, request: Received) -> Answer:
        with self._lock:
            self.received.append(request)
            return self.script.pop(0) if self.script else self.default

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                answer = receiver._next(
                    Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                if answer.delay:
                    time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@contextmanager
def serving(receiver: FakeReceiver) -> Iterator[FakeReceiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver.handler())
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="fake-http", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
