"""The shop's 30-day median CTR of explained products, queried from DuckDB and PostgreSQL event stores."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from liveloop.adapters.duckdb import DuckDBEventStore
from liveloop.adapters.sql import PostgresEventStore
from liveloop.analytics.alert_baseline import EventStoreCtrBaseline
from liveloop.analytics.alert_model import CtrBaseline
from liveloop.core.db import create_engine
from liveloop.core.events import Event
from liveloop.core.eventstore import EventStore

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 12, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    if request.param == "duckdb":
        duck = DuckDBEventStore(tmp_path / "events.duckdb")
        await duck.open()
        yield duck
        await duck.close()
        return
    url: str = request.getfixturevalue("postgres_url")
    schema = f"events_test_{uuid.uuid4().hex[:12]}"
    pg = PostgresEventStore(url, schema=schema)
    await pg.open()
    try:
        yield pg
    finally:
        await pg.close()
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        await engine.dispose()


class Events:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(
        self, kind: str, *, shop: int, show: int, product: int | None, actor: str, days_ago: float
    ) -> None:
        data: dict[str, Any] = {"show_id": show, "product_id": product}
        if kind != "showcase.explaining":
            data["surface"] = "card"
        self.events.append(
            Event(
                type=kind,
                shop_id=shop,
                room_id=1,
                show_id=show,
                actor=actor,
                at=NOW - timedelta(days=days_ago),
                data=data,
            )
        )

    def funnel(
        self, *, shop: int, show: int, product: int, exposed: int, clicked: int, days_ago: float
    ) -> None:
        for i in range(exposed):
            self.add(
                "product.exposed", shop=shop, show=show, product=product, actor=f"u:{i}", days_ago=days_ago
            )
            # A viewer exposed twice (card, then bag) is one exposure UV.
            self.add(
                "product.exposed", shop=shop, show=show, product=product, actor=f"u:{i}", days_ago=days_ago
            )
        for i in range(clicked):
            self.add(
                "product.clicked", shop=shop, show=show, product=product, actor=f"u:{i}", days_ago=days_ago
            )

    def explained(self, *, shop: int, show: int, product: int, days_ago: float) -> None:
        self.add(
            "showcase.explaining", shop=shop, show=show, product=product, actor="staff:1", days_ago=days_ago
        )


async def test_median_ctr_of_the_shops_explained_products_over_30_days(store: EventStore) -> None:
    e = Events()
    # Show 10, 5 days ago: products 1 (CTR 10/40 = 25%) and 2 (5/50 = 10%) explained; 3 never explained.
    e.explained(shop=1, show=10, product=1, days_ago=5)
    e.explained(shop=1, show=10, product=2, days_ago=5)
    e.funnel(shop=1, show=10, product=1, exposed=40, clicked=10, days_ago=5)
    e.funnel(shop=1, show=10, product=2, exposed=50, clicked=5, days_ago=5)
    e.funnel(shop=1, show=10, product=3, exposed=10, clicked=9, days_ago=5)
    # Show 11, 20 days ago: product 1 explained, CTR 4/20 = 20%.
    e.explained(shop=1, show=11, product=1, days_ago=20)
    e.funnel(shop=1, show=11, product=1, exposed=20, clicked=4, days_ago=20)
    # Left out: a show older than 30 days, the current show (12), another shop.
    e.explained(shop=1, show=9, product=1, days_ago=31)
    e.funnel(shop=1, show=9, product=1, exposed=10, clicked=10, days_ago=31)
    e.explained(shop=1, show=12, product=1, days_ago=0.01)
    e.funnel(shop=1, show=12, product=1, exposed=10, clicked=0, days_ago=0.01)
    e.explained(shop=2, show=20, product=5, days_ago=1)
    e.funnel(shop=2, show=20, product=5, exposed=10, clicked=10, days_ago=1)
    await store.append(e.events)

    source = EventStoreCtrBaseline(store)
    # Median of 25%, 10%, 20% = 20%.
    assert await source.baseline(1, 12, now=NOW, days=30) == CtrBaseline(0.2, "shop_30d", 3)
    # For show 11: show 10's two products and show 12's (0/10): median of 25%, 10%, 0%.
    assert await source.baseline(1, 11, now=NOW, days=30) == CtrBaseline(0.1, "shop_30d", 3)
    assert await source.baseline(3, 30, now=NOW, days=30) is None  # no history: the show's own is used


async def test_the_baseline_is_cached_per_show_and_survives_a_failing_store(tmp_path: Path) -> None:
    class Flaky(DuckDBEventStore):
        fail = False
        calls = 0

        async def query(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
            type(self).calls += 1
            if self.fail:
                raise RuntimeError("store down")
            return await super().query(sql, params)

    duck = Flaky(tmp_path / "events.duckdb")
    await duck.open()
    e = Events()
    e.explained(shop=1, show=10, product=1, days_ago=1)
    e.funnel(shop=1, show=10, product=1, exposed=10, clicked=5, days_ago=1)
    await duck.append(e.events)
    now = [0.0]
    source = EventStoreCtrBaseline(duck, refresh_seconds=60, clock=lambda: now[0])
    try:
        assert await source.baseline(1, 12, now=NOW, days=30) == CtrBaseline(0.5, "shop_30d", 1)
        assert await source.baseline(1, 12, now=NOW, days=30) == CtrBaseline(0.5, "shop_30d", 1)
        assert Flaky.calls == 1
        Flaky.fail = True
        now[0] = 61
        assert await source.baseline(1, 12, now=NOW, days=30) == CtrBaseline(0.5, "shop_30d", 1)  # last good
        assert Flaky.calls == 2
    finally:
        await duck.close()
