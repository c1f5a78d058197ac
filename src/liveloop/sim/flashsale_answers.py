"""What both buyer transports of ``liveloop bench flash-sale`` share: the plan, the answers, the result.

The HTTP buyers (:mod:`liveloop.sim.flashsale_buyers`) and the socket buyers
(:mod:`liveloop.sim.flashsale_sockets`) fill one :class:`Run` and print :func:`summarize`'s line.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from liveloop.sim.crowd import percentiles
from liveloop.sim.procstat import cpu_seconds, machine_busy_seconds

__all__ = ["BuyerPlan", "Run", "summarize", "wait_answers"]


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
    #: ``http``: ``POST /api/v1/buyer/orders`` on ``connections`` keep-alive sockets;
    #: ``ws``: a ``buy`` frame on each buyer's own room socket (``/ws/rooms/{room_id}``).
    transport: str = "http"
    room_id: int = 0


class Run:
    """The shared state of one load: the answers to ``plan.requests``, the clock."""

    def __init__(self, plan: BuyerPlan) -> None:
        self.plan = plan
        self.outcome: list[str | None] = [None] * len(plan.requests)
        self.latency_ns = [0] * len(plan.requests)
        self.done_ns = [0] * len(plan.requests)
        self.answered = 0
        self.t0 = 0
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def answer(self, index: int, outcome: str, sent_ns: int) -> None:
        now = time.perf_counter_ns()
        self.outcome[index] = outcome
        self.latency_ns[index] = now - sent_ns
        self.done_ns[index] = now - self.t0
        self.answered += 1
        if self.answered == len(self.outcome) and not self.finished.done():
            self.finished.set_result(None)


def _ms(values_ns: list[int]) -> dict[str, float | int | None]:
    return percentiles([v / 1e6 for v in values_ns])


async def wait_answers(run: Run) -> bool:
    """Wait for every answer, at most the plan's timeout; True when it timed out."""
    try:
        await asyncio.wait_for(asyncio.shield(run.finished), run.plan.timeout)
    except TimeoutError:
        return True
    return False


def summarize(
    run: Run, cpu0: tuple[Any, ...], timed_out: bool, *, connections: int, failed: Counter[str]
) -> dict[str, Any]:
    """The buyers' result line, from the answers so far (the timed window ends now)."""
    plan = run.plan
    window = (time.perf_counter_ns() - run.t0) / 1e9
    cpu1 = cpu_seconds(plan.server_pid), time.process_time(), machine_busy_seconds()
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
        "transport": plan.transport,
        "requests": len(run.outcome),
        "answered": run.answered,
        "timed_out": timed_out,
        "connections": connections,
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
