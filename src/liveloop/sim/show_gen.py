"""A synthetic show for the analytics benchmark and the review's snapshot tests: seeded, time-ordered.

A show of ``minutes`` minutes in one shop and room, ``viewers`` viewers with one to three viewing
sessions each (a third of first sessions start in the opening ten minutes; a fifth of sessions are
quick exits under 10 s; some viewers stay past the end), and around them the mix a real room has:
comments, like batches (most events), shares, follows, poll votes, questions, product exposures and
clicks (mostly of the product being explained), cart adds, orders (created, then most paid a few
seconds to a minute later, some cancelled), a lottery, red packets, a flash sale at the peak and a
coupon drop. Payloads have the fields of the real event types, so every review query has something
to read. Per minute, activity is proportional to the viewers present.

Events come out in time order, in chunks (:meth:`ShowGenerator.chunks`), as the real ingest sees them.
Pure Python (``random.Random(seed)``): the same seed gives the same show, byte for byte.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from liveloop.core.events import Event
from liveloop.sim.show_tools import tool_events

COMMENTS = ("好看", "多少钱", "链接在哪", "主播好美", "已拍", "求讲解3号", "能便宜点吗", "666", "质量怎么样")
SOURCES = ("recommend", "follow", "search", "share", "campaign", "group", "ad", "other")
SOURCE_WEIGHTS = (45, 20, 8, 10, 5, 5, 5, 2)

#: Share of the non-session events by type (likes take the rest).
MIX = {
    "comment.posted": 0.13,
    "share.made": 0.006,
    "follow.made": 0.002,
    "poll.voted": 0.015,
    "question.asked": 0.001,
    "product.exposed": 0.16,
    "product.clicked": 0.065,
    "cart.added": 0.015,
    "order.created": 0.008,
    "lottery.entered": 0.02,
    "red_packet.grabbed": 0.002,
    "coupon.claimed": 0.005,
}


@dataclass(frozen=True, slots=True)
class ShowSpec:
    events: int = 10_000_000
    viewers: int = 200_000
    minutes: int = 180
    products: int = 30
    seed: int = 20261121
    shop_id: int = 1
    room_id: int = 1
    show_id: int = 1
    start: datetime = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)


@dataclass(order=True)
class _Pending:
    t: float
    seq: int
    kind: str = field(compare=False)
    actor: str | None = field(compare=False)
    data: dict[str, Any] = field(compare=False)


class ShowGenerator:
    """Generates one :class:`ShowSpec`'s events, in time order."""

    def __init__(self, spec: ShowSpec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self._seq = 0
        self._order_id = 0
        self._flash_end: dict[str, Any] = {"sale_id": 1, "product_id": 0, "sold": 0}  # sold counts up
        self._heap: list[_Pending] = []
        self.generated = 0
        self.peak_minute = int(spec.minutes * 0.55)
        self._sessions = self._make_sessions()
        per_minute = [0] * spec.minutes
        for start, end, _ in self._sessions:
            for m in range(int(start // 60), min(int(end // 60), spec.minutes - 1) + 1):
                per_minute[m] += 1
        self._presence = per_minute
        session_events = 2 * len(self._sessions)
        self.activity_events = max(spec.events - session_events, 0)

    # -- sessions ---------------------------------------------------------------------------------

    def _make_sessions(self) -> list[tuple[float, float, int]]:
        rng, spec = self.rng, self.spec
        length = spec.minutes * 60.0
        sessions = []
        for viewer in range(spec.viewers):
            for n in range(rng.choices((1, 2, 3), (60, 28, 12))[0]):
                if n == 0 and rng.random() < 0.33:
                    start = rng.uniform(0, 600)
                elif rng.random() < 0.25:
                    start = rng.gauss(self.peak_minute * 60, 600)
                else:
                    start = rng.uniform(0, length)
                start = min(max(start, 0.0), length - 1)
                lasted = rng.uniform(1, 9.5) if rng.random() < 0.2 else rng.expovariate(1 / 900) + 10
                sessions.append((start, start + lasted, viewer))
        sessions.sort()
        # one viewer's sessions must not overlap: push a later one after the earlier one's end
        last_end: dict[int, float] = {}
        fixed = []
        for start, end, viewer in sorted(sessions, key=lambda s: (s[2], s[0])):
            begin = max(start, last_end.get(viewer, -1.0) + 1.0)
            if begin >= length:
                continue
            stop = begin + (end - start)
            last_end[viewer] = stop
            fixed.append((begin, stop, viewer))
        fixed.sort()
        return fixed

    # -- events -----------------------------------------------------------------------------------

    def _event(self, t: float, kind: str, actor: str | None, data: dict[str, Any]) -> Event:
        spec = self.spec
        self.generated += 1
        return Event(
            type=kind,
            id=f"g{spec.seed:x}-{spec.show_id}-{self.generated:09d}",
            at=spec.start + timedelta(seconds=t),
            shop_id=spec.shop_id,
            room_id=spec.room_id,
            show_id=spec.show_id,
            actor=actor,
            data=data,
        )

    def _later(self, t: float, kind: str, actor: str | None, data: dict[str, Any]) -> None:
        self._seq += 1
        heapq.heappush(self._heap, _Pending(t, self._seq, kind, actor, data))

    def _explaining(self, minute: int) -> int:
        """The product on air in ``minute``: each is explained for an equal slot, in order."""
        spec = self.spec
        return 1 + min(minute * spec.products // spec.minutes, spec.products - 1)

    def chunks(self, size: int = 100_000) -> Iterator[list[Event]]:
        """The show's events in time order, ``size`` at a time."""
        batch: list[Event] = []
        for event in self._stream():
            batch.append(event)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _stream(self) -> Iterator[Event]:
        spec, rng = self.spec, self.rng
        total_presence = sum(self._presence) or 1
        staff = "staff:1"
        yield self._event(
            0.0, "show.started", staff, {"show_id": spec.show_id, "room_id": spec.room_id, "title": "Bench"}
        )
        sessions = self._sessions
        cursor = 0
        present: dict[int, float] = {}
        leaving: list[tuple[float, int, float]] = []  # (end, viewer, lasted)
        out: list[tuple[float, int, str, str | None, dict[str, Any]]] = []

        def add(t: float, kind: str, actor: str | None, data: dict[str, Any]) -> None:
            out.append((t, len(out), kind, actor, data))

        for minute in range(spec.minutes):
            lo, hi = minute * 60.0, minute * 60.0 + 60.0
            out.clear()
            while cursor < len(sessions) and sessions[cursor][0] < hi:
                start, end, viewer = sessions[cursor]
                cursor += 1
                vid = f"u:{viewer}" if viewer % 4 else f"d:{viewer}"
                source = rng.choices(SOURCES, SOURCE_WEIGHTS)[0]
                add(
                    start,
                    "viewer.entered",
                    vid,
                    {"viewer_id": vid, "nickname": f"v{viewer}", "guest": viewer % 4 == 0, "source": source},
                )
                heapq.heappush(leaving, (end, viewer, end - start))
                present[viewer] = end
            left_now: list[int] = []
            while leaving and leaving[0][0] < hi:
                end, viewer, lasted = heapq.heappop(leaving)
                vid = f"u:{viewer}" if viewer % 4 else f"d:{viewer}"
                add(
                    end,
                    "viewer.left",
                    vid,
                    {"viewer_id": vid, "reason": "closed", "watch_seconds": round(lasted, 3)},
                )
                present.pop(viewer, None)
                left_now.append(viewer)
            self._minute_events(minute, lo, [*present, *left_now], add, total_presence)
            while self._heap and self._heap[0].t < hi:
                p = heapq.heappop(self._heap)
                add(p.t, p.kind, p.actor, p.data)
            out.sort()
            for t, _, kind, actor, data in out:
                yield self._event(t, kind, actor, data)
        end = spec.minutes * 60.0
        yield self._event(
            end,
            "showcase.explaining",
            staff,
            {
                "show_id": spec.show_id,
                "product_id": None,
                "previous_product_id": self._explaining(spec.minutes - 1),
            },
        )
        yield self._event(
            end, "show.ended", staff, {"show_id": spec.show_id, "room_id": spec.room_id, "title": "Bench"}
        )
        tail: list[tuple[float, int, str, str | None, dict[str, Any]]] = []
        while leaving:  # stayed past the end
            t, viewer, lasted = heapq.heappop(leaving)
            vid = f"u:{viewer}" if viewer % 4 else f"d:{viewer}"
            data = {"viewer_id": vid, "reason": "closed", "watch_seconds": round(lasted, 3)}
            tail.append((max(t, end + 1), len(tail), "viewer.left", vid, data))
        while self._heap:
            p = heapq.heappop(self._heap)
            tail.append((max(p.t, end + 1), len(tail), p.kind, p.actor, p.data))
        tail.sort()
        for t, _, kind, actor, data in tail:
            yield self._event(t, kind, actor, data)

    def _minute_events(self, minute: int, lo: float, active: list[int], add: Any, total: int) -> None:
        spec, rng = self.spec, self.rng
        if not active:
            return
        weight = self._presence[minute] / total
        on_air = self._explaining(minute)
        if minute == 0 or self._explaining(minute - 1) != on_air:
            add(
                lo,
                "showcase.explaining",
                "staff:1",
                {
                    "show_id": spec.show_id,
                    "product_id": on_air,
                    "previous_product_id": self._explaining(minute - 1) if minute else None,
                },
            )
        self._tools(minute, lo)
        budget = self.activity_events * weight
        likes = budget * (1 - sum(MIX.values()))
        counts = {kind: _round(rng, budget * share) for kind, share in MIX.items()}
        counts["like.batched"] = _round(rng, likes)
        if minute == self.peak_minute:
            counts["order.created"] *= 3
        pick = rng.choice
        for kind, n in counts.items():
            for _ in range(n):
                t = lo + rng.random() * 60
                viewer = pick(active)
                actor = f"u:{viewer}" if viewer % 4 else f"d:{viewer}"
                product = on_air if rng.random() < 0.7 else rng.randint(1, spec.products)
                data: dict[str, Any]
                if kind == "like.batched":
                    data = {"count": rng.randint(1, 20)}
                elif kind == "comment.posted":
                    data = {"text": pick(COMMENTS), "masked": False, "offset": self.generated}
                elif kind == "share.made":
                    data = {"channel": "wechat"}
                elif kind == "follow.made":
                    data = {}
                elif kind == "poll.voted":
                    data = {"poll_id": 1 + minute // 60, "option": rng.randint(0, 2)}
                elif kind == "question.asked":
                    data = {
                        "question_id": self.generated,
                        "nickname": f"v{viewer}",
                        "text": "有优惠吗",
                        "masked": False,
                    }
                elif kind in ("product.exposed", "product.clicked"):
                    data = {
                        "show_id": spec.show_id,
                        "product_id": product,
                        "surface": "pinned" if product == on_air else "bag",
                    }
                elif kind == "cart.added":
                    data = {"show_id": spec.show_id, "product_id": product, "quantity": 1}
                elif kind == "order.created":
                    self._order(t, actor, product, minute)
                    continue
                elif kind == "lottery.entered":
                    data = {"lottery_id": 1, "via": "keyword"}
                elif kind == "red_packet.grabbed":
                    data = {
                        "packet_id": 1 + minute % 2,
                        "viewer_id": actor,
                        "nickname": f"v{viewer}",
                        "amount_cents": rng.randint(1, 200),
                    }
                else:  # coupon.claimed
                    data = {"drop_id": 1, "template_id": 1, "coupon_id": self.generated}
                add(t, kind, actor, data)

    def _order(self, t: float, buyer: str, product: int, minute: int) -> None:
        spec, rng = self.spec, self.rng
        self._order_id += 1
        flash = minute in range(self.peak_minute, self.peak_minute + 5) and product == self._explaining(
            minute
        )
        price = 3900 if flash else 1000 * (1 + product % 9)
        quantity = rng.choices((1, 2, 3), (80, 15, 5))[0]
        discount = 500 if not flash and rng.random() < 0.2 else 0
        if flash:
            self._flash_end["sold"] += quantity  # the sale ends after its last order
        order = {
            "order_id": self._order_id,
            "buyer": buyer,
            "product_id": product,
            "flash_sale_id": 1 if flash else None,
            "show_id": spec.show_id,
            "quantity": quantity,
            "unit_price_cents": price,
            "amount_cents": price * quantity - discount,
            "discount_cents": discount,
        }
        self._later(t, "order.created", buyer, order)
        roll = rng.random()
        if roll < 0.78:
            paid_at = t + rng.uniform(3, 60)
            self._later(paid_at, "order.paid", buyer, order | {"provider": "simulated"})
            if discount:
                self._later(
                    paid_at,
                    "coupon.redeemed",
                    buyer,
                    {
                        "coupon_id": self._order_id,
                        "template_id": 1,
                        "order_id": self._order_id,
                        "discount_cents": discount,
                    },
                )
            if rng.random() < 0.02:
                self._later(paid_at + 120, "order.refunded", "staff:1", order)
        elif roll < 0.9:
            self._later(t + 900, "order.expired", buyer, order)
        else:
            self._later(t + rng.uniform(5, 120), "order.cancelled", buyer, order | {"reason": "buyer"})

    def _tools(self, minute: int, lo: float) -> None:
        for t, kind, data in tool_events(
            self.spec,
            minute,
            lo,
            peak_minute=self.peak_minute,
            on_air=self._explaining(minute),
            flash_end=self._flash_end,
        ):
            self._later(t, kind, "staff:1", data)


def _round(rng: random.Random, expected: float) -> int:
    """An integer with the given expectation (floor, plus one with the fractional probability)."""
    whole = math.floor(expected)
    return whole + (1 if rng.random() < expected - whole else 0)
