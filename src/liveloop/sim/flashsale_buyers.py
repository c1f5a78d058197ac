"""The buyers of ``liveloop bench flash-sale``: every order request, from ONE separate process.

Run by :mod:`liveloop.sim.flashsale_http` as ``python -m liveloop.sim.flashsale_buyers PLAN.json``;
prints one JSON line, the result. The plan names the server, the sale, one viewer token per buyer
and the requests in the order they are sent (``[buyer index, idempotency key]``).

The client is bare ``asyncio.Protocol`` objects on uvloop, like the fan-out viewers: ``connections``
keep-alive HTTP/1.1 sockets are opened first (not timed); then, at one instant, every request is
due at once (a crowd tapping "buy" when the sale opens) and each socket sends the next waiting
request as soon as its previous answer is complete (one request in flight per socket, no
pipelining). Requests are pre-built bytes and answers are read by a minimal parser (status line,
``content-length``, body), so the client costs a few microseconds per request: its CPU time is
reported beside the server's, to show which side is the bottleneck.

Latency is measured per request from the write of its first byte to its last answer byte
(``latency``), and from the instant the sale opened to that answer (``since_open``, which includes
the wait for a free socket).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter, deque
from typing import Any, cast

from liveloop.sim.flashsale_answers import BuyerPlan, Run, summarize, wait_answers
from liveloop.sim.flashsale_sockets import drive_sockets
from liveloop.sim.procstat import cpu_seconds, machine_busy_seconds, raise_nofile_limit

__all__ = ["BuyerPlan", "classify", "drive", "main", "order_request"]

_SOLD_OUT = b'"commerce.sold_out"'
_OVER_LIMIT = b'"commerce.over_limit"'


def order_request(plan: BuyerPlan, buyer: int, key: str) -> bytes:
    body = json.dumps({"flash_sale_id": plan.sale_id}, separators=(",", ":")).encode()
    head = (
        f"POST /api/v1/buyer/orders HTTP/1.1\r\n"
        f"Host: {plan.host}:{plan.port}\r\n"
        f"Authorization: Bearer {plan.tokens[buyer]}\r\n"
        f"Idempotency-Key: {key}\r\n"
        f"Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def classify(status: int, body: bytes) -> str:
    """``created``, ``sold_out``, ``over_limit``, ``replayed``, or ``"<status> <error code>"``."""
    if status == 201:
        return "created"
    if status == 409 and _SOLD_OUT in body:
        return "sold_out"
    if status == 409 and _OVER_LIMIT in body:
        return "over_limit"
    if status == 200:
        return "replayed"
    try:
        code = json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = "-"
    return f"{status} {code}"


class _HttpRun(Run):
    """A run over keep-alive HTTP sockets: the requests' bytes and the queue of those not yet sent."""

    def __init__(self, plan: BuyerPlan) -> None:
        super().__init__(plan)
        self.payloads = [order_request(plan, int(b), str(k)) for b, k in plan.requests]
        self.waiting: deque[int] = deque()


class _Conn(asyncio.Protocol):
    def __init__(self, run: _HttpRun) -> None:
        self.run = run
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.current: int | None = None
        self.sent_ns = 0
        self.head_end = -1
        self.need = -1
        self.status = 0
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def next(self) -> None:
        """Send the next waiting request, if any (one in flight per socket)."""
        if self.closed or self.current is not None or not self.run.waiting:
            return
        assert self.transport is not None
        index = self.run.waiting.popleft()
        self.current = index
        self.sent_ns = time.perf_counter_ns()
        self.transport.write(self.run.payloads[index])

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while True:
            if self.need < 0:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = bytes(buffer[:end]).lower()
                self.status = int(head[9:12])
                at = head.find(b"\r\ncontent-length:")
                stop = head.find(b"\r\n", at + 2)
                length = 0 if at < 0 else int(head[at + 17 : stop if stop >= 0 else len(head)])
                self.head_end = end + 4
                self.need = self.head_end + length
            if len(buffer) < self.need:
                return
            body = bytes(buffer[self.head_end : self.need])
            del buffer[: self.need]
            self.need = -1
            index, self.current = self.current, None
            if index is not None:
                self.run.answer(index, classify(self.status, body), self.sent_ns)
            self.next()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.current is not None:  # not retried: a retry would be a second request
            self.run.answer(self.current, "connection_lost", self.sent_ns)
            self.current = None


async def _open(run: _HttpRun) -> tuple[list[_Conn], Counter[str]]:
    plan, loop = run.plan, asyncio.get_running_loop()
    gate = asyncio.Semaphore(100)
    failed: Counter[str] = Counter()

    async def one() -> _Conn | None:
        async with gate:
            conn = _Conn(run)
            try:
                await asyncio.wait_for(
                    loop.create_connection(lambda: conn, plan.host, plan.port), plan.connect_timeout
                )
            except (OSError, TimeoutError) as exc:
                failed[type(exc).__name__] += 1
                return None
            return conn

    made = await asyncio.gather(*(one() for _ in range(min(plan.connections, len(run.payloads)))))
    return [c for c in made if c is not None], failed


async def drive(plan: BuyerPlan) -> dict[str, Any]:
    if plan.transport == "ws":
        return await drive_sockets(plan)
    run = _HttpRun(plan)
    conns, failed = await _open(run)
    if not conns:
        return {"error": f"no connection could be opened: {dict(failed)}"}
    await asyncio.sleep(0.2)
    cpu0 = cpu_seconds(plan.server_pid), time.process_time(), machine_busy_seconds()
    run.waiting.extend(range(len(run.payloads)))
    run.t0 = time.perf_counter_ns()
    for conn in conns:
        conn.next()
    timed_out = await wait_answers(run)
    result = summarize(run, cpu0, timed_out, connections=len(conns), failed=failed)
    for conn in conns:
        conn.closed = True
        if conn.transport is not None:
            conn.transport.close()
    return result


def main() -> None:
    raise_nofile_limit()
    with open(sys.argv[1]) as source:
        plan = BuyerPlan(**json.load(source))
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        result = asyncio.run(drive(plan))
    else:
        result = uvloop.run(drive(plan))
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
