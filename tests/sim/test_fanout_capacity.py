"""The capacity ramp of `liveloop bench fanout`: its bookkeeping, then end to end with tiny numbers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from liveloop.sim.common import BenchError
from liveloop.sim.fanout import (
    CapacityOptions,
    FanoutOptions,
    render_capacity,
    report_line,
    run_fanout,
)
from liveloop.sim.fanout_capacity import ROOM_RATE_ENV, run_capacity
from liveloop.sim.report import conclude


def fake_report(rate: float, *, p99: float, dropped: int = 0, logical: int = 1000) -> dict[str, Any]:
    """The parts of a measured run's report that a ramp step reads."""
    return {
        "params": {"comments_per_second": rate, "viewers": 100},
        "delivered": {
            "logical_msgs_per_s": logical,
            "frames_per_s": 100,
            "tick_frames_per_s": 90,
            "logical_per_tick_frame": 11.1,
            "payload_mib_per_s": 1.0,
            "frames_per_viewer_min": 10,
        },
        "comments": {"sent": 10, "acked": 10, "delivered": 10 - dropped, "dropped_by_sampling": dropped}
        | {"incomplete_on_probes": 0},
        "latency_all_ms": {"p50": p99 / 2, "p99": p99, "max": p99},
        "ack_ms": {"p99": 1.0},
        "errors": {},
        "closes": {},
        "connect": {"failed": 0},
        "server": {"cpu_cores": 0.5, "cpu_us_per_frame": 10.0, "cpu_us_per_logical_msg": 1.0}
        | {"marginal_kib_per_viewer": 14.0, "idle_kib_per_viewer": 16.0},
        "client": {"cpu_cores": 0.95},
        "machine": {"softirq_cores": 0.1, "other_cpu_cores": 0.0},
    }


def test_the_ramp_raises_the_room_rate_and_keeps_the_highest_step_that_held() -> None:
    outcomes = {
        100.0: fake_report(100, p99=120, logical=2000),
        200.0: fake_report(200, p99=240, logical=4000),
        400.0: fake_report(400, p99=300, logical=7000),  # too slow
        800.0: fake_report(800, p99=200, dropped=3, logical=9000),  # dropped comments
        1600.0: fake_report(1600, p99=100, logical=10_000),  # never run: two misses in a row before
    }
    seen: list[tuple[float, str, int, float]] = []

    def measure(options: FanoutOptions, _log: Any) -> dict[str, Any]:
        seen.append(
            (options.comments_per_second, options.extra_env[ROOM_RATE_ENV], options.probes, options.duration)
        )
        return outcomes[options.comments_per_second]

    base = FanoutOptions(viewers=100, extra_env={"LIVELOOP_WS_PROTOCOL": "lean"})
    ramp = CapacityOptions(rates=(100, 200, 400, 800, 1600), duration=3, headroom=1.5, probes=7)
    capacity = run_capacity(base, ramp, measure, lambda _line: None)

    assert seen == [(100, "150", 7, 3), (200, "300", 7, 3), (400, "600", 7, 3), (800, "1200", 7, 3)]
    assert [step["held"] for step in capacity["steps"]] == [True, True, False, False]
    assert capacity["steps"][2]["misses"] == ["p99 300 ms"]
    assert capacity["steps"][3]["misses"] == ["3 dropped"]
    assert capacity["peak_logical_msgs_per_s"] == 9000
    assert capacity["min_server_cpu_us_per_logical_msg"] == 1.0
    assert capacity["best_step"] == 200
    assert capacity["logical_msgs_per_s"] == 4000
    assert capacity["client_busy_steps"] == [100, 200, 400, 800]  # 0.95 cores: flagged

    report = fake_report(50, p99=100) | {"capacity": capacity, "floor": {"raw_batch20": {}}}
    report["floor"]["raw_batch20"] = {"logical_msgs_per_s": 8000.0, "server_cpu_us_per_msg": 0.25}
    conclude(report)
    assert report["ratio"]["capacity_vs_batched_floor"] == 0.5
    assert report["targets"]["capacity_ratio_ge_0_5"] is True
    assert render_capacity(report).row_count == 4


def test_a_failed_step_is_a_miss_and_no_step_holding_gives_ratio_zero() -> None:
    def measure(options: FanoutOptions, _log: Any) -> dict[str, Any]:
        if options.comments_per_second == 100:
            raise BenchError("only 3 of 100 viewers connected\nmore detail")
        return fake_report(options.comments_per_second, p99=900)

    ramp = CapacityOptions(rates=(100, 200, 400), stop_after_misses=2)
    capacity = run_capacity(FanoutOptions(viewers=100), ramp, measure, lambda _line: None)
    assert [step["comments_per_second"] for step in capacity["steps"]] == [100, 200]
    assert capacity["steps"][0]["misses"] == ["failed: only 3 of 100 viewers connected"]
    assert capacity["best_step"] is None

    report = fake_report(50, p99=100) | {"capacity": capacity, "floor": {}}
    report["floor"]["raw_batch20"] = {"logical_msgs_per_s": 8000.0, "server_cpu_us_per_msg": 0.25}
    conclude(report)
    assert report["ratio"]["capacity_vs_batched_floor"] == 0.0
    assert report["targets"]["capacity_ratio_ge_0_5"] is False


@pytest.mark.parametrize(
    "bad",
    [{"rates": ()}, {"rates": (200, 100)}, {"rates": (0, 100)}, {"headroom": 0.9}, {"duration": 0}],
)
def test_capacity_options_are_validated(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"must|need"):
        CapacityOptions(**bad)


@pytest.mark.slow
def test_a_tiny_ramp_runs_end_to_end_and_the_room_shows_the_raised_rate() -> None:
    # 100 comments/s offered to a room configured for 400/s: with the default room rate (50/s)
    # about half would be dropped by sampling, so "none dropped" proves the server took the setting.
    options = FanoutOptions(
        viewers=80,
        comments_per_second=10,
        likes_per_second=100,
        duration=2,
        baseline=False,
        drain=3.0,
        settle=0.3,
        probes=10,
        capacity=CapacityOptions(rates=(100,), duration=3, headroom=4.0, probes=10),
    )
    report = run_fanout(options, log=lambda _line: None)

    assert report["comments"]["sent"] == 20  # the default run is there, as before
    assert report["params"]["max_comments_per_second"] == 50
    capacity = report["capacity"]
    (step,) = capacity["steps"]
    assert step["room_max_comments_per_second"] == 400
    assert step["errors"] == 0
    assert step["comments_sent"] == step["comments_acked"] == 300
    assert step["dropped_by_sampling"] == 0
    assert step["comments_delivered"] == 300
    assert step["logical_msgs_per_s"] > step["tick_frames_per_s"] > 0
    assert step["server_cpu_cores"] > 0
    assert step["client_cpu_cores"] is not None
    assert report["ratio"]["capacity_vs_batched_floor"] is None  # no floor, no ratio
    assert report["targets"]["capacity_ratio_ge_0_5"] is None
    assert json.loads(report_line(report).split(" ", 1)[1])["capacity"]["steps"][0]["comments_sent"] == 300
    assert render_capacity(report).row_count == 1
