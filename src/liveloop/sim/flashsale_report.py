"""The report of ``liveloop bench flash-sale``: checks, ratios to the floors, the table, the JSON line."""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "REPORT_PREFIX",
    "TARGET_GRAB_RATIO",
    "TARGET_HTTP_RATIO",
    "conclude",
    "render",
    "report_line",
]

REPORT_PREFIX = "BENCH_FLASH_SALE"
TARGET_GRAB_RATIO = 0.8
TARGET_HTTP_RATIO = 0.35
#: The floor each backend's in-process grab is held to (issue 4): Redis pipelined, SQLite group commit.
_GRAB_FLOOR = {"embedded": ("sqlite", "group"), "scaleout": ("redis", "pipelined")}
_MIXES = ("sale", "write", "use_case")


def _rate(floor: dict[str, Any], kind: str, case: str) -> float | None:
    cases = floor.get(kind)
    if not isinstance(cases, dict):
        return None
    value = cases.get(case, {}).get("req_per_s")
    return float(value) if isinstance(value, int | float) and value else None


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    return None if not ours or not theirs else round(ours / theirs, 4)


#: The buyers' transports, as the report names them.
TRANSPORT_LABELS = {"http": "HTTP", "ws": "socket"}


def transports_of(run: dict[str, Any]) -> list[str]:
    return [t for t in TRANSPORT_LABELS if t in run]


def _checks(run: dict[str, Any], units: int) -> dict[str, bool]:
    checks: dict[str, bool] = {}
    for transport in transports_of(run):
        buyers, db = run[transport], run[transport]["db"]
        prefix = "" if transport == "http" else f"{transport}_"
        checks |= {
            f"{prefix}sold_equals_units": db["sold"] == units and db["allocated"] == units,
            f"{prefix}nobody_over_limit": db["buyers_over_limit"] == 0,
            f"{prefix}answers_match_db": buyers["created"]["count"] == db["orders"],
            f"{prefix}every_request_answered": buyers["answered"] == buyers["requests"]
            and not buyers["timed_out"],
            f"{prefix}no_errors": not buyers["errors"],
        }
    grabs = run.get("in_process")
    if isinstance(grabs, dict) and "failed" in grabs:
        checks["in_process_ran"] = False
    elif isinstance(grabs, dict) and "skipped" not in grabs:
        # Failed grabs (e.g. a Redis pool that starved a caller) are shown, not fatal: the
        # invariant is that the sale sold exactly its units.
        checks["in_process_sold_ok"] = all(grabs[m]["sold_ok"] for m in _MIXES)
    return checks


def conclude(report: dict[str, Any]) -> None:
    """Checks (a failed one fails the run), ratios to the floors and the verdict on each target."""
    floor, units = report["floor"], report["params"]["units"]
    plain = _rate(floor, "redis", "sale_plain")
    report["checks"], report["ratios"], report["targets"] = {}, {}, {}
    for name, run in report["backends"].items():
        report["checks"][name] = _checks(run, units)
        kind, mode = _GRAB_FLOOR[name]
        ratios: dict[str, Any] = {
            f"{t}_vs_plain_client": _ratio(run[t]["requests_per_s"], plain) for t in transports_of(run)
        }
        ratios["grab_floor"] = f"{kind} {mode}"
        grabs = run.get("in_process")
        if isinstance(grabs, dict) and all(m in grabs for m in _MIXES):
            for mix in ("sale", "write"):
                ratios[f"grab_{mix}_vs_floor"] = _ratio(
                    grabs[mix]["grabs_per_s"], _rate(floor, kind, f"{mix}_{mode}")
                )
            ratios["use_case_vs_floor"] = _ratio(
                grabs["use_case"]["grabs_per_s"], _rate(floor, kind, f"sale_{mode}")
            )
        report["ratios"][name] = ratios

        def verdict(value: float | None, target: float) -> bool | None:
            return None if value is None else value >= target

        report["targets"][name] = {
            f"{t}_ge_0_35_plain_client": verdict(ratios[f"{t}_vs_plain_client"], TARGET_HTTP_RATIO)
            for t in transports_of(run)
        } | {
            "grab_sale_ge_0_8_floor": verdict(ratios.get("grab_sale_vs_floor"), TARGET_GRAB_RATIO),
            "grab_write_ge_0_8_floor": verdict(ratios.get("grab_write_vs_floor"), TARGET_GRAB_RATIO),
        }
    report["ok"] = all(all(c.values()) for c in report["checks"].values())


def report_line(report: dict[str, Any]) -> str:
    """The machine-readable line: ``BENCH_FLASH_SALE {json}``."""
    return f"{REPORT_PREFIX} {json.dumps(report, separators=(',', ':'), ensure_ascii=False)}"


_RATIO_NOTES = {
    "http_vs_plain_client": "HTTP answers/s (1 server worker) / plain bare client, sale mix",
    "ws_vs_plain_client": "buy frames answered/s on room sockets (1 worker) / plain bare client",
    "grab_floor": "the floor each backend's grab is held to",
    "grab_sale_vs_floor": "in-process sale grabs/s / the floor's, sale mix",
    "grab_write_vs_floor": "in-process write grabs/s / the floor's, all-win mix",
    "use_case_vs_floor": "do_place_order/s / the floor's, sale mix",
}


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 10 else f"{value:,.0f}"
    return str(value)


def _lat(figures: dict[str, Any]) -> str:
    lat = figures["latency_ms"]
    return f"{_fmt(lat['p50'])} / {_fmt(lat['p99'])}" if lat["samples"] else "-"


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("MET" if ok else "MISSED")


