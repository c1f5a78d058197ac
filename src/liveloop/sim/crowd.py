"""The crowd of the client process: every viewer socket, the senders' schedules, the figures."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson

from liveloop.sim.procstat import cpu_seconds, machine_busy_seconds
from liveloop.sim.wsproto import Tally, Viewer, client_frame

__all__ = ["Crowd", "Plan", "percentiles"]


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
