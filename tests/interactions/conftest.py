"""Fixtures of the interactions tests: fake clocks and a harness that runs use cases on the app's
loop with its database."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import pytest
from starlette.testclient import TestClient

from liveloop.adapters.memory import MemoryCounters
from liveloop.interactions import InteractionsContext, ModerationCache
from liveloop.shops import Principal, Role
from tests.conftest import ShopKeys, run_in_app
from tests.rooms.test_api import make_room

T = TypeVar("T")


class Clock:
    """A clock that only moves when told to."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Harness:
    """Use cases run on the app's loop and database, with counters and caches on fake clocks."""

    client: TestClient
    clock: Clock  # monotonic: counters (rate limits) and cache refresh
    wall: Clock  # seconds since the epoch: mute expiry
    counters: MemoryCounters

    def context(self, *, refresh_seconds: float = 1.0) -> InteractionsContext:
        """A new "node": its own cache, sharing the database and the counters."""
        container = self.client.app.state.container  # type: ignore[attr-defined]
        cache = ModerationCache(refresh_seconds=refresh_seconds, clock=self.clock)
        return InteractionsContext(db=container.db, counters=self.counters, cache=cache, wall_clock=self.wall)

    def run(self, fn: Callable[[], Awaitable[T]]) -> T:
        return run_in_app(self.client, lambda _container: fn())

    def principal(self, shop: ShopKeys, role: Role = Role.OWNER) -> Principal:
        me = self.client.get("/api/v1/me", headers=shop.headers(role)).json()
        return Principal(shop_id=shop.shop_id, staff_id=me["staff"]["id"], role=role, api_key_id=0)


@pytest.fixture
def harness(client: TestClient) -> Harness:
    clock = Clock(1_000.0)
    return Harness(client=client, clock=clock, wall=Clock(time.time()), counters=MemoryCounters(clock=clock))


@pytest.fixture
def api(client: TestClient) -> TestClient:
    """The app; it mounts every interactions router itself."""
    return client


@pytest.fixture
def room_id(client: TestClient, shop: ShopKeys) -> int:
    room: int = make_room(client, shop)["id"]
    return room


@pytest.fixture
def owner(harness: Harness, shop: ShopKeys) -> Principal:
    return harness.principal(shop)
