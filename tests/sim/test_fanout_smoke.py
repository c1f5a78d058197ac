"""`liveloop bench fanout` end to end with tiny numbers: a real server, a real viewers process."""

from __future__ import annotations

import json

import pytest

from liveloop.sim.fanout import REPORT_PREFIX, FanoutOptions, parse_floor_csv, render, report_line, run_fanout

pytestmark = pytest.mark.slow


def test_a_small_room_delivers_every_comment_with_its_latency() -> None:
    options = FanoutOptions(
        viewers=50,
        comments_per_second=10,
        likes_per_second=100,
        duration=4,
        baseline=False,
        drain=3.0,
        settle=0.3,
    )
    report = run_fanout(options, log=lambda _line: None)

    assert report["errors"] == {}
    assert report["closes"] == {}
    assert report["connect"]["failed"] == 0
    comments = report["comments"]
    assert comments["sent"] == 40
    assert comments["acked"] == 40
    # 10/s is far under the room's sampling rate (50/s, at most 5 per 100 ms tick, so a loaded
    # machine's clumped sends still fit): every comment reaches every probe viewer.
    assert comments["dropped_by_sampling"] == 0
    assert comments["delivered"] == 40
    assert comments["incomplete_on_probes"] == 0
    for key in ("latency_ms", "latency_all_ms", "ack_ms"):
        figures = report[key]
        assert figures["samples"] > 0
        assert 0 < figures["p50"] <= figures["p95"] <= figures["p99"] <= figures["max"]
    assert report["likes"]["latest_count_seen"] == report["likes"]["sent"] == 400
    delivered = report["delivered"]
    assert delivered["frames_per_s"] > 0
    assert delivered["logical_msgs_per_s"] >= delivered["tick_frames_per_s"] > 0
    server = report["server"]
    assert server["cpu_s"] > 0
    assert server["idle_kib_per_viewer"] is not None
    assert report["floor"] == {"skipped": "--no-baseline"}
    assert report["ratio"]["logical_vs_batched_floor"] is None
    assert set(report["targets"]) == {
        "p99_latency_le_250ms",
        "no_errors",
        "ratio_ge_0_5",
        "idle_kib_per_viewer_le_21",
    }
    assert report["targets"]["no_errors"] is True

    line = report_line(report)
    assert line.startswith(REPORT_PREFIX + " ")
    assert json.loads(line.split(" ", 1)[1])["comments"]["delivered"] == 40
    assert render(report).row_count > 10


def test_the_floor_csv_is_read_by_mode() -> None:
    text = (
        "# connected 10 viewers\n"
        "asyncio,raw_frame,orjson,5000,200,1000000,1000000,4.0000,250000,3.9,3.900\n"
        "asyncio,raw_batch20,orjson,5000,50,250000,5000000,1.2500,4000000,1.1,0.220\n"
        "asyncio,raw_batch20,orjson,5000,50,250000,5000000,2.5000,2000000,1.1,0.220\n"
    )
    cases = parse_floor_csv(text)
    assert set(cases) == {"raw_frame", "raw_batch20"}
    assert cases["raw_frame"]["frames_per_s"] == 250000
    assert cases["raw_batch20"]["logical_msgs_per_s"] == 4000000  # the best of the repeats
    assert cases["raw_batch20"]["server_cpu_us_per_msg"] == 0.22
