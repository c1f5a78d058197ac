"""Helpers of the live metrics tests: events at offsets from a show's start, windows held in memory,
a clock moved by hand, and a driver that flushes after every event like a node's timer would."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from liveloop.analytics.live import LiveMetrics
from liveloop.core.container import Container
from liveloop.core.counters import Counters
from liveloop.core.events import Event
from liveloop.rooms import ShowState, ShowWindow
from tests.conftest import ShopKeys, created, run_in_app

SHOP, ROOM, SHOW = 1, 10, 100
#: Half a minute past the minute, so minute 0 is a partial one.
T0 = datetime(2026, 12, 1, 12, 0, 30, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ev(
    kind: str,
    seconds: float,
    actor: str | None = None,
    *,
    show_id: int | None = SHOW,
    room_id: int | None = ROOM,
    **data: Any,
) -> Event:
    """An event ``seconds`` after T0 (a validated envelope, as the bus delivers)."""
    return Event(
        type=kind, at=at(seconds), shop_id=SHOP, room_id=room_id, show_id=show_id, actor=actor, data=data
    )


def enter(seconds: float, viewer: str, source: str = "recommend", **kw: Any) -> Event:
    return ev(
        "viewer.entered", seconds, viewer, viewer_id=viewer, nickname=viewer, guest=False, source=source, **kw
    )


def leave(seconds: float, viewer: str, watched: float, **kw: Any) -> Event:
    return ev("viewer.left", seconds, viewer, viewer_id=viewer, reason="closed", watch_seconds=watched, **kw)


def order(kind: str, seconds: float, buyer: str, product_id: int, amount: int, order_id: int = 1) -> Event:
    return ev(
        kind,
        seconds,
        buyer,
        order_id=order_id,
        buyer=buyer,
        product_id=product_id,
        flash_sale_id=None,
        show_id=SHOW,
        quantity=1,
        unit_price_cents=amount,
        amount_cents=amount,
    )


def window(
    *,
    show_id: int = SHOW,
    room_id: int = ROOM,
    started: float | None = 0.0,
    ended: float | None = None,
    state: ShowState | None = None,
) -> ShowWindow:
    """A show's window with its times as offsets from T0 (state from them unless given)."""
    if state is None:
        state = (
            ShowState.SCHEDULED if started is None else ShowState.LIVE if ended is None else ShowState.ENDED
        )
    return ShowWindow(
        show_id=show_id,
        shop_id=SHOP,
        room_id=room_id,
        title="t",
        state=state,
        started_at=None if started is None else at(started),
        ended_at=None if ended is None else at(ended),
    )


class FakeWindows:
    """Show windows the test sets (``put``); counts reads so caching can be checked."""

    def __init__(self, *windows: ShowWindow) -> None:
        self.by_id = {w.show_id: w for w in windows}
        self.reads = 0
        self.down = False  # reads fail, like a SQL store that does not answer

    def put(self, w: ShowWindow) -> None:
        self.by_id[w.show_id] = w

    async def shows(self, show_ids: Collection[int]) -> dict[int, ShowWindow]:
        self.reads += 1
        if self.down:
            raise ConnectionError("database down")
        return {sid: self.by_id[sid] for sid in show_ids if sid in self.by_id}

    async def latest_in_rooms(self, room_ids: Collection[int]) -> dict[int, ShowWindow]:
        self.reads += 1
        found: dict[int, ShowWindow] = {}
        for w in self.by_id.values():
            if w.room_id in room_ids and w.started_at is not None:
                best = found.get(w.room_id)
                if best is None or (best.started_at is not None and w.started_at > best.started_at):
                    found[w.room_id] = w
        return found


class Clock:
    def __init__(self, seconds: float = 0.0) -> None:
        self.now = at(seconds)

    def __call__(self) -> datetime:
        return self.now

    def set(self, seconds: float) -> None:
        self.now = at(seconds)


def node(windows: FakeWindows, counters: Counters, clock: Clock) -> LiveMetrics:
    """A LiveMetrics without its timer: the test flushes."""
    return LiveMetrics(windows=windows, counters=counters, clock=clock, window_seconds=3600)


async def play(metrics: LiveMetrics, clock: Clock, events: Sequence[Event], *, until: float) -> None:
    """Deliver ``events`` one by one at their time, flushing after each; then flush at ``until``."""
    for event in events:
        clock.now = max(clock.now, event.at)
        await metrics([event])
        await metrics.flush()
    clock.set(until)
    await metrics.flush()


def value(ratio: dict[str, Any]) -> float | None:
    v: float | None = ratio["value"]
    return v


# -- over a real app -------------------------------------------------------------------------------


def start_show(client: TestClient, shop: ShopKeys) -> dict[str, Any]:
    room = created(client.post("/api/v1/rooms", json={"name": "直播间"}, headers=shop.headers()))
    show = created(
        client.post(
            "/api/v1/shows",
            json={
                "room_id": room["id"],
                "title": "周五专场",
                "planned_start": "2026-12-01T12:00:00Z",
                "planned_end": "2026-12-01T14:00:00Z",
            },
            headers=shop.headers(),
        )
    )
    started = client.post(f"/api/v1/shows/{show['id']}/start", headers=shop.headers())
    assert started.status_code == 200, started.text
    body: dict[str, Any] = started.json()
    return body


def emit(
    client: TestClient, shop: ShopKeys, show: dict[str, Any], events: list[tuple[str, str, dict[str, Any]]]
) -> None:
    async def go(c: Container) -> None:
        for kind, actor, data in events:
            c.events.emit(
                Event(
                    type=kind,
                    shop_id=shop.shop_id,
                    room_id=show["room_id"],
                    show_id=show["id"],
                    actor=actor,
                    data=data,
                )
            )

    run_in_app(client, go)
