"""Snapshot of the review's SQL output for a fixed generated show, on DuckDB and PostgreSQL alike.

The show comes from :mod:`liveloop.sim.show_gen` (seeded: the same events every run). A change to a
review query or definition shows up here as a diff of ``snapshots/review_generated_show.json``;
when the change is intended, regenerate it and review the diff::

    LIVELOOP_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/analytics/test_review_snapshot.py

Floats are rounded to 4 decimals (the engines may sum in another order).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from liveloop.analytics.review import compute_review
from liveloop.rooms import ShowState, ShowWindow
from liveloop.sim.show_gen import ShowGenerator, ShowSpec
from tests.analytics.review_support import STORES, open_store, store_target

pytestmark = pytest.mark.anyio

SNAPSHOT = Path(__file__).parent / "snapshots" / "review_generated_show.json"
SPEC = ShowSpec(
    events=20_000,
    viewers=400,
    minutes=30,
    products=6,
    seed=20261121,
    shop_id=1,
    room_id=1,
    show_id=1,
    start=datetime(2026, 11, 21, 12, 0, 17, tzinfo=UTC),
)
UPDATE = os.environ.get("LIVELOOP_UPDATE_SNAPSHOTS") == "1"


@pytest.fixture(params=STORES)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    return store_target(request, tmp_path)


def rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


async def test_review_of_the_generated_show_matches_the_snapshot(target: tuple[str, str]) -> None:
    events = [e for chunk in ShowGenerator(SPEC).chunks(5000) for e in chunk]
    show = ShowWindow(
        show_id=1, shop_id=1, room_id=1, title="snapshot", state=ShowState.ENDED,
        started_at=SPEC.start, ended_at=SPEC.end,
    )  # fmt: skip
    async with open_store(*target) as store:
        await store.append(events)
        review = await compute_review(store, show, as_of=SPEC.end + timedelta(days=1))
    got = rounded(review.model_dump(mode="json"))
    if UPDATE and target[0] == "duckdb":
        SNAPSHOT.write_text(
            json.dumps(got, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
        )
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert got == expected, "the review changed: see the module docstring to regenerate the snapshot"
    # the show is not trivial: every section has something in it
    assert review.totals.uv > 300
    assert review.totals.gmv_cents > 0
    assert review.high_interaction_minutes
    assert review.activities.polls
    assert review.activities.flash_sales
    assert review.activities.coupons
    assert review.activities.lotteries
    assert review.activities.red_packets
