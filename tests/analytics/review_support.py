"""Shared by the review tests: an event store on DuckDB (a temporary file) or PostgreSQL (a schema per
test), and a compact way to write a show's events by hand."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from liveloop.adapters.duckdb import DuckDBEventStore
from liveloop.adapters.sql import PostgresEventStore
from liveloop.core.db import create_engine
from liveloop.core.events import Event
from liveloop.core.eventstore import EventStore

STORES = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """("duckdb", file) or ("postgres", URL) for a fixture parametrized with :data:`STORES`."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        return "postgres", url
    return "duckdb", str(tmp_path / "events.duckdb")


@asynccontextmanager
async def open_store(kind: str, where: str) -> AsyncIterator[EventStore]:
    if kind == "duckdb":
        duck = DuckDBEventStore(Path(where))
        await duck.open()
        try:
            yield duck
        finally:
            await duck.close()
        return
    schema = f"review_test_{uuid.uuid4().hex[:12]}"
    pg = PostgresEventStore(where, schema=schema)
    await pg.open()
    try:
        yield pg
    finally:
        await pg.close()
        engine = create_engine(where)
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        await engine.dispose()


class Script:
    """Events of one show written as (seconds after ``t0``, type, actor, payload)."""

    def __init__(self, t0: datetime, *, shop_id: int = 1, room_id: int = 2, show_id: int = 3) -> None:
        self.t0, self.shop_id, self.room_id, self.show_id = t0, shop_id, room_id, show_id
        self.events: list[Event] = []

    def at(self, seconds: float, kind: str, actor: str | None = None, /, **data: Any) -> None:
        self.events.append(
            Event(
                id=f"s{self.show_id}-{len(self.events):05d}",
                type=kind,
                at=self.t0 + timedelta(seconds=seconds),
                shop_id=self.shop_id,
                room_id=self.room_id,
                show_id=self.show_id,
                actor=actor,
                data=data,
            )
        )

    def enter(self, seconds: float, viewer: str, source: str = "other") -> None:
        self.at(
            seconds, "viewer.entered", viewer, viewer_id=viewer, nickname=viewer, guest=False, source=source
        )

    def leave(self, seconds: float, viewer: str, watched: float) -> None:
        self.at(seconds, "viewer.left", viewer, viewer_id=viewer, reason="closed", watch_seconds=watched)

    def order(
        self, seconds: float, kind: str, buyer: str, order_id: int, product_id: int, amount: int, **extra: Any
    ) -> None:
        actor = "staff:1" if kind == "order.refunded" else buyer
        self.at(
            seconds,
            kind,
            actor,
            order_id=order_id,
            buyer=buyer,
            product_id=product_id,
            flash_sale_id=extra.pop("flash_sale_id", None),
            show_id=self.show_id,
            quantity=extra.pop("quantity", 1),
            unit_price_cents=extra.pop("unit_price_cents", amount),
            amount_cents=amount,
            discount_cents=extra.pop("discount_cents", 0),
            **extra,
        )
