"""``liveloop demo``: a scripted show with a few hundred simulated viewers, end to end.

It starts ``liveloop serve`` on the embedded default (or plays against ``--url``), creates a room,
products, a show and its line-up in the demo shop, then runs the host's script over the show's
length while persona-driven viewers (``demo_viewers``) join over real WebSockets: the host
explains products (讲解中), opens a "next product" poll, sends a red packet, drops coupons, runs a
flash sale (秒杀) and a comment lottery (福袋), and ends the show. Meanwhile a newcomer watches
the console move; at the end the review is ready. Every step uses the public API, so the demo
also shows how an integration drives liveloop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from liveloop.sim.common import BenchError
from liveloop.sim.demo_viewers import Tally, ViewerSim, pick_persona
from liveloop.sim.server import Server, free_port, running_server, server_env

__all__ = ["DemoOptions", "run_demo"]

Log = Callable[[str], None]

PRODUCTS: tuple[dict[str, Any], ...] = (
    {"sku": "DEMO-TEE", "title": "纯棉短袖T恤", "price_cents": 7900, "list_price_cents": 12900, "stock": 500},
    {
        "sku": "DEMO-DRESS",
        "title": "法式碎花连衣裙",
        "price_cents": 25900,
        "list_price_cents": 39900,
        "stock": 300,
    },
    {
        "sku": "DEMO-MASK",
        "title": "补水面膜 10片装",
        "price_cents": 9900,
        "list_price_cents": 15900,
        "stock": 800,
    },
    {"sku": "DEMO-BAG", "title": "通勤托特包", "price_cents": 19900, "list_price_cents": 29900, "stock": 200},
    {
        "sku": "DEMO-CREAM",
        "title": "修护面霜 50ml",
        "price_cents": 16900,
        "list_price_cents": 26900,
        "stock": 400,
    },
)


@dataclass(frozen=True)
class DemoOptions:
    viewers: int = 300
    minutes: float = 4.0
    port: int = 8000
    url: str | None = None  # play against a running server instead of starting one
    key: str | None = None  # its owner/operator key (with url)
    data_dir: Path = Path("./data")
    key_file: Path = Path("./data/demo-owner-key.txt")
    keep_serving: bool = True
    seed: int = 7


class Http:
    """Blocking JSON calls (stdlib), run off the event loop by :meth:`call`."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def request(
        self, method: str, path: str, body: dict[str, Any] | None, bearer: str | None
    ) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
                raw = answer.read()
                return answer.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            with contextlib.suppress(ValueError):
                return exc.code, json.loads(raw)
            return exc.code, None

    async def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, bearer: str | None = None
    ) -> tuple[int, Any]:
        return await asyncio.to_thread(self.request, method, path, body, bearer)


