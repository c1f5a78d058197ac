"""`liveloop bench live-metrics`: the generated mix is consistent and the figures are reported."""

from __future__ import annotations

import itertools
import re
from collections import Counter

from typer.testing import CliRunner

from liveloop.cli import app
from liveloop.sim.live_bench import MIX, generate, run


def test_the_generated_show_is_a_consistent_mix() -> None:
    stream = [
        e for chunk in generate(events=20_000, viewers=500, show_minutes=10, chunk=3_000) for e in chunk
    ]
    assert all(a.at <= b.at for a, b in itertools.pairwise(stream))
    kinds = Counter(e.type for e in stream)
    assert set(kinds) == set(MIX)
    assert abs(kinds["like.batched"] / len(stream) - MIX["like.batched"]) < 0.03
    present: set[str] = set()
    for e in stream:  # a viewer enters only when out, and leaves only when in
        if e.type == "viewer.entered":
            assert e.actor not in present
            present.add(e.actor or "")
        elif e.type == "viewer.left":
            assert e.actor in present
            present.discard(e.actor or "")


def test_run_reports_every_event_applied() -> None:
    lines: list[str] = []
    result = run(events=30_000, viewers=3_000, show_minutes=15, batch=4_000, log=lines.append)
    assert 29_000 < result.events <= 30_000  # a few entries are skipped when everyone is in
    assert result.events_per_second > 0
    assert result.drains >= 1
    assert result.apply_seconds > result.read_seconds > 0
    assert re.search(r"apply [\d,]+ events/s per core", lines[0])


def test_the_command() -> None:
    out = CliRunner().invoke(app, ["bench", "live-metrics", "--events", "5000", "--viewers", "500"])
    assert out.exit_code == 0, out.output
    assert "events/s per core" in out.output
