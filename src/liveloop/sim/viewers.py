"""The client side of ``liveloop bench fanout``: thousands of thin WebSocket viewers in ONE process.

Run by :mod:`liveloop.sim.fanout` as ``python -m liveloop.sim.viewers`` (a separate process from
the server, so the two share the machine but not an event loop). It talks to its parent over
stdin/stdout, one JSON object per line:

- first line in: the :class:`Plan` (port, room, tokens, how many viewers, probes, ...);
- ``{"cmd": "connect", "count": k}`` opens the next ``k`` sockets and waits until each has its
  snapshot (it is then attached to the room); answers ``{"event": "connected", ...}``;
- ``{"cmd": "load", ...}`` runs the load for ``duration`` seconds, then drains; answers
  ``{"event": "result", ...}`` (see :meth:`Crowd.load`);
- ``{"cmd": "quit"}`` closes every socket and exits.

Sockets are bare ``asyncio.Protocol`` objects, like ``baselines/ws_clients.py``: a raw RFC 6455
handshake, masked client frames, and a minimal reader of server frames (unmasked). Every viewer
walks the frame headers to count frames, bytes and logical messages (a tick's items are counted
with ``bytes.count(b'"lane":')`` on the payload, without decoding it), answers the server's pings,
and fully decodes only the rare non-tick frames (hello, snapshot, ack, error, pong). A sample of
*probe* viewers (default 200, spread evenly over the connection order, so over the order the hub
writes in) also decodes every tick with orjson and records the arrival time of each bench comment.
Comment texts carry their send time, ``"bench <seq> <monotonic ns>"``; senders and probes live in
this process, so both ends read the same clock.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import resource
import struct
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import quote

import orjson

__all__ = ["Plan", "client_frame", "cpu_seconds", "main", "percentiles", "raise_nofile_limit"]

_TICK_PREFIX = b'{"type":"tick"'
_LANE = b'"lane":'
_NO_COUNTS = b'"counts":{}'
_OP_TEXT, _OP_CLOSE, _OP_PING, _OP_PONG = 0x1, 0x8, 0x9, 0xA
_HEAD_16 = struct.Struct("!BBH")
_HEAD_64 = struct.Struct("!BBQ")


@dataclass(frozen=True, slots=True)
class Plan:
    """Who connects where. Socket ``i`` is a comment sender for ``i < len(sender_tokens)``, then a
    like sender (a guest) for the next ``likers`` sockets, then a plain guest viewer."""

    port: int
    room_id: int
    viewers: int
    sender_tokens: list[str]
    likers: int
    probes: int = 200
    host: str = "127.0.0.1"
    server_pid: int = 0
    heartbeat_seconds: float = 25.0
    connect_concurrency: int = 200
    connect_timeout: float = 30.0

    def probe_indexes(self) -> set[int]:
        count = min(self.probes, self.viewers)
        return {round((j + 1) * self.viewers / count) - 1 for j in range(count)} if count else set()


def client_frame(payload: bytes, opcode: int = _OP_TEXT) -> bytes:
    """One final client frame, masked with a random key as RFC 6455 requires of clients."""
    size = len(payload)
    first = 0x80 | opcode
    if size < 126:
        head = bytes((first, 0x80 | size))
    elif size < 65536:
        head = _HEAD_16.pack(first, 0x80 | 126, size)
    else:
        head = _HEAD_64.pack(first, 0x80 | 127, size)
    mask = os.urandom(4)
    key = int.from_bytes((mask * (size // 4 + 1))[:size], "little")
    return head + mask + (int.from_bytes(payload, "little") ^ key).to_bytes(size, "little")


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    """p50/p95/p99/max (nearest rank) of ``values``, in the unit given; None when empty."""
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None, "samples": 0}
    ordered = sorted(values)
    last = len(ordered) - 1

    def rank(p: float) -> float:
        return round(ordered[min(last, int(p * len(ordered)))], 2)

    return {
        "p50": rank(0.5),
        "p95": rank(0.95),
        "p99": rank(0.99),
        "max": round(ordered[last], 2),
        "samples": len(ordered),
    }


@dataclass
class Tally:
    """Counters shared by every socket of the crowd."""

    frames: int = 0  #: text frames received, all kinds
    tick_frames: int = 0
    logical: int = 0  #: per tick frame: its items, plus 1 when it carries changed counts
    payload_bytes: int = 0
    acks: int = 0
    errors: Counter[str] = field(default_factory=Counter)  #: error frames by code
    closes: Counter[str] = field(default_factory=Counter)  #: server closes / lost sockets by code
    #: probe arrivals: (probe index, comment seq, latency ns)
    arrivals: list[tuple[int, int, int]] = field(default_factory=list)
    likes_seen: int = 0  #: the latest ``counts.likes`` a probe saw
    sent_at: dict[str, int] = field(default_factory=dict)  #: comment ref -> send time (ns)
    ack_ns: list[int] = field(default_factory=list)  #: comment send -> its ack, on the sender

    def snapshot(self) -> tuple[int, int, int, int]:
        return self.frames, self.tick_frames, self.logical, self.payload_bytes


class Viewer(asyncio.Protocol):
    """One socket. Counts what it receives; a probe also decodes ticks and times bench comments."""

    def __init__(self, crowd: Crowd, index: int, path: str, *, probe: bool) -> None:
        self.crowd = crowd
        self.tally = crowd.tally
        self.index = index
        self.path = path
        self.probe = probe
        self.ready: asyncio.Future[None] = crowd.loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.handshake = b""
        self.open = False
        self.closed = False
        self.pending = b""
        self.frames = 0

    # -- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        key = base64.b64encode(os.urandom(16)).decode()
        plan = self.crowd.plan
        request = (
            f"GET {self.path} HTTP/1.1\r\nHost: {plan.host}:{plan.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.transport.write(request.encode())

    def data_received(self, data: bytes) -> None:
        if not self.open:
            self.handshake += data
            end = self.handshake.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.handshake.startswith(b"HTTP/1.1 101"):
                self._fail(f"handshake refused: {self.handshake[:80]!r}")
                return
            self.open = True
            data, self.handshake = self.handshake[end + 4 :], b""
            if not data:
                return
        if self.pending:
            data = self.pending + data
        pos, size = 0, len(data)
        while size - pos >= 2:
            length = data[pos + 1] & 0x7F
            start = pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length = (data[pos + 2] << 8) | data[pos + 3]
                start = pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(data[pos + 2 : pos + 10], "big")
                start = pos + 10
            end = start + length
            if end > size:
                break
            self._frame(data[pos] & 0x0F, data, start, end)
            pos = end
        self.pending = data[pos:] if pos < size else b""

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed:
            self.closed = True
            self.tally.closes["lost"] += 1
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"socket {self.index} lost: {exc}"))

    # -- frames -----------------------------------------------------------------------------

    def _frame(self, opcode: int, data: bytes, start: int, end: int) -> None:
        if opcode == _OP_TEXT:
            tally = self.tally
            tally.frames += 1
            tally.payload_bytes += end - start
            self.frames += 1
            if data.startswith(_TICK_PREFIX, start):
                tally.tick_frames += 1
                tally.logical += data.count(_LANE, start, end) + (data.find(_NO_COUNTS, start, end) < 0)
                if self.probe:
                    self._probe_tick(data[start:end])
            else:
                self._control(orjson.loads(data[start:end]))
        elif opcode == _OP_PING:
            self.send_raw(client_frame(data[start:end], _OP_PONG))
        elif opcode == _OP_CLOSE:
            code = int.from_bytes(data[start : start + 2], "big") if end - start >= 2 else 1005
            if not self.closed:
                self.closed = True
                self.tally.closes[str(code)] += 1
            if self.transport is not None:
                self.transport.close()
            if not self.ready.done():
                self.ready.set_exception(ConnectionError(f"socket {self.index} closed with {code}"))

    def _probe_tick(self, payload: bytes) -> None:
        now = time.monotonic_ns()
        body = orjson.loads(payload)
        for item in body["items"]:
            text = item["data"].get("text")
            if isinstance(text, str) and text.startswith("bench "):
                _, seq, sent = text.split(" ", 2)
                self.tally.arrivals.append((self.index, int(seq), now - int(sent)))
        likes = body["counts"].get("likes")
        if likes is not None and likes > self.tally.likes_seen:
            self.tally.likes_seen = likes

    def _control(self, body: dict[str, Any]) -> None:
        kind = body.get("type")
        if kind in ("snapshot", "resume"):
            if not self.ready.done():
                self.ready.set_result(None)
        elif kind == "ack":
            tally = self.tally
            tally.acks += 1
            sent = tally.sent_at.get(str(body.get("ref")))
            if sent is not None:
                tally.ack_ns.append(time.monotonic_ns() - sent)
        elif kind == "error":
            self.tally.errors[str(body.get("code"))] += 1

    # -- writing ----------------------------------------------------------------------------

    def send_raw(self, frame: bytes) -> None:
        if self.transport is not None and not self.closed and not self.transport.is_closing():
            self.transport.write(frame)

    def send_json(self, body: dict[str, Any]) -> None:
        self.send_raw(client_frame(orjson.dumps(body)))

    def _fail(self, why: str) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(why))
        if self.transport is not None:
            self.transport.close()


class Crowd:
    """Every socket of the benchmark, plus the senders' schedules."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.loop = asyncio.get_running_loop()
        self.tally = Tally()
        self.viewers: list[Viewer] = []
        self.failed: Counter[str] = Counter()
        self._probes = plan.probe_indexes()
        self._heartbeat: asyncio.Task[None] | None = None
        self._rate = 0.0

    def _path(self, index: int) -> str:
        plan = self.plan
        base = f"/ws/rooms/{plan.room_id}?v=1"
        senders = len(plan.sender_tokens)
        if index < senders:
            return f"{base}&token={quote(plan.sender_tokens[index], safe='')}"
        role = "like" if index < senders + plan.likers else "view"
        return f"{base}&device_id=bench-{role}-{index}"

    async def connect(self, count: int) -> dict[str, Any]:
        started = time.perf_counter()
        first = len(self.viewers)
        last = min(self.plan.viewers, first + count)
        gate = asyncio.Semaphore(self.plan.connect_concurrency)
        plan = self.plan

        async def one(index: int) -> Viewer | None:
            async with gate:
                viewer = Viewer(self, index, self._path(index), probe=index in self._probes)
                try:
                    await asyncio.wait_for(
                        self.loop.create_connection(lambda: viewer, plan.host, plan.port),
                        plan.connect_timeout,
                    )
                    await asyncio.wait_for(viewer.ready, plan.connect_timeout)
                except (OSError, TimeoutError) as exc:
                    self.failed[type(exc).__name__] += 1
                    if viewer.transport is not None:
                        viewer.transport.close()
                    return None
                return viewer

        made = await asyncio.gather(*(one(i) for i in range(first, last)))
        # Keep the index order (the order the hub attaches in, give or take the concurrency).
        self.viewers.extend(v for v in made if v is not None)
        if self._heartbeat is None and plan.heartbeat_seconds > 0:
            self._heartbeat = asyncio.create_task(self._heartbeats())
        return {
            "event": "connected",
            "total": len(self.viewers),
            "failed": sum(self.failed.values()),
            "failures": dict(self.failed),
            "seconds": round(time.perf_counter() - started, 3),
        }

    async def _heartbeats(self) -> None:
        """Every viewer sends ``{"type": "ping"}`` once per heartbeat period, phases spread evenly."""
        slot_seconds = 0.1
        slots = max(1, round(self.plan.heartbeat_seconds / slot_seconds))
        ping = orjson.dumps({"type": "ping"})
        slot = 0
        while True:
            await asyncio.sleep(slot_seconds)
            slot = (slot + 1) % slots
            for viewer in self.viewers[slot::slots]:
                viewer.send_raw(client_frame(ping))

    def _role(self, first: int, count: int) -> list[Viewer]:
        return [v for v in self.viewers if first <= v.index < first + count and not v.closed]

    async def _send_comments(self, t0: float, duration: float, rate: float, sent: list[int]) -> None:
        senders = self._role(0, len(self.plan.sender_tokens))
        if not senders or rate <= 0:
            return
        total = int(rate * duration)
        for seq in range(total):
            delay = t0 + seq / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sender = senders[seq % len(senders)]
            now = time.monotonic_ns()
            self.tally.sent_at[str(seq)] = now
            sender.send_json({"type": "comment", "text": f"bench {seq} {now}", "ref": str(seq)})
            sent[0] += 1

    async def _send_likes(self, t0: float, duration: float, rate: float, batch: int, sent: list[int]) -> None:
        likers = self._role(len(self.plan.sender_tokens), self.plan.likers)
        if not likers or rate <= 0:
            return
        frame_rate = rate / batch
        total = int(frame_rate * duration)
        for k in range(total):
            delay = t0 + k / frame_rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            likers[k % len(likers)].send_json({"type": "like", "count": batch})
            sent[0] += 1
            sent[1] += batch

    async def load(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """Send comments and likes for ``duration`` s, then receive for ``drain`` s more.

        Frame and message counts cover exactly the ``duration`` window; latencies cover the
        comments sent in it that arrived before the drain ended.
        """
        duration = float(cmd["duration"])
        drain = float(cmd.get("drain", 2.0))
        tally = self.tally
        tally.arrivals.clear()
        tally.sent_at.clear()
        tally.ack_ns.clear()
        self._rate = float(cmd["comments_per_second"])
        errors0, closes0, acks0 = Counter(tally.errors), Counter(tally.closes), tally.acks
        comments_sent, likes_sent = [0], [0, 0]
        viewers = [v for v in self.viewers if not v.closed]
        frames_per_viewer0 = [v.frames for v in viewers]
        t0 = time.monotonic() + 0.05
        await asyncio.sleep(max(0.0, t0 - time.monotonic()))
        before = tally.snapshot()
        cpu0 = cpu_seconds(self.plan.server_pid), cpu_seconds(os.getpid()), machine_busy_seconds()
        workers = [
            asyncio.create_task(
                self._send_comments(t0, duration, float(cmd["comments_per_second"]), comments_sent)
            ),
            asyncio.create_task(
                self._send_likes(
                    t0, duration, float(cmd["likes_per_second"]), int(cmd.get("like_batch", 10)), likes_sent
                )
            ),
        ]
        await asyncio.sleep(max(0.0, t0 + duration - time.monotonic()))
        after = tally.snapshot()
        cpu1 = cpu_seconds(self.plan.server_pid), cpu_seconds(os.getpid()), machine_busy_seconds()
        window = time.monotonic() - t0
        lag = [0]
        for worker in workers:  # normally already done; a lagging sender is stopped here
            if not worker.done():
                lag[0] += 1
                worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        per_viewer = [v.frames - f for v, f in zip(viewers, frames_per_viewer0, strict=True)]
        await asyncio.sleep(drain)
        frames, ticks, logical, payload = (a - b for a, b in zip(after, before, strict=True))
        return {
            "event": "result",
            "window_s": round(window, 3),
            "viewers_open": len(viewers),
            "frames": frames,
            "tick_frames": ticks,
            "logical": logical,
            "payload_bytes": payload,
            "frames_per_viewer_min": min(per_viewer, default=0),
            "frames_per_viewer_max": max(per_viewer, default=0),
            "comments_sent": comments_sent[0],
            "comments_acked": tally.acks - acks0,
            "like_frames_sent": likes_sent[0],
            "likes_sent": likes_sent[1],
            "likes_seen": tally.likes_seen,
            "senders_lagging": lag[0],
            "errors": dict(tally.errors - errors0),
            "closes": dict(tally.closes - closes0),
            "server_cpu_s": round(cpu1[0] - cpu0[0], 3) if self.plan.server_pid else None,
            "client_cpu_s": round(cpu1[1] - cpu0[1], 3),
            "machine_cpu_s": round(cpu1[2][0] - cpu0[2][0], 3),
            "softirq_cpu_s": round(cpu1[2][1] - cpu0[2][1], 3),
            **self._latencies(),
        }

    def _latencies(self) -> dict[str, Any]:
        arrivals = self.tally.arrivals
        probes = {v.index for v in self.viewers if v.probe and not v.closed}
        per_comment: dict[int, list[int]] = {}
        for _probe, seq, latency in arrivals:
            per_comment.setdefault(seq, []).append(latency)
        complete = [max(lat) / 1e6 for lat in per_comment.values() if len(lat) >= len(probes)]
        spread = [(max(lat) - min(lat)) / 1e6 for lat in per_comment.values() if len(lat) >= len(probes)]
        # The worst arrival of the comments scheduled in each second of the load (seq / rate).
        by_second: dict[int, float] = {}
        for seq, lat in per_comment.items():
            second = int(seq / self._rate) if self._rate else 0
            by_second[second] = max(by_second.get(second, 0.0), max(lat) / 1e6)
        return {
            "probes": len(probes),
            "comments_delivered": len(per_comment),
            "comments_incomplete": sum(1 for lat in per_comment.values() if len(lat) < len(probes)),
            "latency_ms": percentiles([latency / 1e6 for _p, _s, latency in arrivals]),
            "latency_all_ms": percentiles(complete),
            "spread_ms": percentiles(spread),
            "latency_max_by_second_ms": [
                round(by_second.get(i, 0.0), 1) for i in range(max(by_second, default=-1) + 1)
            ],
            "ack_ms": percentiles([lat / 1e6 for lat in self.tally.ack_ns]),
        }

    async def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        for viewer in self.viewers:
            viewer.closed = True
            if viewer.transport is not None:
                viewer.transport.close()
        await asyncio.sleep(0.1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` from /proc (0 when unknown)."""
    if not pid:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> tuple[float, float]:
    """CPU time of the whole machine, every core, from /proc/stat: (busy, of which softirq).

    Softirq time (here mostly the loopback TCP path of the benchmark's own traffic) is accounted
    to no process, so it is kept apart. (0, 0) when unknown.
    """
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
    except OSError:
        return 0.0, 0.0
    # cpu user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait
    ticks = [int(x) for x in fields[1:9]]
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - ticks[3] - ticks[4]) / hz, ticks[6] / hz


def raise_nofile_limit() -> int:
    """Raise the soft open-file limit to the hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _emit(body: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(body) + "\n")
    sys.stdout.flush()


async def _run() -> None:
    loop = asyncio.get_running_loop()

    async def read() -> dict[str, Any]:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return {"cmd": "quit"}
        body: dict[str, Any] = json.loads(line)
        return body

    crowd = Crowd(Plan(**await read()))
    try:
        while True:
            cmd = await read()
            match cmd["cmd"]:
                case "connect":
                    _emit(await crowd.connect(int(cmd["count"])))
                case "load":
                    _emit(await crowd.load(cmd))
                case "quit":
                    break
                case other:
                    _emit({"event": "error", "message": f"unknown command {other!r}"})
    finally:
        await crowd.close()


def main() -> None:
    raise_nofile_limit()
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        asyncio.run(_run())
    else:
        uvloop.run(_run())


if __name__ == "__main__":
    main()
