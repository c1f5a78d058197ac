"""Fixtures of the commerce tests: the app with commerce wired into its lifespan, buyers, sales, events."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from liveloop.commerce import (
    CommerceContext,
    OrderPolicy,
    Payments,
    SimulatedPayments,
    commerce_runtime,
    make_commerce,
)
from liveloop.core.container import Container
from liveloop.core.counters import Counters
from liveloop.core.events import Event
from liveloop.settings import Settings
from liveloop.web.app import create_app
from tests.conftest import ShopKeys, created, run_in_app

#: Nobody pays unless a test says so, and no sweeper runs behind the tests' backs.
TEST_POLICY = OrderPolicy(simulated_payment_delay_seconds=None, sweep_interval_seconds=None)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app, with ``commerce_runtime`` in its lifespan as the lead wires it (test policy)."""
    app = create_app(settings)
    with TestClient(app) as test_client:
        assert test_client.portal is not None
        runtime = commerce_runtime(app.state.container, policy=TEST_POLICY)
        with test_client.portal.wrap_async_context_manager(runtime) as commerce:
            app.state.commerce = commerce
            yield test_client


def commerce_over(container: Container, counters: Counters) -> CommerceContext:
    """A commerce context on the app's database and bus over ``counters``; payments never confirm."""
    return CommerceContext(
        db=container.db,
        counters=counters,
        events=container.events,
        payments=SimulatedPayments(delay_seconds=None),
        policy=TEST_POLICY,
    )


def commerce_of(client: TestClient) -> CommerceContext:
    ctx: CommerceContext = client.app.state.commerce  # type: ignore[attr-defined]
    return ctx


@contextmanager
def payments_of(client: TestClient, payments: Payments) -> Iterator[CommerceContext]:
    """Run the app's orders through ``payments`` for a while (a context made as the lifespan makes one)."""
    app: Any = client.app
    before = app.state.commerce
    app.state.commerce = make_commerce(container_of(client), policy=TEST_POLICY, payments=payments)
    try:
        yield app.state.commerce
    finally:
        app.state.commerce = before
        run_in_app(client, lambda _c: payments.close())


def container_of(client: TestClient) -> Container:
    container: Container = client.app.state.container  # type: ignore[attr-defined]
    return container


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def viewer_token(client: TestClient, shop: ShopKeys, user_id: str) -> str:
    issued = client.post("/api/v1/viewer-tokens", json={"user_id": user_id}, headers=shop.headers())
    return str(created(issued)["token"])


def make_product(client: TestClient, shop: ShopKeys, **fields: Any) -> dict[str, Any]:
    body = {"sku": uuid.uuid4().hex[:12], "title": "丝绒口红", "price_cents": 8900, "stock": 100} | fields
    return created(client.post("/api/v1/products", json=body, headers=shop.headers()))


def make_sale(client: TestClient, shop: ShopKeys, **fields: Any) -> dict[str, Any]:
    if "product_id" not in fields:
        fields["product_id"] = make_product(client, shop)["id"]
    body = {"price_cents": 1990, "stock": 10, "per_user_limit": 1, "duration_seconds": 3600} | fields
    return created(client.post("/api/v1/flash-sales", json=body, headers=shop.headers()))


def buy(client: TestClient, token: str, key: str | None = None, **fields: Any) -> Any:
    body = {"idempotency_key": key or uuid.uuid4().hex} | fields
    return client.post("/api/v1/buyer/orders", json=body, headers=bearer(token))


def error_code(response: Any) -> str:
    code: str = response.json()["error"]["code"]
    return code


@dataclass
class EventLog:
    """Every event the app's bus delivered since the fixture started."""

    client: TestClient
    events: list[Event]

    def of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.type == kind]

    def wait(self, until: Callable[[Sequence[Event]], bool], timeout: float = 5.0) -> list[Event]:
        deadline = time.monotonic() + timeout
        while not until(self.events):
            assert time.monotonic() < deadline, f"events so far: {[e.type for e in self.events]}"
            run_in_app(self.client, lambda _c: asyncio.sleep(0.01))
        return self.events


@pytest.fixture
def event_log(client: TestClient) -> EventLog:
    seen: list[Event] = []

    async def consume(batch: Sequence[Event]) -> None:
        seen.extend(batch)

    container_of(client).events.subscribe(consume)
    return EventLog(client, seen)
