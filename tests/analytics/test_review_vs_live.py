"""At the end of a show the live metrics (incremental, from the event stream) equal the review (batch,
from the event store), field by field.

The generated show of the snapshot test is played through ``LiveMetrics`` (flushed every 50 events,
as a node's timer would between bursts) and stored in DuckDB for the review. Every field of the
metrics schema must be equal, with two documented exceptions: watch seconds (the live path counts
whole milliseconds, the review exact seconds: equal to 1e-5 relative), and the CCU maxima (``pcu``,
a minute's ``max_ccu``), which the live path samples at each flush while the review replays every
entry and leave: the review's are the exact maxima, never below the samples.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from liveloop.adapters.duckdb import DuckDBEventStore
from liveloop.adapters.memory import MemoryCounters
from liveloop.analytics.review import compute_review
from liveloop.rooms import ShowState, ShowWindow
from liveloop.sim.show_gen import ShowGenerator
from tests.analytics.live_support import Clock, FakeWindows, node
from tests.analytics.test_review_snapshot import SPEC

pytestmark = pytest.mark.anyio

SAMPLED = {"pcu", "max_ccu"}
MILLISECONDS = {"watch_seconds", "acu", "avg_watch_seconds"}


def differences(live: Any, review: Any, path: str = "", *, rel: float = 1e-5) -> list[str]:
    if isinstance(live, dict) and isinstance(review, dict):
        out = [f"{path}: only live has {k}" for k in live if k not in review]
        for key in live.keys() & review.keys():
            out += differences(live[key], review[key], f"{path}.{key}", rel=rel)
        return out
    if isinstance(live, list) and isinstance(review, list):
        if len(live) != len(review):
            return [f"{path}: {len(live)} live vs {len(review)} review"]
        return [
            d
            for i, (a, b) in enumerate(zip(live, review, strict=True))
            for d in differences(a, b, f"{path}[{i}]", rel=rel)
        ]
    name = path.rsplit(".", 1)[-1]
    parent = path.split(".")[-2] if path.count(".") > 1 else ""
    if name in SAMPLED:
        return [] if live <= review else [f"{path}: sampled {live} above the exact {review}"]
    if (
        (name in MILLISECONDS or parent in MILLISECONDS)
        and isinstance(live, float | int)
        and live is not None
    ):
        return [] if review == pytest.approx(live, rel=rel) else [f"{path}: {live} vs {review}"]
    return [] if live == review else [f"{path}: live {live!r} vs review {review!r}"]


async def test_live_metrics_equal_the_review_at_the_end_of_a_show(tmp_path: Path) -> None:
    events = [e for chunk in ShowGenerator(SPEC).chunks(5000) for e in chunk]
    show = ShowWindow(1, 1, 1, "t", ShowState.ENDED, SPEC.start, SPEC.end)
    clock = Clock()
    clock.now = SPEC.start
    live_metrics = node(FakeWindows(show), MemoryCounters(namespace="review-vs-live"), clock)
    for i in range(0, len(events), 50):
        batch = events[i : i + 50]
        clock.now = max(clock.now, batch[-1].at)
        await live_metrics(batch)
        await live_metrics.flush()
    clock.now = SPEC.end + timedelta(days=1)
    await live_metrics.flush(final=True)
    live = await live_metrics.snapshot(1, 1)

    store = DuckDBEventStore(tmp_path / "events.duckdb")
    await store.open()
    try:
        await store.append(events)
        review = (await compute_review(store, show, as_of=SPEC.end + timedelta(days=1))).model_dump(
            mode="json"
        )
    finally:
        await store.close()

    assert set(live["totals"]) == set(review["totals"])
    problems = []
    for key in ("status", "duration_seconds", "explaining_product_id", "totals", "products", "minutes"):
        problems += differences(live[key], review[key], key)
    assert problems == []
    assert review["totals"]["uv"] == SPEC.viewers  # not trivially equal: the show has its viewers
