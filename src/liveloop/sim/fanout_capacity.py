"""The capacity ramp of ``liveloop bench fanout --capacity``: how much one room can deliver.

At the default load the room's comment sampling (``LIVELOOP_ROOM_MAX_COMMENTS_PER_SECOND``, 50/s)
caps what a viewer receives, so the default run's throughput is a figure of the offered load, not
of the server. The ramp raises the offered comment rate step by step, each step on a fresh server
whose room shows ``headroom`` x that rate (so sampling never binds while ticks are on time: a tick
that comes late by more than the headroom still drops comments, and that is counted), with the
same viewers and likes as the default run. A step *holds* when:

- the comment latency on every probe has p99 <= 250 ms (:data:`~liveloop.sim.report.TARGET_P99_MS`);
- no errors, closes or failed connects;
- no comment dropped: every acknowledged comment reached every probe viewer.

The capacity is the highest step that held; its delivered logical messages/s over the floor's
raw_batch20 logical messages/s is the capacity ratio. The ramp stops after ``stop_after_misses``
steps in a row that did not hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from liveloop.sim.common import BenchError, Log
from liveloop.sim.report import TARGET_P99_MS

if TYPE_CHECKING:
    from liveloop.sim.fanout import FanoutOptions

__all__ = ["ROOM_RATE_ENV", "CapacityOptions", "run_capacity", "step_summary"]

#: The setting the ramp raises on each step's server.
ROOM_RATE_ENV = "LIVELOOP_ROOM_MAX_COMMENTS_PER_SECOND"

#: Above this share of one core the viewers process itself may be what limits a step.
CLIENT_BUSY_CORES = 0.9


@dataclass(frozen=True)
class CapacityOptions:
    #: Offered comments per second, one step each, in increasing order.
    rates: tuple[float, ...] = (200.0, 400.0, 800.0, 1600.0, 3200.0)
    #: Seconds of load per step.
    duration: float = 10.0
    #: The room shows this many times the offered rate (1.0 = exactly the offered rate).
    headroom: float = 1.25
    #: Probe viewers per step (they decode every tick: fewer than the default run, so that the
    #: viewers process is not what a high step measures).
    probes: int = 50
    #: Stop after this many steps in a row that did not hold.
    stop_after_misses: int = 2

    def __post_init__(self) -> None:
        if not self.rates or any(r <= 0 for r in self.rates) or list(self.rates) != sorted(self.rates):
            raise ValueError("rates must be positive and increasing")
        if self.duration <= 0 or self.headroom < 1.0 or self.probes < 1 or self.stop_after_misses < 1:
            raise ValueError("need duration > 0, headroom >= 1, probes >= 1, stop_after_misses >= 1")

    def room_rate(self, comments_per_second: float) -> float:
        return round(comments_per_second * self.headroom, 3)


def step_summary(report: dict[str, Any], room_rate: float) -> dict[str, Any]:
    """The figures of one step (a measured run's report) and whether it held."""
    d, c, s = report["delivered"], report["comments"], report["server"]
    errors = sum(report["errors"].values()) + sum(report["closes"].values()) + report["connect"]["failed"]
    p99 = report["latency_all_ms"]["p99"]
    dropped = c["dropped_by_sampling"] + c["incomplete_on_probes"]
    client = report["client"]["cpu_cores"]
    misses = []
    if p99 is None or p99 > TARGET_P99_MS:
        misses.append("no p99" if p99 is None else f"p99 {p99:.0f} ms")
    if errors:
        misses.append(f"{errors} errors")
    if dropped:
        misses.append(f"{dropped} dropped")
    return {
        "comments_per_second": report["params"]["comments_per_second"],
        "room_max_comments_per_second": room_rate,
        "logical_msgs_per_s": d["logical_msgs_per_s"],
        "frames_per_s": d["frames_per_s"],
        "tick_frames_per_s": d["tick_frames_per_s"],
        "logical_per_tick_frame": d["logical_per_tick_frame"],
        "payload_mib_per_s": d["payload_mib_per_s"],
        "frames_per_viewer_min": d["frames_per_viewer_min"],
        "latency_all_ms": {k: report["latency_all_ms"][k] for k in ("p50", "p99", "max")},
        "ack_p99_ms": report["ack_ms"]["p99"],
        "comments_sent": c["sent"],
        "comments_acked": c["acked"],
        "comments_delivered": c["delivered"],
        "dropped_by_sampling": c["dropped_by_sampling"],
        "incomplete_on_probes": c["incomplete_on_probes"],
        "errors": errors,
        "server_cpu_cores": s["cpu_cores"],
        "server_cpu_us_per_frame": s["cpu_us_per_frame"],
        "server_cpu_us_per_logical_msg": s["cpu_us_per_logical_msg"],
        "client_cpu_cores": client,
        "client_busy": client is not None and client > CLIENT_BUSY_CORES,
        "softirq_cores": report["machine"]["softirq_cores"],
        "other_cpu_cores": report["machine"]["other_cpu_cores"],
        "held": not misses,
        "misses": misses,
    }


def run_capacity(
    base: FanoutOptions,
    capacity: CapacityOptions,
    measure: Callable[[FanoutOptions, Log], dict[str, Any]],
    log: Log,
) -> dict[str, Any]:
    """Run the ramp; ``measure`` is one measured run (a fresh shop, server and viewers process)."""
    steps: list[dict[str, Any]] = []
    misses_in_a_row = 0
    for rate in capacity.rates:
        room_rate = capacity.room_rate(rate)
        options = replace(
            base,
            comments_per_second=rate,
            duration=capacity.duration,
            probes=capacity.probes,
            extra_env={**base.extra_env, ROOM_RATE_ENV: f"{room_rate:g}"},
        )
        log(f"capacity step: {rate:g} comments/s offered, the room shows up to {room_rate:g}/s")
        try:
            step = step_summary(measure(options, log), room_rate)
        except BenchError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            step = {
                "comments_per_second": rate,
                "room_max_comments_per_second": room_rate,
                "held": False,
                "misses": [f"failed: {first}"],
            }
        steps.append(step)
        held = "held" if step["held"] else "missed: " + "; ".join(step["misses"])
        log(f"capacity step {rate:g}/s: {step.get('logical_msgs_per_s', '-')} logical msgs/s, {held}")
        misses_in_a_row = 0 if step["held"] else misses_in_a_row + 1
        if misses_in_a_row >= capacity.stop_after_misses:
            break
    best = max((s for s in steps if s["held"]), key=lambda s: s["comments_per_second"], default=None)
    return {
        "rates": list(capacity.rates),
        "step_duration_s": capacity.duration,
        "headroom": capacity.headroom,
        "probes": capacity.probes,
        "steps": steps,
        "best_step": None if best is None else best["comments_per_second"],
        "logical_msgs_per_s": None if best is None else best["logical_msgs_per_s"],
        "held_below_a_miss": best is not None
        and any(not s["held"] and s["comments_per_second"] < best["comments_per_second"] for s in steps),
        "client_busy_steps": [s["comments_per_second"] for s in steps if s.get("client_busy")],
        # Context, not the target: the most any step delivered whatever its latency, and the
        # lowest server CPU per logical message of any step.
        "peak_logical_msgs_per_s": max((s.get("logical_msgs_per_s", 0) for s in steps), default=0),
        "min_server_cpu_us_per_logical_msg": min(
            (s["server_cpu_us_per_logical_msg"] for s in steps if s.get("server_cpu_us_per_logical_msg")),
            default=None,
        ),
    }
