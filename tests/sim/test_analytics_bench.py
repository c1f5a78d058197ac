"""`liveloop bench analytics`: a small show goes through the store's own ingest, the import and the review."""

from __future__ import annotations

from liveloop.sim.analytics_bench import run_bench
from liveloop.sim.analytics_floor import profile_append
from liveloop.sim.analytics_render import render
from liveloop.sim.show_gen import ShowSpec


def test_a_small_show_is_ingested_whole_and_reviewed() -> None:
    lines: list[str] = []
    report = run_bench(
        events=20_000,
        viewers=None,
        pg_url=None,
        chunk=5_000,
        repeat=2,
        baseline=False,
        baselines_dir=None,
        baseline_python=None,
        log=lines.append,
    )
    duck = report["engines"]["duckdb"]
    assert duck["events"] == duck["stored"] > 19_000  # the generator rounds to whole viewers
    assert duck["ingest_events_per_s"] > 0
    assert len(duck["review_seconds"]) == 2
    figures = duck["figures"]
    assert figures["uv"] == report["viewers"]
    assert figures["pv"] >= figures["uv"] > 0
    assert figures["minutes"] > 0
    assert figures["products"] > 0
    assert any("reviewing" in line for line in lines)
    imported = duck["import"]  # the bulk path: the show exported, then imported into a fresh store
    assert report["export"]["rows"] == duck["stored"]
    assert imported["events"] == imported["stored"] == duck["stored"]
    assert imported["events_per_s"] > 0
    assert imported["seconds"] > 0
    assert duck["import_ratio_to_raw"] is None  # no floor measured: nothing is judged
    assert duck["import_target_met"] is None
    table = render(report)
    labels = [str(cell) for cell in table.columns[0].cells]
    assert "import events/s" in labels
    assert any(label.startswith("import / raw batched insert") for label in labels)


def test_the_append_profile_times_each_step_of_a_chunk() -> None:
    profile = profile_append(ShowSpec(events=20_000, viewers=400), 5_000)
    assert profile["events"] == 5_000
    assert all(profile[k] > 0 for k in ("encode_us", "arrow_us", "raw_insert_us"))
