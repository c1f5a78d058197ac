"""Fixtures of the alert tests: counters on memory (fake clock) or Redis, a SQL store with live shows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from liveloop.adapters.memory import MemoryCounters
from liveloop.adapters.redis import RedisCounters, make_redis
from liveloop.core.counters import Counters
from liveloop.core.db import Database, create_engine
from liveloop.core.notify import Delivery, DeliveryStatus, Message, Notifier, NotifyTarget
from liveloop.rooms import service as rooms
from liveloop.rooms.model import ShowAction
from liveloop.settings import Settings
from liveloop.shops import Principal, do_create_shop, get_principal
from tests.analytics.alert_snapshots import START
from tests.backends import REDIS_ENV, backend_url


class FakeClock:
    """Seconds on a clock that moves only when told (MemoryCounters' expiry follows it)."""

    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def shared_counters(request: pytest.FixtureRequest, fake_clock: FakeClock) -> AsyncIterator[Counters]:
    """One Counters (memory, or Redis under a fresh namespace) that several engines share."""
    if request.param == "memory":
        yield MemoryCounters(namespace=f"t{uuid.uuid4().hex[:8]}", clock=fake_clock)
        return
    client = make_redis(backend_url(REDIS_ENV))
    namespace = f"test:{uuid.uuid4().hex}"
    try:
        yield RedisCounters(client, namespace=namespace)
    finally:
        keys = [key async for key in client.scan_iter(match=f"{namespace}:*", count=500)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


class RecordingNotifier(Notifier):
    """Records every message; answers ``delivered`` (or what ``status`` says)."""

    def __init__(self, status: DeliveryStatus = DeliveryStatus.DELIVERED) -> None:
        self.sent: list[tuple[NotifyTarget, Message]] = []
        self.status = status

    async def send(
        self, target: NotifyTarget, message: Message, *, max_attempts: int | None = None
    ) -> Delivery:
        self.sent.append((target, message))
        return Delivery(self.status, attempts=1)

    async def close(self) -> None:
        pass


class FakeMetrics:
    """Snapshots set by the test, per show; counts how often each show was asked for."""

    def __init__(self) -> None:
        self.snapshots: dict[int, Mapping[str, Any]] = {}
        self.calls: dict[int, int] = {}

    async def snapshot(self, shop_id: int, show_id: int) -> Mapping[str, Any]:
        self.calls[show_id] = self.calls.get(show_id, 0) + 1
        return self.snapshots[show_id]


@dataclass(frozen=True)
class LiveShop:
    principal: Principal
    room_id: int
    show_id: int

    @property
    def shop_id(self) -> int:
        return self.principal.shop_id


async def make_live_shop(db: Database, name: str) -> LiveShop:
    created = await do_create_shop(db, name=name)
    principal = await get_principal(db, created.api_key)
    room = await rooms.do_create_room(db, principal, name=f"{name} room", description="")
    show = await rooms.do_create_show(
        db,
        principal,
        room_id=room.id,
        title=f"{name} show",
        planned_start=START,
        planned_end=START + timedelta(hours=2),
    )
    await rooms.do_transition_show(db, principal, show.id, ShowAction.START)
    return LiveShop(principal=principal, room_id=room.id, show_id=show.id)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(create_engine(settings.resolved_database_url))
    yield database
    await database.dispose()
