"""The buyers run of one backend: ``liveloop serve``, the sale, the buyers process (HTTP or room
sockets), the SQL audit."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from liveloop.sim.common import BenchError, Log
from liveloop.sim.flashsale_backends import Target
from liveloop.sim.flashsale_buyers import BuyerPlan
from liveloop.sim.flashsale_seed import SeededSale, audit_sale, mint_tokens, request_order, seed_sale
from liveloop.sim.server import Api, create_shop, free_port, running_server, server_env, stop_process

if TYPE_CHECKING:
    from liveloop.sim.flashsale import FlashSaleOptions

__all__ = ["BuyersRun", "run_buyers"]


@dataclass(frozen=True)
class BuyersRun:
    owner_key: str
    shop_id: int
    sale: SeededSale
    figures: dict[str, Any]


def _buyers(plan: BuyerPlan, target: Target, timeout: float) -> dict[str, Any]:
    path = target.data_dir / "buyers-plan.json"
    path.write_text(json.dumps(asdict(plan)))
    log = target.data_dir / "buyers.log"
    with log.open("wb") as err:
        process = subprocess.Popen(  # noqa: S603 - our own module, no shell
            [sys.executable, "-m", "liveloop.sim.flashsale_buyers", str(path)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_process(process, grace=5)
        raise BenchError(f"the buyers process did not finish in {timeout:.0f} s") from None
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if process.returncode != 0 or not lines:
        tail = log.read_text(errors="replace")[-2000:]
        raise BenchError(f"the buyers process failed ({process.returncode}):\n{tail}")
    result: dict[str, Any] = json.loads(lines[-1])
    if "error" in result:
        raise BenchError(f"buyers: {result['error']}")
    return result


def _share(part: float | None, whole: float) -> float | None:
    return None if part is None or not whole else round(part / whole, 3)


def _figures(result: dict[str, Any], audit: dict[str, Any], plan: BuyerPlan) -> dict[str, Any]:
    window = float(result["last_answer_s"]) or float(result["window_s"])
    server_cpu = result["server_cpu_s"]
    client_cpu = float(result["client_cpu_s"])
    other = float(result["machine_cpu_s"]) - (server_cpu or 0.0) - client_cpu - float(result["softirq_cpu_s"])
    kinds = result["by_kind"]
    errors = {k: v for k, v in result["outcomes"].items() if k not in ("created", "sold_out", "over_limit")}
    return {
        "buyers": len(plan.tokens),
        "requests": result["requests"],
        "answered": result["answered"],
        "connections": result["connections"],
        "connect_failures": result["connect_failures"],
        "window_s": round(window, 3),
        "requests_per_s": round(result["answered"] / window) if window else None,
        "orders_per_s": round(kinds["created"]["count"] / window, 1) if window else None,
        "sold_out_after_s": result["sold_out_after_s"],
        "created": kinds["created"],
        "sold_out": kinds["sold_out"],
        "over_limit": kinds["over_limit"],
        "all_latency_ms": result["all_latency_ms"],
        "errors": errors,
        "timed_out": result["timed_out"],
        "max_units_seen_per_buyer": result["max_units_seen_per_buyer"],
        "server_cpu_s": server_cpu,
        "server_cpu_cores": _share(server_cpu, window),
        "server_cpu_us_per_request": round(server_cpu / result["answered"] * 1e6, 1)
        if server_cpu and result["answered"]
        else None,
        "client_cpu_cores": _share(client_cpu, window),
        "softirq_cores": _share(float(result["softirq_cpu_s"]), window),
        "other_cpu_cores": _share(max(0.0, other), window),
        "db": audit,
    }


def run_buyers(target: Target, opts: FlashSaleOptions, log: Log, transport: str = "http") -> BuyersRun:
    """Serve ``target`` in a subprocess, seed the sale, let the buyers in over ``transport`` (``http``
    or ``ws``), audit the truth."""
    port = free_port()
    env = server_env(target.data_dir, port, target.server_env())
    log(f"{target.name}: creating the shop ({target.label})")
    key = create_shop(env, name="Flash Sale Bench")
    with running_server(target.data_dir, env, port) as server:
        try:
            log(f"{target.name}: server pid {server.process.pid} on {server.url}")
            sale = seed_sale(Api(server.url, key), units=opts.units, limit=opts.limit)
            shop_id, tokens = asyncio.run(mint_tokens(target.database_url, opts.buyers))
            plan = BuyerPlan(
                port=port,
                sale_id=sale.sale_id,
                tokens=tokens,
                requests=request_order(opts.buyers, greedy=opts.greedy, limit=opts.limit),
                connections=opts.connections,
                server_pid=server.process.pid,
                timeout=opts.timeout,
                transport=transport,
                room_id=sale.room_id,
            )
            over = f"{opts.connections} connections" if transport == "http" else "their room sockets"
            log(
                f"{target.name}: {len(plan.requests):,} orders from {opts.buyers:,} buyers "
                f"over {over} for {opts.units} units (limit {opts.limit})"
            )
            result = _buyers(plan, target, opts.timeout + 120)
        except BenchError as exc:
            raise BenchError(f"{exc}\n--- server log ---\n{server.tail()}") from None
    audit = asyncio.run(audit_sale(target.database_url, sale.sale_id, limit=opts.limit))
    figures = _figures(result, audit, plan)
    if transport == "ws":
        figures["connect_s"] = result.get("connect_s")
        figures["room_frames"] = result.get("room_frames", {})
    return BuyersRun(owner_key=key, shop_id=shop_id, sale=sale, figures=figures)
