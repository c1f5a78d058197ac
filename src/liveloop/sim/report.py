"""The report of ``liveloop bench fanout``: verdicts on the targets, the Rich table, the JSON line."""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "REPORT_PREFIX",
    "TARGET_IDLE_KIB",
    "TARGET_P99_MS",
    "TARGET_RATIO",
    "conclude",
    "render",
    "render_capacity",
    "report_line",
]

REPORT_PREFIX = "BENCH_FANOUT"
TARGET_P99_MS = 250.0
TARGET_RATIO = 0.5
TARGET_IDLE_KIB = 21.0


def conclude(report: dict[str, Any]) -> None:
    """Ratios to the floor and the verdict on each target."""
    delivered = report["delivered"]["logical_msgs_per_s"]
    floor = report["floor"]
    batched = floor.get("raw_batch20") if isinstance(floor, dict) else None
    ratio = per_cpu = per_frame = None
    if batched:
        ratio = round(delivered / batched["logical_msgs_per_s"], 4)
        ours = report["server"]["cpu_us_per_logical_msg"]
        if ours:
            per_cpu = round(batched["server_cpu_us_per_msg"] / ours, 4)
        ours_frame = report["server"]["cpu_us_per_frame"]
        if ours_frame:
            per_frame = round(batched["server_cpu_us_per_msg"] * 20 / ours_frame, 4)
    report["ratio"] = {
        "logical_vs_batched_floor": ratio,
        "per_server_cpu_vs_batched_floor": per_cpu,
        "per_frame_cpu_vs_batched_floor": per_frame,
    }
    p99 = report["latency_all_ms"]["p99"]
    no_errors = not report["errors"] and not report["closes"] and not report["connect"]["failed"]
    # Per viewer: the second half's growth, free of one-time costs (caches, pools, first-use
    # imports, background jobs) that the whole-run figure spreads over the viewers.
    idle = report["server"]["marginal_kib_per_viewer"]
    if idle is None:
        idle = report["server"]["idle_kib_per_viewer"]
    report["targets"] = {
        "p99_latency_le_250ms": p99 is not None and p99 <= TARGET_P99_MS,
        "no_errors": no_errors,
        "ratio_ge_0_5": None if ratio is None else ratio >= TARGET_RATIO,
        "idle_kib_per_viewer_le_21": idle is not None and idle <= TARGET_IDLE_KIB,
    }
    capacity = report.get("capacity")
    if capacity is not None:
        best = capacity["logical_msgs_per_s"]
        capacity_ratio = None
        if batched:  # no step held: nothing delivered within the targets, ratio 0
            capacity_ratio = round((best or 0) / batched["logical_msgs_per_s"], 4)
        report["ratio"]["capacity_vs_batched_floor"] = capacity_ratio
        report["targets"]["capacity_ratio_ge_0_5"] = (
            None if capacity_ratio is None else capacity_ratio >= TARGET_RATIO
        )


def report_line(report: dict[str, Any]) -> str:
    """The machine-readable line: ``BENCH_FANOUT {json}``."""
    return f"{REPORT_PREFIX} {json.dumps(report, separators=(',', ':'), ensure_ascii=False)}"


