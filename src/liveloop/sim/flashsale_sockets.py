"""The buyers of ``liveloop bench flash-sale --transport ws``: a ``buy`` frame on each buyer's room socket.

Every buyer opens its own room socket (``/ws/rooms/{room_id}?token=...``, the viewer token the page
would use), as a viewer of the live room, before the sale opens (not timed). Then, at one instant,
every buyer writes its ``buy`` frames (one, or ``limit + 1`` for a greedy buyer, in one write) and
the server answers each with an ``ack`` carrying the order, or an ``error`` frame with the stable
code (``commerce.sold_out``, ``commerce.over_limit``...). The room's own traffic (ticks with the
online count and "someone just bought") reaches every buyer meanwhile, as in a real room: the
server pays for it, the buyers skip it by its first bytes and count it.

Latency is measured per frame from the write to its answer; ``since_open`` from the sale's opening.
The result line has the shape of the HTTP buyers' (:func:`liveloop.sim.flashsale_answers.summarize`).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from typing import Any
from urllib.parse import quote

import orjson

from liveloop.sim.flashsale_answers import BuyerPlan, Run, summarize, wait_answers
from liveloop.sim.procstat import cpu_seconds, machine_busy_seconds
from liveloop.sim.wsproto import OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, RawSocket, client_frame

__all__ = ["buy_frame", "classify_answer", "drive_sockets"]

_TICK = b'{"type":"tick"'
_CONTROL_READY = ("snapshot", "resume")


def buy_frame(sale_id: int, key: str, ref: int) -> bytes:
    """The masked client frame of one ``buy`` (its ``ref`` is the request's index)."""
    body = {"type": "buy", "flash_sale_id": sale_id, "idempotency_key": key, "ref": str(ref)}
    return client_frame(orjson.dumps(body))


def classify_answer(body: dict[str, Any]) -> str:
    """``created``, ``replayed``, ``sold_out``, ``over_limit``, or ``"error <code>"``."""
    if body.get("type") == "ack":
        order = (body.get("result") or {}).get("order") or {}
        return "replayed" if order.get("replayed") else "created"
    code = str(body.get("code"))
    if code == "commerce.sold_out":
        return "sold_out"
    if code == "commerce.over_limit":
        return "over_limit"
    return f"error {code}"


class SocketBuyer(RawSocket):
    """One buyer's room socket: ready at the room's snapshot; answers matched to requests by ``ref``."""

    def __init__(self, run: Run, path: str, requests: list[int], payload: bytes, ticks: Counter[str]) -> None:
        super().__init__(path, run.plan.host, run.plan.port)
        self.run = run
        self.requests = requests
        self.payload = payload
        self.ticks = ticks
        self.waiting: set[int] = set()
        self.sent_ns = 0
        self.lost_why = ""

    def buy(self) -> None:
        self.sent_ns = time.perf_counter_ns()
        if self.closed:  # the server closed it after the join: each request fails, none is lost
            for index in self.requests:
                self.run.answer(index, f"before the sale: {self.lost_why}", self.sent_ns)
            return
        self.waiting.update(self.requests)
        self.send_raw(self.payload)

    def on_frame(self, opcode: int, data: bytes, start: int, end: int) -> None:
        if opcode == OP_TEXT:
            if data.startswith(_TICK, start):
                self.ticks["tick_frames"] += 1
                self._count_tick(orjson.loads(data[start:end]))
                return
            body = orjson.loads(data[start:end])
            kind = body.get("type")
            if kind in _CONTROL_READY:
                if not self.ready.done():
                    self.ready.set_result(None)
                return
            ref = body.get("ref")
            index = int(ref) if isinstance(ref, str) and ref.isdigit() else -1
            if kind in ("ack", "error") and index in self.waiting:
                self.waiting.discard(index)
                self.run.answer(index, classify_answer(body), self.sent_ns)
            elif kind == "error":
                self.ticks[f"unmatched error {body.get('code')}"] += 1
        elif opcode == OP_PING:
            self.send_raw(client_frame(data[start:end], OP_PONG))
        elif opcode == OP_CLOSE:
            code = int.from_bytes(data[start : start + 2], "big") if end - start >= 2 else 1005
            self._lost(f"closed {code}")

    def _count_tick(self, tick: dict[str, Any]) -> None:
        """What the room's ticks carried during the sale, by part: it names a tick storm's cause."""
        for name in tick.get("counts") or ():
            self.ticks[f"tick counts.{name}"] += 1
        for item in tick.get("items") or ():
            self.ticks[f"tick items.{(item.get('data') or {}).get('type')}"] += 1
        if tick.get("entered"):
            self.ticks["tick entered"] += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost("connection_lost")

    def _lost(self, why: str) -> None:
        if self.closed:
            return
        self.closed, self.lost_why = True, why
        self.fail(why)
        for index in sorted(self.waiting):  # not retried: a retry would be a second request
            self.run.answer(index, why, self.sent_ns)
        self.waiting.clear()


async def _heartbeats(opened: list[SocketBuyer], every: float = 15.0) -> None:
    """A ping from every open socket each ``every`` s while the others connect: a viewer silent for
    60 s has left the room (METRICS.md), and 10,000 sockets can take longer than that to open."""
    ping = client_frame(orjson.dumps({"type": "ping"}))
    while True:
        await asyncio.sleep(every)
        for sock in opened:
            sock.send_raw(ping)


async def _open(
    run: Run, ticks: Counter[str], opened: list[SocketBuyer]
) -> tuple[list[SocketBuyer], Counter[str]]:
    plan, loop = run.plan, asyncio.get_running_loop()
    by_buyer: dict[int, list[int]] = defaultdict(list)
    for index, (buyer, _key) in enumerate(plan.requests):
        by_buyer[int(buyer)].append(index)
    gate = asyncio.Semaphore(plan.connections)
    failed: Counter[str] = Counter()

    async def one(buyer: int, indexes: list[int]) -> SocketBuyer | None:
        path = f"/ws/rooms/{plan.room_id}?v=1&token={quote(plan.tokens[buyer], safe='')}"
        payload = b"".join(buy_frame(plan.sale_id, str(plan.requests[i][1]), i) for i in indexes)
        sock = SocketBuyer(run, path, indexes, payload, ticks)
        async with gate:
            try:
                await asyncio.wait_for(
                    loop.create_connection(lambda: sock, plan.host, plan.port), plan.connect_timeout
                )
                await asyncio.wait_for(sock.ready, plan.connect_timeout)
                opened.append(sock)
            except (OSError, TimeoutError, ConnectionError) as exc:
                failed[type(exc).__name__] += 1
                if sock.transport is not None:
                    sock.transport.close()
                return None
        return sock

    made = await asyncio.gather(*(one(b, ix) for b, ix in by_buyer.items()))
    return [s for s in made if s is not None], failed


async def drive_sockets(plan: BuyerPlan) -> dict[str, Any]:
    run = Run(plan)
    ticks: Counter[str] = Counter()
    started = time.perf_counter()
    opened: list[SocketBuyer] = []
    heartbeats = asyncio.ensure_future(_heartbeats(opened))
    try:
        socks, failed = await _open(run, ticks, opened)
    finally:
        heartbeats.cancel()
    connect_s = time.perf_counter() - started
    if not socks or failed:
        for sock in socks:
            sock.closed = True
            if sock.transport is not None:
                sock.transport.close()
        return {"error": f"{len(socks)} sockets opened, failures: {dict(failed)}"}
    await asyncio.sleep(0.5)  # the joins' own broadcasts settle
    ticks.clear()
    cpu0 = cpu_seconds(plan.server_pid), time.process_time(), machine_busy_seconds()
    run.t0 = time.perf_counter_ns()
    for sock in socks:
        sock.buy()
    timed_out = await wait_answers(run)
    result = summarize(run, cpu0, timed_out, connections=len(socks), failed=failed)
    result["connect_s"] = round(connect_s, 3)
    result["room_frames"] = dict(ticks)
    for sock in socks:
        sock.closed = True
        if sock.transport is not None:
            sock.transport.close()
    return result
