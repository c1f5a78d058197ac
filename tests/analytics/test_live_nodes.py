"""Several nodes sharing one Counters give the same global figures as one node given every event."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from liveloop.analytics.live import LiveMetrics
from liveloop.core.counters import Counters
from liveloop.core.events import Event
from liveloop.rooms import ShowState, ShowWindow
from liveloop.sim.live_bench import START, generate
from tests.analytics.live_support import Clock, FakeWindows

pytestmark = pytest.mark.anyio

SHOW_WINDOW = ShowWindow(
    show_id=1, shop_id=1, room_id=1, title="t", state=ShowState.LIVE, started_at=START, ended_at=None
)
MINUTES = 4


def events(seed: int) -> list[Event]:
    return [e for batch in generate(events=2500, viewers=150, show_minutes=MINUTES, seed=seed) for e in batch]


async def run(nodes: list[LiveMetrics], clock: Clock, stream: list[Event], pick: random.Random) -> None:
    """Deliver the stream second by second, each event to a random node; every node flushes each second."""
    second, i = 1, 0
    end = START + timedelta(minutes=MINUTES, seconds=5)
    while START + timedelta(seconds=second) <= end:
        clock.now = START + timedelta(seconds=second)
        batches: list[list[Event]] = [[] for _ in nodes]
        while i < len(stream) and stream[i].at < clock.now:
            batches[pick.randrange(len(nodes))].append(stream[i])
            i += 1
        for metrics, batch in zip(nodes, batches, strict=True):
            await metrics(batch)
            await metrics.flush()
        second += 1
    for metrics in nodes:
        await metrics.flush(final=True)


def without_samples(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The snapshot minus the sampled maxima: a node samples the global CCU when it flushes, so the
    peaks two nodes see in between may differ from one node's (both are true samples)."""
    out = dict(snapshot)
    out["totals"] = {k: v for k, v in snapshot["totals"].items() if k not in ("pcu", "watch_seconds", "acu")}
    out["totals"]["avg_watch_seconds"] = None
    out["minutes"] = [{k: v for k, v in m.items() if k != "max_ccu"} for m in snapshot["minutes"]]
    return out


@pytest.mark.parametrize("seed", [1, 2])
async def test_two_nodes_add_up_to_one(shared_counters: Counters, seed: int) -> None:
    """One node gets show 1's events; two nodes share show 2's (the same events), each event to a
    random node, so sessions often enter on one node and leave on the other. Same Counters, so even
    Redis's HyperLogLog estimates must agree."""
    stream = events(seed)
    clock = Clock()
    windows = FakeWindows(SHOW_WINDOW, replace(SHOW_WINDOW, show_id=2))

    def make() -> LiveMetrics:
        return LiveMetrics(windows=windows, counters=shared_counters, clock=clock, window_seconds=3600)

    alone = make()
    await run([alone], clock, stream, random.Random(seed))
    pair = [make(), make()]
    await run(pair, clock, [e.model_copy(update={"show_id": 2}) for e in stream], random.Random(seed))

    one = await alone.snapshot(1, 1)
    a, b = await pair[0].snapshot(1, 2), await pair[1].snapshot(1, 2)
    assert a == b  # every node reads the same global figures
    t1, t2 = one["totals"], a["totals"]
    assert t1["pv"] > 200
    assert t1["comments"] > 200
    assert t1["paid_orders"] > 5
    assert without_samples(a) == without_samples(one) | {"show_id": 2}
    # Watch time: a session that entered on the other node pairs on the leave's own timing.
    assert t2["watch_seconds"] == pytest.approx(t1["watch_seconds"], abs=0.01)
    assert t2["pcu"] >= max(m["ccu"] for m in a["minutes"])
