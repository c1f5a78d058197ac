"""Simulated viewers of the demo show: personas that watch, talk, tap, grab and buy over real sockets.

Each viewer is one real WebSocket client of ``/ws/rooms/{id}`` (the product's own protocol) plus
the viewer REST routes a phone app would call (buy, claim, grab, vote). What a viewer does follows
its persona:

- ``loyal``: comes from 关注 (follow), stays, comments and likes a lot, buys the first product
  explained, follows the shop.
- ``bargain``: price-sensitive; waits for the coupon and the flash sale (秒杀) and buys then.
- ``quality``: asks about materials (Q&A), clicks products, buys the one being explained sometimes.
- ``drifter``: from 推荐 (recommend); leaves after a few seconds (the 秒跳出 viewers).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

log = structlog.get_logger(__name__)

__all__ = ["PERSONAS", "Persona", "Tally", "ViewerSim", "pick_persona"]


@dataclass(frozen=True, slots=True)
class Persona:
    name: str
    share: float  # of the audience
    sources: tuple[str, ...]
    stay_seconds: tuple[float, float]  # as a fraction of the show, except drifters (seconds)
    comment_every: float  # mean seconds between comments (0 = never)
    like_every: float
    click_chance: float  # on a card being explained
    buy_chance: float  # on the product explained, at full price
    waits_for_deals: bool = False
    asks: bool = False
    follows: bool = False


PERSONAS: tuple[Persona, ...] = (
    Persona("loyal", 0.20, ("follow", "group"), (0.6, 1.0), 8, 2, 0.8, 0.5, follows=True),
    Persona("bargain", 0.35, ("recommend", "share", "campaign"), (0.4, 0.9), 20, 6, 0.6, 0.05, True),
    Persona("quality", 0.20, ("search", "recommend", "ad"), (0.3, 0.7), 25, 10, 0.7, 0.25, asks=True),
    Persona("drifter", 0.25, ("recommend", "other"), (3, 9), 0, 0, 0.05, 0.0),
)

_TALK = {
    "loyal": ["主播好！", "又来支持了", "这个颜色好看", "已下单，期待", "老粉报到", "上次买的很好用"],
    "bargain": ["有优惠吗？", "什么时候秒杀？", "能便宜点吗", "等券", "蹲秒杀", "价格能再低吗"],
    "quality": ["面料是什么？", "会起球吗", "有实拍吗", "尺码偏大还是偏小？", "质量怎么样"],
}
_QUESTIONS = ["这个面料是纯棉的吗？", "洗了会缩水吗？", "160/50kg 穿什么码？", "有售后保障吗？", "能机洗吗？"]


def pick_persona(rng: random.Random) -> Persona:
    roll, acc = rng.random(), 0.0
    for persona in PERSONAS:
        acc += persona.share
        if roll < acc:
            return persona
    return PERSONAS[-1]


@dataclass
class Tally:
    """What the crowd did, for the closing summary."""

    joined: int = 0
    failed: int = 0
    comments: int = 0
    likes: int = 0
    orders: int = 0
    refused: dict[str, int] = field(default_factory=dict)

    def refusal(self, code: str) -> None:
        self.refused[code] = self.refused.get(code, 0) + 1


Rest = Callable[[str, str, dict[str, Any] | None, str | None], Awaitable[tuple[int, Any]]]


class ViewerSim:
    """One simulated viewer: connect, act by persona until its time is up, leave."""

    def __init__(
        self,
        *,
        index: int,
        persona: Persona,
        ws_url: str,
        token: str,
        rest: Rest,
        room_id: int,
        show_id: int,
        show_seconds: float,
        tally: Tally,
        rng: random.Random,
    ) -> None:
        self.index = index
        self.persona = persona
        self.ws_url = ws_url
        self.token = token
        self.rest = rest
        self.room_id = room_id
        self.show_id = show_id
        self.show_seconds = show_seconds
        self.tally = tally
        self.rng = rng
        self.ws: ClientConnection | None = None
        self.coupon_id: int | None = None
        self.bought: set[int] = set()
        self.seen: set[int] = set()
        self.keyword: str | None = None

    def _stay(self) -> float:
        low, high = self.persona.stay_seconds
        if self.persona.name == "drifter":
            return self.rng.uniform(low, high)
        return self.rng.uniform(low, high) * self.show_seconds

    async def run(self, stop: asyncio.Event) -> None:
        source = self.rng.choice(self.persona.sources)
        try:
            async with connect(
                f"{self.ws_url}?v=1&token={self.token}&source={source}", open_timeout=20
            ) as ws:
                self.ws = ws
                self.tally.joined += 1
                reader = asyncio.create_task(self._read(ws))
                try:
                    await self._act(stop)
                finally:
                    reader.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await reader
        except (OSError, WebSocketException, TimeoutError) as exc:
            self.tally.failed += 1
            log.debug("viewer could not stay", index=self.index, error=str(exc))

    async def _act(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        until = loop.time() + self._stay()
        if self.persona.follows and self.rng.random() < 0.5:
            await self._send({"type": "follow"})
        if self.persona.asks and self.rng.random() < 0.5:
            body = {"text": self.rng.choice(_QUESTIONS)}
            await self._rest("POST", f"/api/v1/viewer/rooms/{self.room_id}/questions", body)
        next_ping = loop.time() + 20
        while not stop.is_set() and loop.time() < until:
            now = loop.time()
            if now >= next_ping:
                await self._send({"type": "ping"})
                next_ping = now + 20
            if self.persona.comment_every and self.rng.random() < 1 / self.persona.comment_every:
                talk = _TALK[self.persona.name]
                text = self.keyword if self.keyword and self.rng.random() < 0.5 else self.rng.choice(talk)
                await self._send({"type": "comment", "text": text})
                self.tally.comments += 1
            if self.persona.like_every and self.rng.random() < 1 / self.persona.like_every:
                taps = self.rng.randint(1, 12)
                await self._send({"type": "like", "count": taps})
                self.tally.likes += taps
            if self.rng.random() < 0.004:
                await self._send({"type": "share", "channel": self.rng.choice(["wechat", "moments", "link"])})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    async def _read(self, ws: ClientConnection) -> None:
        with contextlib.suppress(WebSocketException):
            async for raw in ws:
                frame = orjson.loads(raw)
                for item in frame.get("items") or ():
                    data = item.get("data") or {}
                    with contextlib.suppress(Exception):
                        await self._react(data)

    async def _react(self, data: dict[str, Any]) -> None:
        kind = data.get("type")
        rng, persona = self.rng, self.persona
        if kind == "explaining" and data.get("product_id"):
            product_id = int(data["product_id"])
            await self._signal("exposure", product_id, "pinned")
            if rng.random() < persona.click_chance:
                await asyncio.sleep(rng.uniform(0.5, 4))
                await self._signal("click", product_id, "pinned")
                wants = rng.random() < persona.buy_chance
                if wants and product_id not in self.bought:
                    await self._signal("add_to_cart", product_id, "pinned")
                    await asyncio.sleep(rng.uniform(0.5, 3))
                    await self._buy({"product_id": product_id}, product_id)
        elif kind == "flash_sale_started" and persona.waits_for_deals:
            await asyncio.sleep(rng.uniform(0, 2))
            await self._buy({"flash_sale_id": data["sale_id"]}, int(data["product_id"]))
        elif kind == "coupon_dropped" and (persona.waits_for_deals or rng.random() < 0.2):
            await asyncio.sleep(rng.uniform(0, 1.5))
            status, body = await self._rest("POST", f"/api/v1/coupon-drops/{data['drop_id']}/claim", None)
            if status < 300 and isinstance(body, dict):
                self.coupon_id = body.get("id") or body.get("coupon_id")
        elif kind == "red_packet" and persona.name != "drifter":
            await asyncio.sleep(rng.uniform(0, 2))
            await self._rest("POST", f"/api/v1/viewer/red-packets/{data['packet_id']}/grab", None)
        elif kind == "poll_opened" and rng.random() < 0.7:
            options = data.get("options") or []
            if options:
                await asyncio.sleep(rng.uniform(0.5, 5))
                pick = rng.randrange(len(options))
                await self._rest("POST", f"/api/v1/viewer/polls/{data['poll_id']}/votes", {"option": pick})
        elif kind == "lottery_opened":
            for rule in data.get("rules") or ():
                if rule.get("kind") == "keyword" and rule.get("keyword"):
                    self.keyword = str(rule["keyword"])

    async def _signal(self, kind: str, product_id: int, surface: str) -> None:
        if kind == "exposure":
            if product_id in self.seen:
                return
            self.seen.add(product_id)
        await self._send({"type": "product", "kind": kind, "product_id": product_id, "surface": surface})

    async def _buy(self, what: dict[str, Any], product_id: int) -> None:
        body: dict[str, Any] = what | {
            "quantity": 1,
            "show_id": self.show_id,
            "idempotency_key": uuid.uuid4().hex,
        }
        if self.coupon_id is not None:
            body["coupon_id"] = self.coupon_id
        status, _ = await self._rest("POST", "/api/v1/buyer/orders", body)
        if status < 300:
            self.tally.orders += 1
            self.bought.add(product_id)
            self.coupon_id = None
        elif status == 422 and "coupon_id" in body:  # an older server without coupons: buy without
            body.pop("coupon_id")
            status, _ = await self._rest("POST", "/api/v1/buyer/orders", body)
            if status < 300:
                self.tally.orders += 1
                self.bought.add(product_id)

    async def _rest(self, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, Any]:
        status, answer = await self.rest(method, path, body, self.token)
        if status >= 400 and isinstance(answer, dict):
            self.tally.refusal(str((answer.get("error") or {}).get("code", status)))
        return status, answer

    async def _send(self, frame: dict[str, Any]) -> None:
        if self.ws is not None:
            with contextlib.suppress(WebSocketException):
                await self.ws.send(orjson.dumps(frame).decode())
