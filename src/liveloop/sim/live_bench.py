"""``liveloop bench live-metrics``: how fast one core folds a show's events into its live metrics.

Generates a realistic event mix for one show (entries and leaves of ``viewers`` viewers, likes,
comments, product exposures and clicks, shares, votes, follows, questions, carts, orders, payments,
refunds, coupons, explain changes), in time order over ``show_minutes``, in chunks of ``chunk``
events, and times only :meth:`ShowAggregate.apply` on them (the update path of every node), then
separately the :meth:`ShowAggregate.drain` done once per second of show time (the flush's share).
Events are built with ``Event.model_construct`` like the bus delivers them (already validated), and
chunk by chunk, so the generator's memory stays small.
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from liveloop.analytics.live_aggregate import ShowAggregate
from liveloop.core.events import Event

__all__ = ["LiveBenchResult", "bench_live_metrics", "generate", "run"]

#: Event type -> share of the mix (sums to 1).
MIX: dict[str, float] = {
    "like.batched": 0.34,
    "comment.posted": 0.15,
    "product.exposed": 0.12,
    "viewer.entered": 0.11,
    "viewer.left": 0.10,
    "product.clicked": 0.05,
    "poll.voted": 0.03,
    "share.made": 0.02,
    "follow.made": 0.01,
    "cart.added": 0.01,
    "order.created": 0.012,
    "order.paid": 0.01,
    "question.asked": 0.005,
    "coupon.redeemed": 0.003,
    "order.refunded": 0.0005,
    "showcase.explaining": 0.0005,
}
SOURCES = ("recommend", "follow", "search", "share", "campaign", "group", "ad", "other")
PRODUCTS = 40
START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class LiveBenchResult:
    """CPU seconds (this thread's, so other processes on the machine do not count) of each part."""

    events: int
    viewers: int
    apply_seconds: float
    drain_seconds: float
    drains: int
    #: CPU seconds of a bare loop reading each event's type, time, actor and data: the floor of any
    #: consumer in Python, measured on the same events to put the figure in this machine's terms.
    read_seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.apply_seconds if self.apply_seconds else float("inf")

    @property
    def with_drain_per_second(self) -> float:
        total = self.apply_seconds + self.drain_seconds
        return self.events / total if total else float("inf")

    def line(self) -> str:
        per_event = self.apply_seconds * 1e9 / max(self.events, 1)
        read = self.read_seconds * 1e9 / max(self.events, 1)
        drain_ms = self.drain_seconds * 1000 / max(self.drains, 1)
        # The drains' count depends on the speed (one per CPU second): their cost per event compares.
        drain_per_event = self.drain_seconds * 1e9 / max(self.events, 1)
        return (
            f"live-metrics: {self.events:,} events, {self.viewers:,} viewers: "
            f"apply {self.events_per_second:,.0f} events/s per core ({per_event:.0f} ns/event, "
            f"{per_event / max(read, 1e-9):.1f}x a bare read of 4 event fields at {read:.0f} ns); "
            f"{self.drains} drains (one per CPU second) of {drain_ms:.1f} ms each "
            f"({drain_per_event:.0f} ns/event): {self.with_drain_per_second:,.0f} events/s with them"
        )


class _Crowd:
    """Who is in the room: viewers enter and leave; the rest act only while present."""

    def __init__(self, rng: random.Random, viewers: int) -> None:
        self.rng = rng
        self.ids = [f"u:{i}" for i in range(viewers)]
        self.online: list[str] = []
        self.where: dict[str, int] = {}
        self.since: dict[str, datetime] = {}

    def enter(self, at: datetime) -> str | None:
        """A viewer not in the room enters (None when eight tries found everyone in)."""
        for _ in range(8):
            viewer = self.rng.choice(self.ids)
            if viewer not in self.where:
                break
        else:
            return None
        self.where[viewer] = len(self.online)
        self.online.append(viewer)
        self.since[viewer] = at
        return viewer

    def leave(self) -> str | None:
        if not self.online:
            return None
        i = self.rng.randrange(len(self.online))
        viewer, last = self.online[i], self.online[-1]
        self.online[i], self.where[last] = last, i
        self.online.pop()
        del self.where[viewer]
        return viewer

    def anyone(self) -> str:
        return self.rng.choice(self.online) if self.online else self.rng.choice(self.ids)


def generate(
    *, events: int, viewers: int, show_minutes: float = 120.0, seed: int = 7, chunk: int = 50_000
) -> Iterator[list[Event]]:
    """The event stream of one show (id 1, room 1), in time order, ``chunk`` events at a time."""
    rng = random.Random(seed)
    crowd = _Crowd(rng, viewers)
    kinds, weights = list(MIX), list(MIX.values())
    step = timedelta(minutes=show_minutes) / max(events, 1)
    likes = [{"count": n} for n in range(1, 11)]
    comment = {"text": "好看!", "masked": False, "offset": None}
    signals = {
        (pid, surface): {"show_id": 1, "product_id": pid, "surface": surface}
        for pid in range(1, PRODUCTS + 1)
        for surface in ("card", "bag", "pinned")
    }
    share, vote = {"channel": "wechat"}, {"poll_id": 1, "option": 0}
    follow: dict[str, Any] = {}
    question = {"question_id": 1, "nickname": "n", "text": "q", "masked": False}
    build = Event.model_construct
    made = 0
    while made < events:
        batch: list[Event] = []
        for kind in rng.choices(kinds, weights, k=min(chunk, events - made)):
            at = START + step * made
            made += 1
            actor: str | None = crowd.anyone()
            data: dict[str, Any]
            if kind == "like.batched":
                data = likes[rng.randrange(10)]
            elif kind == "comment.posted":
                data = comment
            elif kind in ("product.exposed", "product.clicked"):
                data = signals[(rng.randint(1, PRODUCTS), rng.choice(("card", "bag", "pinned")))]
            elif kind == "viewer.entered":
                actor = crowd.enter(at)
                if actor is None:
                    continue
                data = {"viewer_id": actor, "nickname": "n", "guest": False, "source": rng.choice(SOURCES)}
            elif kind == "viewer.left":
                actor = crowd.leave()
                if actor is None:
                    continue
                seconds = (at - crowd.since.pop(actor, START)).total_seconds()
                data = {"viewer_id": actor, "reason": "closed", "watch_seconds": round(seconds, 3)}
            else:
                data = _rare(kind, rng, actor or "u:0", share=share, follow=follow, vote=vote, q=question)
            batch.append(
                build(type=kind, v=1, id="", at=at, shop_id=1, room_id=1, show_id=1, actor=actor, data=data)
            )
        yield batch


def _rare(kind: str, rng: random.Random, actor: str, **shared: dict[str, Any]) -> dict[str, Any]:
    pid = rng.randint(1, PRODUCTS)
    if kind in ("order.created", "order.paid", "order.refunded"):
        quantity = rng.randint(1, 3)
        return {
            "order_id": rng.randrange(1, 2**40),
            "buyer": actor,
            "product_id": pid,
            "flash_sale_id": None,
            "show_id": 1,
            "quantity": quantity,
            "unit_price_cents": 9900,
            "amount_cents": 9900 * quantity,
        }
    if kind == "cart.added":
        return {"show_id": 1, "product_id": pid, "quantity": 1}
    if kind == "coupon.redeemed":
        return {"coupon_id": 1, "template_id": 1, "order_id": 1, "discount_cents": 500}
    if kind == "showcase.explaining":
        return {"show_id": 1, "product_id": pid, "previous_product_id": None}
    return {"share.made": shared["share"], "follow.made": shared["follow"], "poll.voted": shared["vote"]}.get(
        kind, shared["q"]
    )


def _read(events: list[Event]) -> None:
    for e in events:
        e.type, e.at, e.actor, e.data  # noqa: B018 - the reads are the point


def run(
    *,
    events: int = 2_000_000,
    viewers: int = 200_000,
    show_minutes: float = 120.0,
    seed: int = 7,
    batch: int = 10_000,
    log: Callable[[str], None] | None = print,
) -> LiveBenchResult:
    """Generate the mix, time the update path in bus-sized batches with a drain per CPU second,
    print (through ``log``) and return the figures."""
    aggregate = ShowAggregate(1, started_at=START)
    clock = time.thread_time
    apply_seconds = drain_seconds = read_seconds = 0.0
    drains = applied = 0
    for chunk in generate(events=events, viewers=viewers, show_minutes=show_minutes, seed=seed):
        gc.collect()  # the generator's garbage is not the update path's
        for begin in range(0, len(chunk), batch):
            part = chunk[begin : begin + batch]
            started = clock()
            aggregate.apply(part)
            apply_seconds += clock() - started
            applied += len(part)
            started = clock()
            _read(part)
            read_seconds += clock() - started
            if apply_seconds + drain_seconds >= drains + 1:  # the node flushes once a second
                started = clock()
                aggregate.drain(part[-1].at)
                drain_seconds += clock() - started
                drains += 1
    started = clock()
    aggregate.drain(START + timedelta(minutes=show_minutes), final=True)
    drain_seconds += clock() - started
    result = LiveBenchResult(applied, viewers, apply_seconds, drain_seconds, drains + 1, read_seconds)
    if log is not None:
        log(result.line())
    return result


def bench_live_metrics(
    events: Annotated[int, typer.Option(min=1, help="Events in the generated show.")] = 2_000_000,
    viewers: Annotated[int, typer.Option(min=1, help="Distinct viewers in the show.")] = 200_000,
    show_minutes: Annotated[float, typer.Option(min=1, help="Length of the show the events span.")] = 120.0,
    seed: Annotated[int, typer.Option(help="Random seed of the generator.")] = 7,
) -> None:
    """The live metrics' update path on one core: events per second folded into a show's aggregate."""
    run(events=events, viewers=viewers, show_minutes=show_minutes, seed=seed, log=typer.echo)