class Host:
    """The staff side of the script: every call with the shop key; a missing feature is skipped."""

    def __init__(self, http: Http, key: str, log: Log) -> None:
        self.http = http
        self.key = key
        self.log = log

    async def must(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        status, answer = await self.http.call(method, path, body, self.key)
        if status >= 300:
            raise BenchError(f"{method} {path}: {status} {answer}")
        return answer

    async def try_(self, what: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        status, answer = await self.http.call(method, path, body, self.key)
        if status >= 300:
            self.log(f"  - {what}: skipped ({status} {(answer or {}).get('error', {}).get('code', '')})")
            return None
        self.log(f"  - {what}")
        return answer


@dataclass
class Stage:
    room_id: int
    show_id: int
    product_ids: list[int]


async def _stage(host: Host, show_seconds: float) -> Stage:
    stamp = datetime.now(UTC).strftime("%m%d-%H%M%S")
    product_ids = []
    for product in PRODUCTS:
        made = await host.must("POST", "/api/v1/products", product | {"sku": f"{product['sku']}-{stamp}"})
        product_ids.append(int(made["id"]))
    room = await host.must(
        "POST", "/api/v1/rooms", {"name": "新品首发直播间", "description": "liveloop demo"}
    )
    now = datetime.now(UTC)
    show = await host.must(
        "POST",
        "/api/v1/shows",
        {
            "room_id": room["id"],
            "title": f"秋季上新专场 {stamp}",
            "planned_start": now.isoformat(),
            "planned_end": (now + timedelta(seconds=show_seconds + 60)).isoformat(),
        },
    )
    await host.must("PUT", f"/api/v1/shows/{show['id']}/lineup", {"product_ids": product_ids})
    return Stage(room_id=int(room["id"]), show_id=int(show["id"]), product_ids=product_ids)


async def _script(host: Host, stage: Stage, show_seconds: float, stop: asyncio.Event) -> None:
    """The host's run sheet, as fractions of the show's length."""
    room, show, products = stage.room_id, stage.show_id, stage.product_ids
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    poll_id: int | None = None
    lottery_id: int | None = None

    async def at(fraction: float) -> None:
        delay = t0 + fraction * show_seconds - loop.time()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    async def explain(product_id: int) -> None:
        await host.try_(
            f"讲解中 product {product_id}",
            "PUT",
            f"/api/v1/shows/{show}/explaining",
            {"product_id": product_id},
        )

    await at(0.03)
    await explain(products[0])
    await at(0.12)
    poll = await host.try_(
        "poll: next product",
        "POST",
        f"/api/v1/rooms/{room}/polls",
        {
            "question": "下一个想看哪款？",
            "kind": "next_product",
            "options": [
                {"text": "面膜", "product_id": products[2]},
                {"text": "托特包", "product_id": products[3]},
            ],
        },
    )
    if poll:
        poll_id = int(poll["id"])
        await host.try_("poll opened", "POST", f"/api/v1/polls/{poll_id}/open", {})
    await at(0.22)
    await explain(products[1])
    await at(0.32)
    await host.try_(
        "red packet 88.88", "POST", f"/api/v1/rooms/{room}/red-packets", {"total_cents": 8888, "count": 40}
    )
    if poll_id is not None:
        await host.try_("poll closed", "POST", f"/api/v1/polls/{poll_id}/close")
    await at(0.40)
    template = await host.try_(
        "coupon template 满199减30",
        "POST",
        "/api/v1/coupon-templates",
        {
            "name": "满199减30",
            "kind": "threshold",
            "threshold_cents": 19900,
            "amount_off_cents": 3000,
            "total_quantity": 200,
            "valid_days": 7,
        },
    )
    if template:
        await host.try_(
            "coupon drop x80",
            "POST",
            f"/api/v1/rooms/{room}/coupon-drops",
            {
                "template_id": template["id"],
                "quantity": 80,
                "window_seconds": max(30, int(show_seconds * 0.3)),
            },
        )
    await at(0.45)
    await explain(products[2])
    await at(0.52)
    lottery = await host.try_(
        "福袋: comment 想要",
        "POST",
        f"/api/v1/rooms/{room}/lotteries",
        {
            "prize": "修护面霜正装",
            "winners_count": 3,
            "duration_seconds": max(10, int(show_seconds * 0.3)),
            "rules": [{"kind": "keyword", "keyword": "想要"}],
        },
    )
    if lottery:
        lottery_id = int(lottery["id"])
    await at(0.58)
    sale = await host.try_(
        "秒杀: 面膜 ¥49.9 x 60",
        "POST",
        "/api/v1/flash-sales",
        {
            "product_id": products[2],
            "show_id": show,
            "price_cents": 4990,
            "stock": 60,
            "per_user_limit": 1,
            "duration_seconds": max(20, int(show_seconds * 0.2)),
        },
    )
    if sale and sale.get("state") not in ("active", "live", "running"):
        await host.try_("秒杀 started", "POST", f"/api/v1/flash-sales/{sale['id']}/start")
    await at(0.70)
    await explain(products[3])
    await at(0.84)
    if lottery_id is not None:
        await host.try_("福袋 drawn", "POST", f"/api/v1/lotteries/{lottery_id}/draw")
    await explain(products[4])
    await at(1.0)


async def _viewers(
    options: DemoOptions, http: Http, host: Host, stage: Stage, ws_url: str, stop: asyncio.Event, tally: Tally
) -> None:
    rng = random.Random(options.seed)
    show_seconds = options.minutes * 60
    tokens = await asyncio.gather(
        *(
            host.must(
                "POST",
                "/api/v1/viewer-tokens",
                {"user_id": f"demo-{i}", "nickname": f"观众{i:03d}", "ttl_seconds": 86400},
            )
            for i in range(options.viewers)
        )
    )
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    tasks: list[asyncio.Task[None]] = []
    for index, token in enumerate(tokens):
        # Arrivals: most come in the first 60% of the show, a few late.
        arrive = min(rng.betavariate(1.4, 2.2), 0.92) * show_seconds
        delay = t0 + arrive - loop.time()
        viewer = ViewerSim(
            index=index,
            persona=pick_persona(rng),
            ws_url=ws_url,
            token=str(token["token"]),
            rest=http.call,
            room_id=stage.room_id,
            show_id=stage.show_id,
            show_seconds=show_seconds,
            tally=tally,
            rng=random.Random(rng.random()),
        )
        tasks.append(asyncio.create_task(_later(delay, viewer, stop)))
    await asyncio.gather(*tasks)


async def _later(delay: float, viewer: ViewerSim, stop: asyncio.Event) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), max(delay, 0))
    if not stop.is_set():
        await viewer.run(stop)