def render(report: dict[str, Any]) -> Any:
    """A Rich table of the figures beside the floor."""
    from rich.table import Table

    p = report["params"]
    d, c, s = report["delivered"], report["comments"], report["server"]
    lat, lat_all = report["latency_ms"], report["latency_all_ms"]
    title = (
        f"liveloop fan-out: {p['viewers']} viewers, {p['comments_per_second']:g} comments/s, "
        f"{p['likes_per_second']:g} likes/s, {p['duration_s']:g} s ({p['cores']} cores, "
        f"ws {p.get('ws_protocol', '?')})"
    )
    table = Table(title=title, show_lines=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("note")

    def row(name: str, value: Any, note: str = "") -> None:
        table.add_row(
            name, "-" if value is None else f"{value:,}" if isinstance(value, int) else str(value), note
        )

    def verdict(key: str) -> str:
        ok = report["targets"].get(key)
        return "n/a" if ok is None else ("MET" if ok else "MISSED")

    row("delivered logical msgs/s", d["logical_msgs_per_s"], "tick items + 1 per frame with counts")
    row(
        "delivered frames/s",
        d["frames_per_s"],
        f"ticks {d['tick_frames_per_s']:,}/s, {d['payload_mib_per_s']} MiB/s",
    )
    row("frames per viewer (min..max)", f"{d['frames_per_viewer_min']}..{d['frames_per_viewer_max']}")
    row(
        "comment latency p50/p95/p99 ms",
        f"{lat['p50']} / {lat['p95']} / {lat['p99']}",
        f"{lat['samples']:,} pairs",
    )
    row(
        "  ... on every probe, p50/p95/p99",
        f"{lat_all['p50']} / {lat_all['p95']} / {lat_all['p99']}",
        f"target p99 <= {TARGET_P99_MS:g} ms: {verdict('p99_latency_le_250ms')}",
    )
    ack = report["ack_ms"]
    row(
        "comment ack p50/p95/p99 ms",
        f"{ack['p50']} / {ack['p95']} / {ack['p99']}",
        "send -> ack on the sender",
    )
    spread = report["spread_ms"]
    row("tick fan-out spread p50/p99 ms", f"{spread['p50']} / {spread['p99']}", "last probe - first probe")
    row("comments sent / acked / delivered", f"{c['sent']:,} / {c['acked']:,} / {c['delivered']:,}")
    row(
        "comments dropped by sampling",
        c["dropped_by_sampling"],
        f"server metric: {'-' if c['dropped_by_server_metric'] is None else c['dropped_by_server_metric']}",
    )
    row(
        "likes sent / latest count seen",
        f"{report['likes']['sent']:,} / {report['likes']['latest_count_seen']:,}",
    )
    errors = {**report["errors"], **{f"close {k}": v for k, v in report["closes"].items()}}
    row("errors", json.dumps(errors) if errors else "none", f"no errors: {verdict('no_errors')}")
    row("server CPU", f"{s['cpu_cores']} cores", f"{s['cpu_us_per_logical_msg']} us per logical msg")
    row(
        "client CPU",
        f"{report['client']['cpu_cores']} cores",
        f"viewers process, {report['client'].get('cpu_us_per_frame')} us per frame received",
    )
    load = p.get("loadavg_at_start")
    row("machine load at start (1/5/15 min)", " / ".join(map(str, load)) if load else None)
    other = report["machine"]["other_cpu_cores"] or 0.0
    busy = (
        "BUSY: other work competed for the cores, figures are pessimistic" if other > 0.25 else "~0 is best"
    )
    row(
        "kernel softirq (loopback TCP)",
        f"{report['machine']['softirq_cores']} cores",
        "accounted to no process",
    )
    row("other CPU on the machine", f"{other} cores", busy)
    row(
        "server KiB per idle viewer, all",
        s["idle_kib_per_viewer"],
        "RSS growth from 20 to N viewers / viewers",
    )
    row(
        "  ... second half of the viewers only",
        s["marginal_kib_per_viewer"],
        f"no one-time costs; target <= {TARGET_IDLE_KIB:g}: {verdict('idle_kib_per_viewer_le_21')}",
    )
    row(
        "server RSS before / idle / after load MiB",
        f"{s['rss_before_mib']} / {s['rss_idle_mib']} / {s['rss_after_load_mib']}",
    )
    floor = report["floor"]
    if "skipped" in floor:
        row("floor", "skipped", floor["skipped"])
    else:
        for mode in ("raw_frame", "raw_batch20"):
            case = floor.get(mode)
            if case:
                row(
                    f"floor {mode} frames/s | logical/s",
                    f"{case['frames_per_s']:,.0f} | {case['logical_msgs_per_s']:,.0f}",
                    f"{case['server_cpu_us_per_msg']} us server CPU per msg",
                )
        r = report["ratio"]
        row(
            "ratio to batched floor (logical msgs/s)",
            r["logical_vs_batched_floor"],
            f"target >= {TARGET_RATIO:g}: {verdict('ratio_ge_0_5')}",
        )
        if "capacity_vs_batched_floor" in r:
            row(
                "capacity ratio to batched floor",
                r["capacity_vs_batched_floor"],
                f"best capacity step / raw_batch20; target >= {TARGET_RATIO:g}: "
                f"{verdict('capacity_ratio_ge_0_5')}",
            )
        row("ratio per server CPU-second", r["per_server_cpu_vs_batched_floor"], "floor us/msg / ours")
        row(
            "ratio of server CPU per frame",
            r["per_frame_cpu_vs_batched_floor"],
            f"floor batch20 us/frame / ours ({report['server']['cpu_us_per_frame']} us, all server work)",
        )
    return table


def render_capacity(report: dict[str, Any]) -> Any:
    """A Rich table of the capacity ramp, one row per step; None when the ramp did not run."""
    from rich.table import Table

    capacity = report.get("capacity")
    if capacity is None:
        return None
    ratio = report.get("ratio", {}).get("capacity_vs_batched_floor")
    best = capacity["best_step"]
    title = (
        f"capacity ramp: {report['params']['viewers']} viewers, {capacity['step_duration_s']:g} s per step, "
        f"room rate = {capacity['headroom']:g} x offered, {capacity['probes']} probes; best step "
        f"{'-' if best is None else f'{best:g}/s'}, ratio to batched floor {'-' if ratio is None else ratio}"
    )
    table = Table(title=title)
    for name in (
        "C/s",
        "logical/s",
        "frames/s",
        "p50/p99 ms",
        "acked/deliv.",
        "drops",
        "err",
        "srv cores",
        "srv µs/frame",
        "cli cores",
        "other",
        "held",
    ):
        table.add_column(name, justify="left" if name == "held" else "right")
    for step in capacity["steps"]:
        if "logical_msgs_per_s" not in step:
            table.add_row(f"{step['comments_per_second']:g}", *["-"] * 10, "; ".join(step["misses"]))
            continue
        lat = step["latency_all_ms"]
        table.add_row(
            f"{step['comments_per_second']:g}",
            f"{step['logical_msgs_per_s']:,}",
            f"{step['frames_per_s']:,}",
            f"{lat['p50']:.0f}/{lat['p99']:.0f}" if lat["p99"] is not None else "-",
            f"{step['comments_acked']:,}/{step['comments_delivered']:,}",
            f"{step['dropped_by_sampling']}+{step['incomplete_on_probes']}",
            str(step["errors"]),
            f"{step['server_cpu_cores']}",
            f"{step['server_cpu_us_per_frame']}",
            f"{step['client_cpu_cores']}{' BUSY' if step['client_busy'] else ''}",
            f"{step['other_cpu_cores']}",
            "yes" if step["held"] else "no: " + "; ".join(step["misses"]),
        )
    return table
