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
import os
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any, cast

from liveloop.sim.crowd import percentiles
from liveloop.sim.procstat import cpu_seconds, machine_busy_seconds, raise_nofile_limit

__all__ = ["BuyerPlan", "classify", "main", "order_request"]

_SOLD_OUT = b'"commerce.sold_out"'
_OVER_LIMIT = b'"commerce.over_limit"'


@dataclass(frozen=True, slots=True)
class BuyerPlan:
    port: int
    sale_id: int
    tokens: list[str]
    #: ``[buyer index, idempotency key]`` per request, in sending order.
    requests: list[list[Any]]
    connections: int = 200
    host: str = "127.0.0.1"
    server_pid: int = 0
    timeout: float = 300.0
    connect_timeout: float = 30.0


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


class _Run:
    """The shared state of one load: the queue of requests, the answers, the clock."""

    def __init__(self, plan: BuyerPlan) -> None:
        self.plan = plan
        self.payloads = [order_request(plan, int(b), str(k)) for b, k in plan.requests]
        self.waiting: deque[int] = deque()
        self.outcome: list[str | None] = [None] * len(self.payloads)
        self.latency_ns = [0] * len(self.payloads)
        self.done_ns = [0] * len(self.payloads)
        self.answered = 0
        self.t0 = 0
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def answer(self, index: int, outcome: str, sent_ns: int) -> None:
        now = time.perf_counter_ns()
        self.outcome[index] = outcome
        self.latency_ns[index] = now - sent_ns
        self.done_ns[index] = now - self.t0
        self.answered += 1
        if self.answered == len(self.payloads) and not self.finished.done():
            self.finished.set_result(None)


class _Conn(asyncio.Protocol):
    def __init__(self, run: _Run) -> None:
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


async def _open(run: _Run) -> tuple[list[_Conn], Counter[str]]:
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


def _ms(values_ns: list[int]) -> dict[str, float | int | None]:
    return percentiles([v / 1e6 for v in values_ns])


async def drive(plan: BuyerPlan) -> dict[str, Any]:
    run = _Run(plan)
    conns, failed = await _open(run)
    if not conns:
        return {"error": f"no connection could be opened: {dict(failed)}"}
    await asyncio.sleep(0.2)
    cpu0 = cpu_seconds(plan.server_pid), time.process_time(), machine_busy_seconds()
    run.waiting.extend(range(len(run.payloads)))
    run.t0 = time.perf_counter_ns()
    for conn in conns:
        conn.next()
    timed_out = False
    try:
        await asyncio.wait_for(asyncio.shield(run.finished), plan.timeout)
    except TimeoutError:
        timed_out = True
    window = (time.perf_counter_ns() - run.t0) / 1e9
    cpu1 = cpu_seconds(plan.server_pid), time.process_time(), machine_busy_seconds()
    for conn in conns:
        conn.closed = True
        if conn.transport is not None:
            conn.transport.close()
    outcomes = Counter(o or "unanswered" for o in run.outcome)
    by_kind: dict[str, dict[str, Any]] = {}
    for kind in ("created", "sold_out", "over_limit"):
        picked = [i for i, o in enumerate(run.outcome) if o == kind]
        by_kind[kind] = {
            "count": len(picked),
            "latency_ms": _ms([run.latency_ns[i] for i in picked]),
            "since_open_ms": _ms([run.done_ns[i] for i in picked]),
        }
    created_at = sorted(run.done_ns[i] for i, o in enumerate(run.outcome) if o == "created")
    per_buyer: Counter[int] = Counter(
        int(plan.requests[i][0]) for i, o in enumerate(run.outcome) if o == "created"
    )
    last_answer = max(run.done_ns, default=0) / 1e9
    return {
        "requests": len(run.payloads),
        "answered": run.answered,
        "timed_out": timed_out,
        "connections": len(conns),
        "connect_failures": dict(failed),
        "window_s": round(window, 4),
        "last_answer_s": round(last_answer, 4),
        "sold_out_after_s": round(created_at[-1] / 1e9, 4) if created_at else None,
        "outcomes": dict(outcomes),
        "by_kind": by_kind,
        "all_latency_ms": _ms([run.latency_ns[i] for i, o in enumerate(run.outcome) if o]),
        "max_units_seen_per_buyer": max(per_buyer.values(), default=0),
        "server_cpu_s": round(cpu1[0] - cpu0[0], 3) if plan.server_pid else None,
        "client_cpu_s": round(cpu1[1] - cpu0[1], 3),
        "machine_cpu_s": round(cpu1[2][0] - cpu0[2][0], 3),
        "softirq_cpu_s": round(cpu1[2][1] - cpu0[2][1], 3),
        "client_pid": os.getpid(),
    }


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