async def play(options: DemoOptions, base_url: str, key: str, log: Log) -> dict[str, Any]:
    http = Http(base_url)
    host = Host(http, key, log)
    show_seconds = options.minutes * 60
    stage = await _stage(host, show_seconds)
    log(f"show {stage.show_id} in room {stage.room_id}: {len(stage.product_ids)} products in the line-up")
    log(f"console: {base_url}/console/shows/{stage.show_id}   viewer page: {base_url}/live/{stage.room_id}")
    await host.must("POST", f"/api/v1/shows/{stage.show_id}/start")
    log(f"on air for {show_seconds:.0f} s with {options.viewers} viewers; the host's script:")
    stop, tally = asyncio.Event(), Tally()
    ws_url = base_url.replace("http", "ws", 1) + f"/ws/rooms/{stage.room_id}"
    crowd = asyncio.create_task(_viewers(options, http, host, stage, ws_url, stop, tally))
    await _script(host, stage, show_seconds, stop)
    stop.set()
    await crowd
    await asyncio.sleep(3)  # the simulated provider confirms payments after ~2 s
    await host.must("POST", f"/api/v1/shows/{stage.show_id}/end")
    _, metrics = await http.call("GET", f"/api/v1/shows/{stage.show_id}/metrics?minutes=false", None, key)
    return {
        "show_id": stage.show_id,
        "room_id": stage.room_id,
        "viewers_joined": tally.joined,
        "viewers_failed": tally.failed,
        "comments_sent": tally.comments,
        "likes_sent": tally.likes,
        "orders_placed": tally.orders,
        "refusals": tally.refused,
        "metrics": (metrics or {}).get("totals") if isinstance(metrics, dict) else None,
        "console_url": f"{base_url}/console/shows/{stage.show_id}",
        "review_url": f"{base_url}/console/shows/{stage.show_id}/review",
    }


def _demo_key(options: DemoOptions, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "liveloop", "shop", "ensure-demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0 or not options.key_file.exists():
        raise BenchError(f"shop ensure-demo failed:\n{done.stdout}\n{done.stderr}")
    return options.key_file.read_text().strip()


@contextlib.contextmanager
def _server(options: DemoOptions) -> Iterator[tuple[str, str, Server | None]]:
    if options.url:
        if not options.key:
            raise BenchError("--url needs --key (a staff key of the shop to play in)")
        yield options.url.rstrip("/"), options.key, None
        return
    port = options.port or free_port()
    with contextlib.suppress(OSError), urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
        raise BenchError(
            f"port {port} is taken (is `make run` serving?): stop it, or pass --port or --url/--key"
        )
    options.data_dir.mkdir(parents=True, exist_ok=True)
    env = server_env(options.data_dir.resolve(), port, {})
    key = _demo_key(options, env)
    with running_server(options.data_dir, env, port, timeout=120) as server:
        yield server.url, key, server


def run_demo(options: DemoOptions, log: Log) -> dict[str, Any]:
    """Play the show; with ``keep_serving`` the server stays up (Ctrl-C ends it)."""
    with _server(options) as (base_url, key, server):
        result = asyncio.run(play(options, base_url, key, log))
        result["owner_key"] = key
        if server is not None and options.keep_serving:
            log(f"the show is over. review: {result['review_url']}  (sign in with {key}); Ctrl-C stops")
            with contextlib.suppress(KeyboardInterrupt):
                while server.process.poll() is None:
                    time.sleep(0.5)
        return result