def render(report: dict[str, Any]) -> Any:
    """A Rich table: one column per backend, the floors below."""
    from rich.table import Table

    p, runs = report["params"], report["backends"]
    names = list(runs)
    title = (
        f"liveloop flash sale: {p['buyers']:,} buyers, {p['units']:,} units, limit {p['limit']}, "
        f"{p['connections']} connections ({p['cores']} cores)"
    )
    table = Table(title=title)
    table.add_column("figure")
    for name in names:
        table.add_column(f"{name}\n{runs[name]['label']}", justify="right")
    table.add_column("note")

    def row(label: str, values: list[Any], note: str = "") -> None:
        table.add_row(label, *(_fmt(v) if not isinstance(v, str) else v for v in values), note)

    checks = ["ok" if all(report["checks"][n].values()) else "FAILED" for n in names]
    row("checks", checks, "sold = units, limit held, answers = orders, no errors")
    for transport in transports_of(runs[names[0]]):
        _buyer_rows(row, report, transport, [runs[n][transport] for n in names])
    for mix, note in (
        ("sale", f"{p['grabs']:,} grabs, {p['units']} units: reserve (+ SQL for the winners)"),
        ("write", f"{p['write_grabs']:,} grabs, all win: reserve + the group commit (set-based)"),
        ("use_case", f"{p['use_case_grabs']:,} do_place_order calls, {p['units']} units"),
    ):
        values = []
        for n in names:
            grabs = runs[n].get("in_process") or {}
            values.append(grabs[mix]["grabs_per_s"] if mix in grabs else "-")
        row(f"in-process {mix} grabs/s", values, note)
    failed = []
    for n in names:
        grabs = runs[n].get("in_process") or {}
        errors = {
            f"{m}: {k}": v
            for m in _MIXES
            if m in grabs
            for k, v in grabs[m]["outcomes"].items()
            if k.startswith("error")
        }
        if "failed" in grabs:
            failed.append(f"RUN FAILED: {grabs['failed'][:60]}")
        else:
            failed.append(json.dumps(errors) if errors else "none" if grabs else "-")
    row("in-process failed grabs", failed, "exceptions other than sold out / over limit")
    for key in _RATIO_NOTES:
        if any(key in report["ratios"][n] for n in names):
            row(f"ratio {key}", [report["ratios"][n].get(key) for n in names], _RATIO_NOTES[key])
    for key in report["targets"][names[0]]:
        row(f"target {key}", [_verdict(report["targets"][n].get(key)) for n in names])
    floor = report["floor"]
    if "skipped" in floor:
        row("floor", ["skipped"] + [""] * (len(names) - 1), floor["skipped"])
        return table
    for kind in ("redis", "sqlite"):
        cases = floor.get(kind, {})
        if "skipped" in cases:
            row(f"floor {kind}", ["skipped"] + [""] * (len(names) - 1), cases["skipped"])
            continue
        for case, figures in cases.items():
            rate = figures.get("req_per_s") if isinstance(figures, dict) else None
            note = figures.get("skipped", "") if isinstance(figures, dict) else ""
            row(f"floor {kind} {case} req/s", [rate] + [""] * (len(names) - 1), note)
    return table


def _buyer_rows(row: Any, report: dict[str, Any], transport: str, runs: list[dict[str, Any]]) -> None:
    """The rows of one transport's run, one value per backend."""
    p, label = report["params"], TRANSPORT_LABELS[transport]
    row(f"{label}: units sold (SQL)", [h["db"]["sold"] for h in runs], f"must be {p['units']}")
    row(f"{label}: buyers over the limit (SQL)", [h["db"]["buyers_over_limit"] for h in runs], "must be 0")
    asked = [f"{h['requests']:,} / {h['answered']:,}" for h in runs]
    row(f"{label}: requests / answered", asked, f"{p['greedy']:.0%} of buyers send limit+1 orders")
    counts = [
        f"{h['created']['count']:,} / {h['sold_out']['count']:,} / {h['over_limit']['count']:,}" for h in runs
    ]
    row(f"{label}: created / sold out / over limit", counts)
    row(f"{label}: errors", [json.dumps(h["errors"]) if h["errors"] else "none" for h in runs])
    row(
        f"{label}: orders answered/s",
        [h["requests_per_s"] for h in runs],
        "all answers / time to the last one",
    )
    row(
        f"{label}:   sold out after s",
        [h["sold_out_after_s"] for h in runs],
        "sale open -> last unit's answer",
    )
    row(f"{label}: latency created p50/p99 ms", [_lat(h["created"]) for h in runs], "request write -> answer")
    row(f"{label}: latency sold-out p50/p99 ms", [_lat(h["sold_out"]) for h in runs])
    row(f"{label}: latency over-limit p50/p99 ms", [_lat(h["over_limit"]) for h in runs])
    cpu = [f"{_fmt(h['server_cpu_cores'])} / {_fmt(h['server_cpu_us_per_request'])}" for h in runs]
    row(f"{label}: server CPU cores / us per request", cpu)
    row(
        f"{label}: client CPU cores",
        [h["client_cpu_cores"] for h in runs],
        "the buyers process (bottleneck if ~1)",
    )
    row(f"{label}: other CPU on the machine", [h["other_cpu_cores"] for h in runs], "~0 is best")
    if transport == "ws":
        frames = [sum(h.get("room_frames", {}).values()) for h in runs]
        row(
            f"{label}: room frames received",
            frames,
            "ticks every buyer got meanwhile (the room's own traffic)",
        )
